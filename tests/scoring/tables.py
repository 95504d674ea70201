"""Ledger, persons and disputes as the engines read them (Arrow), and how scores compare."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pyarrow as pa

from opencredit.ledger.records import Dispute, Record
from opencredit.ledger.store import PERSON_SCHEMA, RECORD_SCHEMA
from opencredit.registry import parse_resident_id
from opencredit.scoring.batch import DISPUTE_SCHEMA


def ledger_table(records: Sequence[Record]) -> pa.Table:
    """Records as the store exports them (RECORD_SCHEMA)."""
    cols = {name: [getattr(r, name) for r in records] for name in RECORD_SCHEMA.names}
    cols["action"] = [str(a) for a in cols["action"]]
    return pa.table(cols, schema=RECORD_SCHEMA)


def persons_table(persons: Sequence[str]) -> pa.Table:
    """Registry rows (PERSON_SCHEMA) for resident IDs, attributes read from the IDs."""
    ids = [parse_resident_id(p) for p in persons]
    return pa.table(
        {
            "id": [i.value for i in ids],
            "region": [i.region for i in ids],
            "birth_date": [i.birth_date for i in ids],
            "sex": [i.sex for i in ids],
        },
        schema=PERSON_SCHEMA,
    )


def disputes_table(disputes: Mapping[int, Sequence[Dispute]] | None) -> pa.Table:
    """Disputes by record as the batch engine reads them (DISPUTE_SCHEMA)."""
    ds = [d for group in (disputes or {}).values() for d in group]
    return pa.table(
        {
            "seq": [d.seq for d in ds],
            "opened": [d.opened for d in ds],
            "resolved": [d.resolved for d in ds],
        },
        schema=DISPUTE_SCHEMA,
    )


def close(a: float, b: float) -> bool:
    """Unrounded scores agree: within 1e-6 relative, or 1e-9 absolute near zero."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def near_half(raw: float) -> bool:
    """True if ``raw`` is within 1e-6 of a .5 boundary, where engines may round apart."""
    return abs(abs(raw) - math.floor(abs(raw)) - 0.5) <= 1e-6
