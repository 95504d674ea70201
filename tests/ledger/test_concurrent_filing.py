"""Batches filed at once by several writers (server workers, threads): a ref that a concurrent
batch filed after this batch was checked makes the append fail whole, and the batch is checked
again, so the outcome is the one of filing them one after the other: a record is never written
twice, the same record counts as a duplicate, a different one is a row error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.errors import ConcurrentFiling
from opencredit.ledger.ingest import ingest_rows
from opencredit.ledger.postgres_store import PostgresStore
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import Organisation, Store
from opencredit.registry import make_org_code, make_resident_id

PEOPLE = [make_resident_id("110101", dt.date(1990, 1, 1) + dt.timedelta(days=n), n) for n in (1, 2)]
BANK = make_org_code("110000", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens another store (its own connections) on one ledger, registered and licensed."""
    if request.param == "sqlite":

        def opener() -> Store:
            return SQLiteStore(tmp_path / "ledger.sqlite")
    else:
        url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")

        def opener() -> Store:
            return PostgresStore(url, schema=schema)

    opened: list[Store] = []

    def tracked() -> Store:
        opened.append(opener())
        return opened[-1]

    first = tracked()
    first.add_persons(
        pa.table(
            {
                "id": PEOPLE,  # the registry keeps the attributes the ID encodes
            },
        )
    )
    first.add_organisation(Organisation(BANK, "Bank", ("finance",)))
    yield tracked
    for store in opened:
        store.close()


def batch(*refs: str, days: int = 1) -> object:
    """A batch of repayments by PEOPLE[0], one per ref, on 2025-01-01 + ``days``."""
    occurred = str(dt.date(2025, 1, 1) + dt.timedelta(days=days))
    records = [
        RecordIn(person=PEOPLE[0], kind="loan_repaid", occurred=occurred, ref=r) for r in refs
    ]
    return rows_from_records(records, "test")


def refs_in(store: Store) -> list[str]:
    """Every ref in the ledger, sorted, with repeats."""
    return sorted(r.ref for r in store.records_for(PEOPLE[0]))


def race_first(
    monkeypatch: pytest.MonkeyPatch, store: Store, other: Store, rows: object, times: int = 1
) -> list[int]:
    """Make ``other`` file ``rows`` (committed) just before each of ``store``'s next ``times``
    appends, as a concurrent writer would between the checks and the append."""
    append, calls = store.append, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            report = ingest_rows(other, rows, BANK)
            assert report.receipt is not None, report.errors
        return append(*args, **kwargs)

    monkeypatch.setattr(store, "append", racing)
    return calls


def test_the_same_record_filed_meanwhile_counts_as_a_duplicate(open_store, monkeypatch):
    store, other = open_store(), open_store()
    calls = race_first(monkeypatch, store, other, batch("b"))
    report = ingest_rows(store, batch("a", "b", "c"), BANK)
    assert len(calls) == 2  # the first append met "b" and wrote nothing; the second went in
    assert (report.accepted, report.duplicates, report.errors) == (2, 1, [])
    assert refs_in(store) == ["a", "b", "c"]  # each once


def test_a_different_record_filed_meanwhile_is_a_row_error(open_store, monkeypatch):
    store, other = open_store(), open_store()
    race_first(monkeypatch, store, other, batch("b", days=9))
    report = ingest_rows(store, batch("a", "b", "c"), BANK)
    assert report.rejected_whole and report.bad_rows == 1
    assert report.errors[0].field == "ref" and "different content" in report.errors[0].reason
    assert refs_in(store) == ["b"]  # only the other batch's record; nothing of this one


def test_a_batch_that_keeps_losing_the_race_is_refused_whole(open_store, monkeypatch):
    store, other = open_store(), open_store()
    rounds = iter(range(100))

    def always(*args, **kwargs):
        ingest_rows(other, batch(f"x{next(rounds)}"), BANK)  # a new conflicting ref each time
        raise ConcurrentFiling("cannot append: a concurrent batch filed x first")

    monkeypatch.setattr(store, "append", always)
    with pytest.raises(ConcurrentFiling, match="concurrent batch"):
        ingest_rows(store, batch("a", "b"), BANK)
    assert "a" not in refs_in(store) and next(rounds) == 3  # three tries, then the error


def test_writers_filing_the_same_batch_at_once_write_each_record_once(open_store):
    stores = [open_store() for _ in range(4)]
    refs = [f"r{i}" for i in range(40)]

    def file(store: Store):
        return ingest_rows(store, batch(*refs), BANK)

    with ThreadPoolExecutor(len(stores)) as pool:
        reports = list(pool.map(file, stores))
    assert all(r.errors == [] and not r.rejected_whole for r in reports)
    # a writer that found every record already filed wrote no (empty) batch
    assert all((r.receipt is None) == (r.accepted == 0) for r in reports)
    assert sum(r.accepted for r in reports) == len(refs)
    assert sum(r.duplicates for r in reports) == len(refs) * (len(stores) - 1)
    assert refs_in(stores[0]) == sorted(refs)
