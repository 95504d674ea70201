"""Hypothetical records for what-ifs, written as ``kind=speeding,occurred=2026-05-01,value=20``."""

from __future__ import annotations

import datetime as dt

from opencredit.catalog import check_category, get_kind
from opencredit.clock import today
from opencredit.errors import OpenCreditError
from opencredit.ledger.records import Record

FIELDS = ("kind", "occurred", "value", "category")


def parse_hypothetical(text: str) -> Record:
    """A hypothetical record from ``key=value`` pairs; ``occurred`` defaults to today."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in FIELDS:
            raise OpenCreditError(
                f"hypothetical record {text!r}: expected key=value pairs with "
                f"keys {', '.join(FIELDS)}; got {part!r}"
            )
        pairs[key.strip()] = value.strip()
    if "kind" not in pairs:
        raise OpenCreditError(f"hypothetical record {text!r}: kind=... is required")
    kind = get_kind(pairs["kind"])
    try:
        occurred = dt.date.fromisoformat(pairs["occurred"]) if "occurred" in pairs else today()
        value = float(pairs["value"]) if "value" in pairs else None
    except ValueError as exc:
        raise OpenCreditError(f"hypothetical record {text!r}: {exc}") from exc
    if kind.unit is not None and value is None:
        raise OpenCreditError(
            f"hypothetical record {text!r}: kind {kind.id} needs value=... in {kind.unit}"
        )
    category = check_category(pairs["category"]) if "category" in pairs else None
    if kind.needs_category and category is None:
        raise OpenCreditError(f"hypothetical record {text!r}: purchases need category=...")
    return Record(0, "", kind.id, occurred, value, category, "hypothetical", "what-if")
