"""A small filed ledger for the export, Spark and import tests: a synthetic nation filed
through ingestion, then amendments, retractions and disputes (one overdue and unresolved, one
resolved, one still within its deadline), so every rule of docs/scoring.md is exercised."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq

from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.catalog import KINDS_BY_ID
from opencredit.ledger.store import Store
from opencredit.scoring.reference import ScoreResult, score_person
from opencredit.synth import generate_nation
from opencredit.workspace import Workspace

AS_OF = dt.date(2026, 6, 1)


def build_world(data: Path, persons: int = 150, database_url: str | None = None) -> Workspace:
    """A workspace at ``data`` (its store at ``database_url``, else SQLite in ``data``) with
    ``persons`` synthetic persons, their records, corrections and disputes; the caller closes
    it."""
    nation = generate_nation(data.parent / "nation", persons, seed=7, as_of=AS_OF, quiet=True)
    ws = Workspace.init(data, database_url=database_url or str(data / "ledger.sqlite"))
    ws.register_persons(nation.persons)
    for row in pq.read_table(nation.providers).to_pylist():
        ws.register_provider(row["code"], row["name"], row["domains"])
    for code, path in nation.records.items():
        assert not ws.ingest(path, code).rejected_whole
    correct(ws)
    dispute(ws.store)
    return ws


def correct(ws: Workspace) -> None:
    """Amend every 7th record with a value (to half the value, where its kind allows) and
    retract every 11th."""
    records = [r for b in ws.store.export_records() for r in b.to_pylist()]
    by_org: dict[str, list[RecordIn]] = {}
    for i, r in enumerate(records):
        if i % 11 == 5:
            by_org.setdefault(r["org"], []).append(
                RecordIn(ref=f"fix-{r['seq']}", action="retract", target_ref=r["ref"])
            )
        elif i % 7 == 3 and r["value"] is not None:
            low = KINDS_BY_ID[r["kind"]].min_value
            half = r["value"] / 2 if low is None or r["value"] / 2 >= low else r["value"]
            fields = {k: r[k] for k in ("person", "kind", "occurred", "category")}
            by_org.setdefault(r["org"], []).append(
                RecordIn(
                    **fields,
                    value=half,
                    ref=f"fix-{r['seq']}",
                    action="amend",
                    target_ref=r["ref"],
                )
            )
    for org, fixes in by_org.items():
        report = ws.ingest_rows(rows_from_records(fixes, "corrections"), org)
        assert report.receipt is not None, report.errors


def dispute(store: Store) -> None:
    """Disputes of three uncorrected missed payments (which every published policy scores):
    overdue and open (the record stops counting), resolved, and within its deadline."""
    records = [r for b in store.export_records() for r in b.to_pylist()]
    corrected = {r["target"] for r in records if r["target"] is not None}
    seqs = [
        r["seq"]
        for r in records
        if r["kind"] == "payment_missed"
        and r["action"] == "file"
        and r["seq"] not in corrected
        and r["occurred"] > AS_OF - dt.timedelta(days=365)
    ]
    store.add_dispute(seqs[0], AS_OF - dt.timedelta(days=45), "not mine")
    done = store.add_dispute(seqs[1], AS_OF - dt.timedelta(days=90), "wrong amount")
    store.resolve_dispute(done, AS_OF - dt.timedelta(days=50), "verified")
    store.add_dispute(seqs[2], AS_OF - dt.timedelta(days=10), "not mine")


def oracle(
    ws: Workspace,
    policy_key: str,
    as_of: dt.date = AS_OF,
    *,
    up_to: int | None = None,
    disputes: bool = True,
) -> dict[str, ScoreResult]:
    """The reference scores of every registered person (from the ledger up to ``up_to``;
    without the disputes if not ``disputes``)."""
    policy = ws.policy(policy_key)
    out = {}
    for pid in ws.store.export_persons().column("id").to_pylist():
        out[pid] = score_person(
            policy,
            pid,
            ws.store.records_for(pid),
            as_of,
            ws.disputes_by_seq(pid) if disputes else None,
            up_to=up_to,
        )
    return out
