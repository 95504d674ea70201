"""Hypothetical records for what-ifs, checked exactly as ingestion checks a filed row.

On the command line a hypothetical record is written ``kind=speeding,occurred=2026-05-01,
value=20`` (:func:`parse_hypothetical` reads only that syntax). Whatever it came from, a
hypothetical record goes through :func:`check_hypotheticals`, which runs ingestion's own
column checks (:mod:`opencredit.ledger.ingest`: kinds and refused kinds, dates, values in
the kind's unit and range, vetted purchase categories) over the records as if they were rows
of a file, so a what-if accepts nothing a data provider could not file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import pyarrow as pa

from opencredit.catalog import Domain
from opencredit.clock import today as clock_today
from opencredit.errors import OpenCreditError
from opencredit.ledger.files import COLUMNS, RawRows
from opencredit.ledger.ingest import _Validator
from opencredit.ledger.records import Record

#: The fields a hypothetical record may give.
FIELDS = ("kind", "occurred", "value", "category")
#: What a checked row is called in errors: the n-th ``--add``.
LINE_WORD = "--add"


class HypotheticalError(OpenCreditError, ValueError):
    """A hypothetical record that ingestion would refuse, or a malformed ``key=value`` list."""


def parse_hypothetical(text: str) -> dict[str, str]:
    """The ``key=value`` pairs of ``text`` (keys from :data:`FIELDS`), not yet checked."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in FIELDS:
            raise HypotheticalError(
                f"hypothetical record {text!r}: expected key=value pairs with keys "
                f"{', '.join(FIELDS)}; got {part!r}"
            )
        if key in pairs:
            raise HypotheticalError(f"hypothetical record {text!r}: {key} is given twice")
        pairs[key] = value.strip()
    if not pairs.get("kind"):
        raise HypotheticalError(f"hypothetical record {text!r}: kind=... is required")
    return pairs


def _text(value: object) -> str | None:
    """A field as a file would hold it: text, dates as YYYY-MM-DD, floats exactly."""
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class _NoLedger:
    """What ingestion's checks ask the store, answered for records that are never filed:
    the person was checked by the caller, and hypothetical refs are used by no one."""

    def unknown_persons(self, ids: Iterable[str]) -> set[str]:
        return set()

    def existing_refs(self, org: str, refs: Iterable[str]) -> dict[str, Record]:
        return {}


def check_hypotheticals(
    rows: Sequence[Record | Mapping[str, object]],
    person: str,
    as_of: dt.date,
    *,
    today: dt.date | None = None,
) -> list[Record]:
    """Hypothetical records for ``person``, checked as ingestion checks a filed row.

    ``rows`` are records or mappings of :data:`FIELDS` (text, as parsed from the command
    line, or typed). A missing ``occurred`` is the as-of date. Dates may run up to the later
    of today and ``as_of`` (a what-if may look ahead). Raises :class:`HypotheticalError`
    naming every bad field of every record.
    """
    fields = [
        {name: getattr(r, name) for name in FIELDS} if isinstance(r, Record) else dict(r)
        for r in rows
    ]
    if not fields:
        return []
    unknown = sorted({k for f in fields for k in f if k not in FIELDS})
    if unknown:
        raise HypotheticalError(
            f"hypothetical record: unknown field {unknown[0]!r}; expected {', '.join(FIELDS)}"
        )
    n = len(fields)
    columns: dict[str, list[str | None]] = {name: [None] * n for name in COLUMNS}
    for i, f in enumerate(fields):
        columns["person"][i] = person
        columns["ref"][i] = f"what-if-{i + 1}"
        columns["occurred"][i] = _text(f.get("occurred") or as_of)
        for name in ("kind", "value", "category"):
            text = _text(f.get(name))
            columns[name][i] = text if text else None
    raw = RawRows(
        source="what-if",
        table=pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()}),
        lines=list(range(1, n + 1)),
        errors=[],
        line_word=LINE_WORD,
    )
    latest = max(today or clock_today(), as_of)
    checked = _Validator(_NoLedger(), raw, "", tuple(d.value for d in Domain), latest).run()  # type: ignore[arg-type]
    if checked.errors:
        raise HypotheticalError(
            "; ".join(
                f"{LINE_WORD} {e.line}: {e.field}"
                + (f" {e.value!r}" if e.value is not None else "")
                + f": {e.reason}"
                for e in sorted(checked.errors, key=lambda e: (e.line, e.field))
            )
        )
    table = checked.table.to_pylist()
    return [
        Record(
            0,
            row["person"],
            row["kind"],
            row["occurred"],
            row["value"],
            row["category"],
            "",
            f"what-if-{i + 1}",
        )
        for i, row in enumerate(table)
    ]
