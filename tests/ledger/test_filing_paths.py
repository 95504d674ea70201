"""The faster filing paths give exactly what the paths they replace gave.

- A filing's factor state is computed column-wise (``make_terms`` without ``whole_ledger``);
  it must equal the rebuild's DuckDB query on the same records, row for row and in order.
- Dates are checked to read back as written without formatting each one (``_reads_back``);
  it must agree with formatting them.
- Records from an HTTP body reach validation as typed columns (dates, numbers), as Parquet's
  do; every report (errors named by record, field, reason and value) and every ledger written
  must equal what the same records as text gave.
- Registry and ref lookups take their ids as one JSON parameter on both stores: any text
  comes back as it went in, and append still refuses an unregistered person after a lookup.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.catalog import KINDS, PURCHASE_CATEGORIES
from opencredit.errors import LedgerError
from opencredit.ledger.files import COLUMNS, RawRows
from opencredit.ledger.ingest import _reads_back, ingest_rows
from opencredit.ledger.postgres_store import PostgresStore
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import RECORD_SCHEMA, TERM_SCHEMA, Organisation, Store
from opencredit.policies.model import published_policies
from opencredit.registry import make_org_code, make_resident_id
from opencredit.scoring.incremental import _terms_in_duckdb, make_terms, term_maker

TODAY = dt.date(2025, 6, 1)
PERSONS = [make_resident_id("110101", dt.date(1990, 1, 1), n) for n in range(1, 6)]
UNREGISTERED = make_resident_id("310101", dt.date(1985, 5, 5), 7)
ORG = make_org_code("110000", 1)
POLICIES = published_policies()


# factor state -------------------------------------------------------------------------------
def records(n: int, seed: int) -> pa.Table:
    """``n`` appended records (RECORD_SCHEMA) of every kind, persons in no order, some values
    missing, purchases with vetted and other categories, some amendments and retractions."""
    rng = random.Random(seed)
    categories = [*sorted(PURCHASE_CATEGORIES), "video_games", "baby_care", None]
    rows = []
    for i in range(n):
        kind = rng.choice(KINDS)
        action = rng.choices(["file", "amend", "retract"], [8, 1, 1])[0]
        rows.append(
            {
                "seq": 1000 + i,
                "person": rng.choice([*PERSONS[:3], "ü-person", "A", "a"]),
                "kind": kind.id,
                "occurred": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(-900, 300)),
                "value": rng.choice([None, 0.0, 1.5, 17.25, 1e6]),
                "category": rng.choice(categories) if kind.needs_category else None,
                "org": ORG,
                "ref": f"r{i}",
                "action": action,
                "target": rng.randrange(1, 999) if action != "file" else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [0, 1, 7, 400])
def test_a_filings_terms_are_the_rebuild_querys(n: int, seed: int) -> None:
    table = records(n, seed)
    made = term_maker(POLICIES)(table)
    for policy in POLICIES:
        want = _terms_in_duckdb(policy, table, whole_ledger=False)
        assert made[policy.key].schema == TERM_SCHEMA
        assert made[policy.key].equals(want), policy.key
        assert make_terms(policy, table).equals(want), policy.key


def test_retractions_add_no_terms() -> None:
    table = records(50, 1)
    retractions = table.filter(pc.equal(table.column("action"), "retract"))
    assert retractions.num_rows
    for policy in POLICIES:
        assert make_terms(policy, retractions).num_rows == 0


def test_the_rebuild_leaves_corrected_records_out() -> None:
    table = pa.Table.from_pylist(
        [
            {"seq": 1, "person": PERSONS[0], "kind": "speeding", "occurred": dt.date(2024, 1, 1),
             "value": 20.0, "category": None, "org": ORG, "ref": "a", "action": "file",
             "target": None},
            {"seq": 2, "person": PERSONS[0], "kind": "speeding", "occurred": dt.date(2024, 1, 1),
             "value": 30.0, "category": None, "org": ORG, "ref": "b", "action": "amend",
             "target": 1},
        ],
        schema=RECORD_SCHEMA,
    )  # fmt: skip
    policy = next(p for p in POLICIES if p.id == "rongcheng")
    assert make_terms(policy, table, whole_ledger=True).column("seq").to_pylist() == [2]
    assert make_terms(policy, table).column("seq").to_pylist() == [1, 2]  # a filing's: all new


# dates ----------------------------------------------------------------------------------------
def test_dates_read_back_as_formatting_them_says() -> None:
    texts = [
        "2024-03-01",
        "2024-02-29",
        "2023-02-29",  # rolls over to 03-01: not as written
        "2024-02-30",
        "2024-13-01",
        "2024-1-5",
        "2024-01-05T00:00",
        "20240105",
        "0999-12-31",
        "0000-01-01",
        "10000-01-01",
        "1900-01-01",
        "",
        None,
        "not a date",
    ]
    text = pa.chunked_array([pa.array(texts, pa.string())])
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    want = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text)
    assert _reads_back(parsed, text).to_pylist() == want.to_pylist()


# records from an HTTP body --------------------------------------------------------------------
def text_rows(recs: list[RecordIn], source: str) -> RawRows:
    """The rows the API gave before: every field as text, as a CSV file's."""
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for r in recs:
        columns["person"].append(r.person)
        columns["kind"].append(r.kind)
        columns["occurred"].append(r.occurred.isoformat() if r.occurred else None)
        columns["value"].append(None if r.value is None else repr(r.value))
        columns["category"].append(r.category)
        columns["ref"].append(r.ref)
        columns["action"].append(r.action)
        columns["target_ref"].append(r.target_ref)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    return RawRows(source, table, list(range(1, len(recs) + 1)), [], "record")


def body_records() -> list[RecordIn]:
    """Good records and records with every kind of error a valid JSON body can carry."""
    day = dt.date(2024, 3, 1)
    good = dict(person=PERSONS[0], kind="speeding", occurred=day, value=12.0)
    cases = [
        good,
        dict(good, person=PERSONS[1], value=12),
        dict(good, kind="loan_repaid", value=None),
        dict(good, kind="purchase", value=99.5, category="books"),
        dict(good, occurred=TODAY + dt.timedelta(days=1)),
        dict(good, occurred=dt.date(1899, 12, 31)),
        dict(good, value=-3.0),
        dict(good, value=1e12),
        dict(good, value=float("nan")),
        dict(good, value=float("inf")),
        dict(good, value=None),
        dict(good, kind="loan_repaid", value=5.0),
        dict(good, kind="purchase", value=5.0),
        dict(good, kind="purchase", value=5.0, category="weapons"),
        dict(good, category="books"),
        dict(good, kind="nonsense"),
        dict(good, kind="volunteering"),  # civic: not licensed
        dict(good, person=UNREGISTERED),
        dict(good, person=PERSONS[0][:17] + "Z"),
        dict(good, person=None),
        dict(good, occurred=None),
        dict(good, kind=None),
        dict(good, target_ref="elsewhere"),
        dict(action="retract", target_ref="never-filed"),
        dict(good, action="amend", target_ref="r0"),  # names a ref in the same batch
    ]
    recs = [RecordIn(ref=f"r{i}", **fields) for i, fields in enumerate(cases)]
    recs.append(RecordIn(ref="r0", **good))  # a repeated ref
    return recs


def sqlite_store(directory: Path) -> SQLiteStore:
    store = SQLiteStore(directory / "ledger.sqlite")
    store.add_persons(
        pa.table(
            {
                "id": PERSONS,  # the registry keeps the attributes the ID encodes
            },
        )
    )
    store.add_organisation(Organisation(ORG, "Bank", ("finance", "traffic", "commerce")))
    return store


@pytest.mark.parametrize("partial", [False, True])
def test_body_records_validate_as_their_text_did(tmp_path: Path, partial: bool) -> None:
    recs = body_records()
    reports, ledgers = [], []
    for name, make_rows in (("typed", rows_from_records), ("text", text_rows)):
        (tmp_path / name).mkdir()
        store = sqlite_store(tmp_path / name)
        try:
            report = ingest_rows(
                store,
                make_rows(recs, "POST /records/batch"),
                ORG,
                partial=partial,
                today=TODAY,
                terms=term_maker(POLICIES),
            )
            reports.append(report)
            ledgers.append(pa.Table.from_batches(list(store.export_records()), RECORD_SCHEMA))
        finally:
            store.close()
    typed, text = reports
    assert typed.errors == text.errors
    assert len({e.line for e in typed.errors}) > 20  # every case but the good ones failed
    assert (typed.rows, typed.duplicates, typed.accepted) == (
        text.rows,
        text.duplicates,
        text.accepted,
    )
    assert typed.rejected_whole is (not partial)
    assert ledgers[0].equals(ledgers[1])
    assert ledgers[0].num_rows == (4 if partial else 0)


# lookups on both stores -----------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        made: Store = SQLiteStore(tmp_path / "ledger.sqlite")
    else:
        url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
        made = PostgresStore(url, schema=schema)
    made.add_persons(
        pa.table(
            {
                "id": PERSONS,  # the registry keeps the attributes the ID encodes
            },
        )
    )
    made.add_organisation(Organisation(ORG, "Bank", ("traffic",)))
    yield made
    made.close()


AWKWARD = ["a,b", 'say "hi"', "line\nbreak", "tab\there", "\\", "\\.", "NULL", "ünï", "[]", "'"]


def test_any_text_can_be_looked_up(store: Store) -> None:
    assert store.unknown_persons([*AWKWARD, *PERSONS, PERSONS[0]]) == set(AWKWARD)
    assert store.unknown_persons(PERSONS) == set()
    day = dt.date(2024, 1, 1)
    rows = pa.table(
        {
            "person": [PERSONS[i % 5] for i in range(len(AWKWARD))],
            "kind": ["speeding"] * len(AWKWARD),
            "occurred": pa.array([day] * len(AWKWARD), pa.date32()),
            "value": pa.array([10.0] * len(AWKWARD), pa.float64()),
            "category": pa.nulls(len(AWKWARD), pa.string()),
            "ref": AWKWARD,
            "action": ["file"] * len(AWKWARD),
            "target": pa.nulls(len(AWKWARD), pa.int64()),
        }
    )
    store.append(ORG, "odd", rows)
    found = store.existing_refs(ORG, [*AWKWARD, "absent", AWKWARD[0]])
    assert sorted(found) == sorted(AWKWARD)
    assert {r.ref: r.person for r in found.values()} == dict(
        zip(AWKWARD, rows.column("person").to_pylist(), strict=True)
    )


def test_append_still_refuses_a_person_a_lookup_did_not_find(store: Store) -> None:
    """PostgreSQL's append skips persons a lookup has just found (they are never deleted),
    not those it did not: the unregistered one is refused and nothing is written."""
    assert store.unknown_persons([PERSONS[0], UNREGISTERED]) == {UNREGISTERED}
    rows = pa.table(
        {
            "person": [PERSONS[0], UNREGISTERED],
            "kind": ["speeding", "speeding"],
            "occurred": pa.array([dt.date(2024, 1, 1)] * 2, pa.date32()),
            "value": pa.array([10.0, 11.0], pa.float64()),
            "category": pa.nulls(2, pa.string()),
            "ref": ["x1", "x2"],
            "action": ["file", "file"],
            "target": pa.nulls(2, pa.int64()),
        }
    )
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError, LedgerError)):
        store.append(ORG, "test", rows)
    assert store.max_seq() == 0
    assert store.existing_refs(ORG, ["x1", "x2"]) == {}
