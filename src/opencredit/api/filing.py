"""Records from HTTP bodies into the same validation and ledger path as files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyarrow as pa

from opencredit.access import DisputeView
from opencredit.api.schemas import (
    DisputeEventOut,
    DisputeOut,
    Receipt,
    RecordFields,
    RecordIn,
    RowErrorOut,
)
from opencredit.ledger.files import COLUMNS, RawRows
from opencredit.ledger.ingest import IngestReport


def rows_from_records(records: Sequence[RecordIn | RecordFields], source: str) -> RawRows:
    """JSON records as the rows a file would give; record ``i`` is 'record i' (from 1).

    Column by column, dates and values kept as Pydantic parsed them (date32, float64), as a
    Parquet file's typed columns are: validation then has no text to parse again.
    """
    fields = [r if isinstance(r, dict) else r.model_dump() for r in records]
    columns = {
        "person": pa.array([r.get("person") for r in fields], pa.string()),
        "kind": pa.array([r.get("kind") for r in fields], pa.string()),
        "occurred": pa.array([r.get("occurred") for r in fields], pa.date32()),
        "value": pa.array([r.get("value") for r in fields], pa.float64()),
        "category": pa.array([r.get("category") for r in fields], pa.string()),
        "ref": pa.array([r["ref"] for r in fields], pa.string()),
        "action": pa.array([r.get("action", "file") for r in fields], pa.string()),
        "target_ref": pa.array([r.get("target_ref") for r in fields], pa.string()),
    }
    table = pa.table({name: columns[name] for name in COLUMNS})
    return RawRows(source, table, list(range(1, len(records) + 1)), [], "record")


def dispute_out(view: DisputeView, today: dt.date) -> DisputeOut:
    """A dispute as the API shows it, with its deadline and today's status."""
    return DisputeOut(
        id=view.id,
        seq=view.seq,
        person=view.person,
        org=view.org,
        reason=view.reason,
        opened=view.opened,
        deadline=view.deadline,
        status=view.status(today),  # type: ignore[arg-type]
        decision=view.decision,
        decided_on=view.decided_on,
        correction_seq=view.correction_seq,
        history=[DisputeEventOut.model_validate(e, from_attributes=True) for e in view.history],
    )


def errors_out(report: IngestReport) -> list[RowErrorOut]:
    """A report's row errors for an HTTP body."""
    return [
        RowErrorOut(index=e.line, field=e.field, reason=e.reason, value=e.value)
        for e in report.errors
    ]


def receipt_out(report: IngestReport) -> Receipt:
    """The receipt of an accepted filing."""
    r = report.receipt
    assert r is not None
    return Receipt(
        batch=r.batch,
        accepted=r.accepted,
        duplicates=r.duplicates,
        rejected=report.bad_rows,
        first_seq=r.first_seq,
        last_seq=r.last_seq,
        errors=errors_out(report),
    )
