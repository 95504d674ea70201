"""The Store contract, run against every backend in STORES: SQLite and PostgreSQL.

A backend is a factory ``make(directory) -> Store`` that opens the same store again when called
again on the same directory, so reopening and durability are part of the contract. The
PostgreSQL factory keeps each test in its own schema (see ``tests/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from opencredit.errors import LedgerError
from opencredit.ledger.backends import UnknownBackend, open_store
from opencredit.ledger.postgres_store import PostgresStore
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.ledger.sql_store import STORED_TERM_COLUMNS
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import (
    PERSON_SCHEMA,
    RECORD_SCHEMA,
    SCORE_SCHEMA,
    TERM_ROW,
    TERM_SCHEMA,
    Organisation,
    Person,
    Store,
)
from opencredit.registry import make_org_code, make_resident_id

StoreFactory = Callable[[Path], Store]


def _sqlite(request: pytest.FixtureRequest) -> StoreFactory:
    return lambda directory: SQLiteStore(directory / "ledger.sqlite")


def _postgresql(request: pytest.FixtureRequest) -> StoreFactory:
    url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    return lambda directory: PostgresStore(url, schema=schema)


#: Backends under test, by name: each turns the test's request into a store factory.
STORES: dict[str, Callable[[pytest.FixtureRequest], StoreFactory]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
}

P = [make_resident_id("110101", dt.date(1990, 1, 1) + dt.timedelta(days=n), n) for n in range(1, 6)]
ORG = make_org_code("110000", 1)
OTHER = make_org_code("440300", 2)
POLICY = "lending@1"


@pytest.fixture(params=list(STORES))
def make(request: pytest.FixtureRequest) -> StoreFactory:
    return STORES[request.param](request)


@pytest.fixture
def store(make: StoreFactory, tmp_path: Path):
    store = make(tmp_path)
    yield store
    store.close()


@pytest.fixture
def ready(store: Store) -> Store:
    """A store with five persons and two licensed organisations."""
    store.add_persons(persons(P))
    store.add_organisation(Organisation(ORG, "Bank", ("finance", "traffic")))
    store.add_organisation(Organisation(OTHER, "Shop", ("commerce",)))
    return store


def persons(ids: list[str]) -> pa.Table:
    """Persons with the attributes their IDs encode (P[n]: born 1990-01-01 + n + 1 days)."""
    return pa.table(
        {
            "id": ids,
            "region": [i[:6] for i in ids],
            "birth_date": [dt.date(int(i[6:10]), int(i[10:12]), int(i[12:14])) for i in ids],
            "sex": ["M" if int(i[16]) % 2 else "F" for i in ids],
        },
        schema=PERSON_SCHEMA,
    )


def rows(*records: tuple) -> pa.Table:
    """Rows as ``append`` takes them, from (person, kind, day, value, ref[, action, target])."""
    cols: dict[str, list] = {
        k: []
        for k in ("person", "kind", "occurred", "value", "category", "ref", "action", "target")
    }
    for person, kind, day, value, ref, *correction in records:
        action, target = correction or ("file", None)
        cols["person"].append(person)
        cols["kind"].append(kind)
        cols["occurred"].append(dt.date(2024, 1, 1) + dt.timedelta(days=day))
        cols["value"].append(value)
        cols["category"].append("books" if kind == "purchase" else None)
        cols["ref"].append(ref)
        cols["action"].append(action)
        cols["target"].append(target)
    types = {"occurred": pa.date32(), "value": pa.float64(), "target": pa.int64()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


def terms(records: pa.Table) -> dict[str, pa.Table]:
    """Factor state for appended records: one term per non-retraction."""
    out = {k: [] for k in TERM_SCHEMA.names}
    for r in records.to_pylist():
        if r["action"] == "retract":
            continue
        out["person"].append(r["person"])
        out["factor"].append(r["kind"])
        out["seq"].append(r["seq"])
        out["occurred"].append((r["occurred"] - dt.date(1970, 1, 1)).days)
        out["expires"].append(None)
        out["points"].append(r["value"] or 1.0)
    return {POLICY: pa.table(out, schema=TERM_SCHEMA)}


def ledger(store: Store, **kwargs) -> pa.Table:
    return pa.Table.from_batches(list(store.export_records(**kwargs)), schema=RECORD_SCHEMA)


def filed(store: Store, n: int, org: str = ORG, prefix: str = "r") -> None:
    """Append ``n`` speeding tickets spread over the five persons."""
    recs = [(P[i % len(P)], "speeding", i, float(10 + i), f"{prefix}{i}") for i in range(n)]
    store.append(org, "test.csv", rows(*recs), terms=terms)


# registry -----------------------------------------------------------------------------------
class TestPersons:
    def test_add_skips_those_already_registered(self, store):
        assert store.add_persons(persons(P[:3])) == 3
        assert store.add_persons(persons(P[1:])) == 2
        assert store.count_persons() == 5
        assert store.person(P[1]).region == "110101"

    def test_person_and_unknown_persons(self, store):
        store.add_persons(persons(P[:2]))
        assert store.person(P[1]) == Person(P[1], "110101", dt.date(1990, 1, 3), "F")
        assert store.person(P[4]) is None
        assert store.unknown_persons([P[0], P[4], P[3], P[0]]) == {P[3], P[4]}
        assert store.unknown_persons([]) == set()

    def test_export_round_trips(self, store):
        assert store.export_persons().num_rows == 0
        table = persons(P)
        store.add_persons(table)
        exported = store.export_persons()
        assert exported.schema == PERSON_SCHEMA
        assert exported.sort_by("id").equals(table.sort_by("id"))


class TestOrganisations:
    def test_upsert_relicenses(self, store):
        assert store.organisation(ORG) is None
        store.add_organisation(Organisation(ORG, "Bank", ("finance",)))
        store.add_organisation(Organisation(OTHER, "Alpha Shop", ()))
        store.add_organisation(Organisation(ORG, "Bank Ltd", ("finance", "traffic")))
        assert store.organisation(ORG) == Organisation(ORG, "Bank Ltd", ("finance", "traffic"))
        assert store.organisation(OTHER).domains == ()
        assert [o.name for o in store.organisations()] == ["Alpha Shop", "Bank Ltd"]


# ledger --------------------------------------------------------------------------------------
class TestAppend:
    def test_sequence_numbers_are_contiguous_across_batches(self, ready):
        receipts = []
        for n, size in enumerate([3, 1, 4]):
            recs = [(P[0], "speeding", i, 20.0, f"b{n}-{i}") for i in range(size)]
            receipts.append(ready.append(ORG, f"b{n}.csv", rows(*recs), duplicates=n, rejected=1))
        assert [(r.first_seq, r.last_seq) for r in receipts] == [(1, 3), (4, 4), (5, 8)]
        assert [r.batch for r in receipts] == sorted({r.batch for r in receipts})
        assert [(r.accepted, r.duplicates, r.rejected) for r in receipts] == [
            (3, 0, 1),
            (1, 1, 1),
            (4, 2, 1),
        ]
        assert receipts[1].source == "b1.csv" and receipts[1].org == ORG
        assert ready.max_seq() == ready.count_records() == 8
        assert ledger(ready).column("seq").to_pylist() == list(range(1, 9))

    def test_an_empty_batch_has_no_sequence_range(self, ready):
        filed(ready, 2)
        receipt = ready.append(ORG, "dups.csv", rows(), duplicates=2)
        assert (receipt.accepted, receipt.first_seq, receipt.last_seq) == (0, None, None)
        assert receipt.duplicates == 2 and ready.max_seq() == 2

    def test_threads_may_share_a_store(self, ready):
        def file_batches(w: int) -> None:
            for b in range(5):
                recs = [(P[w], "speeding", i, 10.0, f"t{w}-{b}-{i}") for i in range(3)]
                ready.append(ORG, f"t{w}", rows(*recs), terms=terms)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(file_batches, range(4)))
        assert ledger(ready).column("seq").to_pylist() == list(range(1, 61))
        assert sum(ready.terms_for(POLICY, P[w]).num_rows for w in range(4)) == 60

    def test_term_rows_are_terms_for_as_tuples(self, ready):
        recs = [(P[0], "speeding", i, 10.0 + i, f"tr{i}") for i in range(4)]
        ready.append(ORG, "tr.csv", rows(*recs, (P[1], "speeding", 1, 5.0, "tr9")), terms=terms)
        table = ready.terms_for(POLICY, P[0])
        expected = list(zip(*table.select(list(TERM_ROW)).to_pydict().values(), strict=True))
        got = ready.term_rows(POLICY, P[0])
        assert [tuple(r) for r in got] == expected and len(got) == 4
        assert all(type(r[2]) is int and type(r[4]) is float for r in got)
        assert ready.term_rows(POLICY, P[2]) == [] and ready.term_rows("nope", P[0]) == []

    def test_records_keep_what_was_filed(self, ready):
        ready.append(ORG, "a.csv", rows((P[0], "red_light", 3, None, "x")))
        ready.append(OTHER, "b.csv", rows((P[1], "purchase", 4, 9.5, "x")))
        assert ready.record(1) == Record(
            1, P[0], "red_light", dt.date(2024, 1, 4), None, None, ORG, "x", Action.FILE, None
        )
        assert ready.record(2) == Record(
            2, P[1], "purchase", dt.date(2024, 1, 5), 9.5, "books", OTHER, "x", Action.FILE, None
        )
        assert ready.record(3) is None

    def test_existing_refs_are_per_organisation(self, ready):
        filed(ready, 3)
        filed(ready, 1, org=OTHER, prefix="r")
        mine = ready.existing_refs(ORG, ["r0", "r2", "r9", "r2"])
        assert sorted(mine) == ["r0", "r2"] and mine["r2"].seq == 3
        assert [r.seq for r in ready.existing_refs(OTHER, ["r0", "r1"]).values()] == [4]
        assert ready.existing_refs(ORG, []) == {}

    def test_a_failing_terms_callback_writes_nothing(self, ready):
        filed(ready, 2)
        before = ledger(ready), ready.terms_for(POLICY, P[0])

        def broken(records: pa.Table) -> dict[str, pa.Table]:
            raise RuntimeError("factor state could not be computed")

        with pytest.raises(RuntimeError, match="could not be computed"):
            ready.append(ORG, "c.csv", rows((P[0], "speeding", 5, 30.0, "c1")), terms=broken)
        assert ready.max_seq() == ready.count_records() == 2
        assert ready.existing_refs(ORG, ["c1"]) == {}
        assert (ledger(ready), ready.terms_for(POLICY, P[0])) == before
        # the sequence did not advance: the next batch continues at 3
        receipt = ready.append(ORG, "d.csv", rows((P[0], "speeding", 5, 30.0, "c1")), terms=terms)
        assert (receipt.first_seq, receipt.last_seq) == (3, 3)

    def test_broken_references_are_refused_and_write_nothing(self, ready):
        filed(ready, 2)
        stranger = make_resident_id("310101", dt.date(2000, 1, 1), 1)
        fix = (P[0], "speeding", 0, 11.0, "fix", "amend", 1)
        ready.append(ORG, "fix.csv", rows(fix))
        bad = {
            "unregistered person": (ORG, rows((stranger, "speeding", 1, 10.0, "s1"))),
            "unregistered organisation": (OTHER[:-1] + "Y", rows((P[0], "speeding", 1, 10.0, "o"))),
            "missing target": (ORG, rows((P[0], "speeding", 1, 10.0, "t1", "amend", 99))),
            "target corrected twice": (ORG, rows((P[0], "speeding", 1, 9.0, "t2", "amend", 1))),
            "repeated ref": (ORG, rows((P[1], "speeding", 1, 10.0, "r0"))),
        }
        for case, (org, batch) in bad.items():
            with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError, LedgerError)):
                ready.append(org, "bad.csv", batch, terms=terms)
            assert ready.max_seq() == 3, case
        assert ready.append(ORG, "ok.csv", rows((P[1], "speeding", 1, 1.0, "ok"))).first_seq == 4

    def test_terms_are_written_with_the_records_and_dropped_on_correction(self, ready):
        filed(ready, 5)  # one ticket each: P[0] has seq 1, P[1] seq 2, ...
        assert ready.terms_for(POLICY, P[0]).column("seq").to_pylist() == [1]
        fix = rows(
            (P[0], "speeding", 0, 11.0, "fix", "amend", 1),
            (P[1], "speeding", 1, None, "gone", "retract", 2),
        )
        ready.append(ORG, "fix.csv", fix, terms=terms)
        assert ready.terms_for(POLICY, P[0]).column("seq").to_pylist() == [6]
        assert ready.terms_for(POLICY, P[1]).num_rows == 0
        assert ready.terms_for(POLICY, P[2]).column("seq").to_pylist() == [3]
        assert (ready.corrected_by(1), ready.corrected_by(2), ready.corrected_by(3)) == (6, 7, None)
        assert ready.record(7).action is Action.RETRACT and ready.record(7).target == 2

    def test_records_for_is_in_sequence_order(self, ready):
        filed(ready, 12)
        got = ready.records_for(P[1])
        assert [r.seq for r in got] == [2, 7, 12]
        assert {r.person for r in got} == {P[1]}
        assert ready.records_for(make_resident_id("310101", dt.date(2000, 1, 1), 1)) == []

    def test_text_and_numbers_come_back_exactly(self, ready):
        awkward = ["a,b", 'say "hi"', "line\nbreak", "tab\there", "\\.", "NULL", "ünï"]
        recs = [(P[0], "speeding", i, 0.1 + 0.2 * i, ref) for i, ref in enumerate(awkward)]
        ready.append(ORG, "odd.csv", rows(*recs))
        got = ledger(ready)
        assert got.column("ref").to_pylist() == awkward
        assert got.column("value").to_pylist() == [0.1 + 0.2 * i for i in range(len(awkward))]
        assert sorted(ready.existing_refs(ORG, awkward)) == sorted(awkward)
        empty = rows((P[1], "purchase", 0, 1e-7, "")).set_column(
            4, "category", pa.array([""], pa.string())
        )
        ready.append(ORG, "empty.csv", empty)
        last = ready.record(ready.max_seq())
        assert (last.ref, last.category, last.value) == ("", "", 1e-7)  # "" is not NULL
        assert ledger(ready).column("category").to_pylist()[-1] == ""


class TestExport:
    def test_small_batches_reassemble_the_ledger(self, ready):
        filed(ready, 10)
        batches = list(ready.export_records(batch_rows=3))
        assert [b.num_rows for b in batches] == [3, 3, 3, 1]
        assert all(b.schema == RECORD_SCHEMA for b in batches)
        whole = pa.Table.from_batches(batches)
        assert whole.equals(ledger(ready))
        assert whole.column("seq").to_pylist() == list(range(1, 11))
        assert whole.column("ref").to_pylist() == [f"r{i}" for i in range(10)]
        assert whole.column("org").to_pylist() == [ORG] * 10

    def test_up_to_stops_at_a_sequence_number(self, ready):
        filed(ready, 10)
        assert ledger(ready, up_to=4, batch_rows=3).column("seq").to_pylist() == [1, 2, 3, 4]
        assert ledger(ready, up_to=0).num_rows == 0
        assert ledger(ready, up_to=99).num_rows == 10

    def test_an_empty_ledger_exports_nothing(self, ready):
        assert list(ready.export_records()) == []
        assert ready.max_seq() == ready.count_records() == 0


# disputes, policies, scores -------------------------------------------------------------------
class TestDisputes:
    def test_add_and_resolve(self, ready):
        filed(ready, 3)
        first = ready.add_dispute(1, dt.date(2025, 1, 1), "not my car")
        second = ready.add_dispute(2, dt.date(2025, 1, 5), "wrong date")
        assert first != second
        assert ready.disputes(P[0]) == [Dispute(1, dt.date(2025, 1, 1))]
        assert sorted(d.seq for d in ready.disputes()) == [1, 2]
        ready.resolve_dispute(first, dt.date(2025, 1, 20), "upheld")
        ready.resolve_dispute(first, dt.date(2025, 3, 1), "again")  # a decision stands
        assert ready.disputes(P[0]) == [Dispute(1, dt.date(2025, 1, 1), dt.date(2025, 1, 20))]
        assert ready.disputes(P[1])[0].resolved is None
        assert ready.disputes(P[4]) == []

    def test_score_inputs_are_terms_and_disputes_in_one_read(self, ready):
        """The one-statement read equals its parts (the base class's three reads)."""

        def seq_of(d: Dispute) -> int:
            return d.seq

        recs = [(P[i % 2], "speeding", i, 10.0 + i, f"si{i}") for i in range(5)]
        ready.append(ORG, "si.csv", rows(*recs), terms=terms)
        ready.add_dispute(1, dt.date(2025, 1, 1), "not me")
        resolved = ready.add_dispute(3, dt.date(2025, 1, 2), "not me either")
        ready.resolve_dispute(resolved, dt.date(2025, 2, 1), "upheld")
        ready.add_dispute(2, dt.date(2025, 1, 3), "wrong")
        for person, policy in itertools.product(P[:3], [POLICY, "nope"]):
            got = ready.score_inputs(policy, person)
            parts = Store.score_inputs(ready, policy, person)
            assert got is not None and parts is not None
            assert [tuple(r) for r in got[0]] == parts[0] == ready.term_rows(policy, person)
            assert sorted(got[1], key=seq_of) == sorted(parts[1], key=seq_of)
        assert len(ready.score_inputs(POLICY, P[0])[0]) == 3
        assert sorted(ready.score_inputs(POLICY, P[0])[1], key=seq_of) == [
            Dispute(1, dt.date(2025, 1, 1)),
            Dispute(3, dt.date(2025, 1, 2), dt.date(2025, 2, 1)),
        ]
        assert ready.score_inputs(POLICY, P[4]) == ([], [])  # registered, nothing on file
        stranger = make_resident_id("310104", dt.date(2001, 1, 1), 44)
        assert ready.score_inputs(POLICY, stranger) is None  # not registered

    def test_a_dispute_needs_a_record(self, ready):
        with pytest.raises(ValueError, match="no record with sequence number 9"):
            ready.add_dispute(9, dt.date(2025, 1, 1), "what record?")
        assert ready.disputes() == []


class TestPoliciesAndScores:
    def test_install_is_idempotent(self, store):
        assert store.policy_documents() == {}
        assert store.install_policy(POLICY, "doc 1") is True
        assert store.install_policy(POLICY, "doc 1") is False
        assert store.install_policy(POLICY, "changed") is False  # a version is never rewritten
        assert store.install_policy("lending@2", "doc 2") is True
        assert store.policy_documents() == {POLICY: "doc 1", "lending@2": "doc 2"}

    def test_replace_terms_round_trips(self, ready):
        store = ready  # terms are of records in the ledger: seqs 1 and 2 are P[0]'s, 3 P[1]'s
        recs = [(P[0], "speeding", 1, 1.0, "r1"), (P[0], "speeding", 2, 1.0, "r2")]
        store.append(ORG, "r.csv", rows(*recs, (P[1], "speeding", 3, 1.0, "r3")))
        table = pa.table(
            {
                "person": [P[0], P[0], P[1]],
                "factor": ["b", "a", "a"],
                "seq": [2, 1, 3],
                "occurred": [10, 11, 12],
                "expires": [None, 20, 30],
                "points": [1.5, -2.0, 3.0],
            },
            schema=TERM_SCHEMA,
        )
        store.replace_terms(POLICY, table)
        got = store.terms_for(POLICY, P[0])
        assert got.schema == TERM_SCHEMA
        assert got.to_pylist() == [table.to_pylist()[1], table.to_pylist()[0]]  # factor, seq
        store.replace_terms(POLICY, table.slice(2))
        assert store.terms_for(POLICY, P[0]).num_rows == 0
        assert store.terms_for("other@1", P[1]).num_rows == 0

    def test_scores_round_trip(self, store):
        empty, as_of, up_to = store.scores(POLICY)
        assert (empty.num_rows, as_of, up_to) == (0, None, None)
        assert empty.schema == SCORE_SCHEMA
        first = pa.table(
            {
                "person": [P[1], P[0]],
                "raw": [612.4, 700.5],
                "score": [612, 701],
                "band": ["fair", "good"],
            },
            schema=SCORE_SCHEMA,
        )
        store.write_scores(POLICY, dt.date(2025, 6, 1), 42, first)
        table, as_of, up_to = store.scores(POLICY)
        assert table.equals(first.sort_by("person"))
        assert (as_of, up_to) == (dt.date(2025, 6, 1), 42)
        store.write_scores(POLICY, dt.date(2025, 7, 1), 50, first.slice(0, 1))
        table, as_of, up_to = store.scores(POLICY)
        assert table.column("person").to_pylist() == [P[1]]  # replaced, not merged
        assert (as_of, up_to) == (dt.date(2025, 7, 1), 50)
        assert store.scores("other@1")[0].num_rows == 0


# durability -----------------------------------------------------------------------------------
def test_reopening_sees_everything(make, tmp_path):
    store = make(tmp_path)
    store.add_persons(persons(P))
    store.add_organisation(Organisation(ORG, "Bank", ("traffic",)))
    filed(store, 6)
    store.add_dispute(2, dt.date(2025, 1, 1), "not me")
    store.install_policy(POLICY, "doc")
    store.write_scores(
        POLICY,
        dt.date(2025, 6, 1),
        6,
        pa.table({"person": [P[0]], "raw": [1.0], "score": [1], "band": ["x"]}),
    )
    before = (
        ledger(store),
        store.export_persons().sort_by("id"),
        store.disputes(),
        store.terms_for(POLICY, P[0]),
        store.scores(POLICY),
    )
    store.close()

    again = make(tmp_path)
    try:
        after = (
            ledger(again),
            again.export_persons().sort_by("id"),
            again.disputes(),
            again.terms_for(POLICY, P[0]),
            again.scores(POLICY),
        )
        assert after == before
        assert again.organisation(ORG) == Organisation(ORG, "Bank", ("traffic",))
        assert again.policy_documents() == {POLICY: "doc"}
        receipt = again.append(ORG, "next.csv", rows((P[0], "speeding", 9, 12.0, "next")))
        assert receipt.first_seq == 7
    finally:
        again.close()


#: ``factor_terms`` in the first layout, its key led by the person, as both stores made it.
_FIRST_LAYOUT = (
    "CREATE TABLE factor_terms (person TEXT NOT NULL, policy TEXT NOT NULL, "
    "factor TEXT NOT NULL, seq BIGINT NOT NULL, occurred INTEGER NOT NULL, expires INTEGER, "
    "points DOUBLE PRECISION NOT NULL, PRIMARY KEY (person, policy, factor, seq))"
)


def test_terms_of_the_first_layout_are_moved_on_opening(make, tmp_path):
    """A ledger whose factor state has the first layout opens with its terms in the
    current one: same terms, same scores' inputs, and filing goes on."""
    store = make(tmp_path)
    store.add_persons(persons(P))
    store.add_organisation(Organisation(ORG, "Bank", ("traffic",)))
    recs = [(P[n % 2], "speeding", n, 1.0 + n, f"a{n}") for n in range(6)]
    store.append(ORG, "a.csv", rows(*recs), terms=terms)
    made = terms(ledger(store))[POLICY]
    before = [store.term_rows(POLICY, p) for p in P[:2]]
    assert sum(map(len, before)) == 6
    store.db.execute("DROP TABLE factor_terms")
    store.db.execute(_FIRST_LAYOUT)
    cols = ["person", "factor", "seq", "occurred", "expires", "points"]
    marker = store.marker
    for row in made.select(cols).to_pylist():
        store.db.execute(
            f"INSERT INTO factor_terms (policy, {', '.join(cols)}) VALUES ({marker}"
            + f", {marker}" * len(cols)
            + ")",
            (POLICY, *row.values()),
        )
    store.close()

    again = make(tmp_path)
    try:
        assert [again.term_rows(POLICY, p) for p in P[:2]] == before
        columns = again.db.execute("SELECT * FROM factor_terms LIMIT 0").description
        assert [c[0] for c in columns] == list(STORED_TERM_COLUMNS)
        again.append(ORG, "b.csv", rows((P[0], "speeding", 9, 2.0, "b")), terms=terms)
        assert len(again.term_rows(POLICY, P[0])) == len(before[0]) + 1
        third = make(tmp_path)  # opening again moves nothing
        assert third.term_rows(POLICY, P[1]) == before[1]
        third.close()
    finally:
        again.close()


def test_sqlite_commits_are_durable(tmp_path):
    store = SQLiteStore(tmp_path / "ledger.sqlite")
    try:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()


# PostgreSQL -----------------------------------------------------------------------------------
#: A writer process: opens the store, says "ready", waits for "go", then appends its batches.
WRITER = """
import sys
import pyarrow as pa
from opencredit.ledger.postgres_store import PostgresStore
url, schema, org, person, name, batches, size = sys.argv[1:]
n = int(size)
store = PostgresStore(url, schema=schema)
print("ready", flush=True)
sys.stdin.readline()
for b in range(int(batches)):
    store.append(org, name, pa.table({
        "person": [person] * n, "kind": ["speeding"] * n,
        "occurred": pa.array([19000] * n, pa.int32()).cast(pa.date32()),
        "value": [12.0] * n, "category": pa.nulls(n, pa.string()),
        "ref": [f"{name}-{b}-{i}" for i in range(n)],
        "action": ["file"] * n, "target": pa.nulls(n, pa.int64())}))
store.close()
"""


#: score_inputs with the person-terms join written plainly, as SQLite has it.
_JOINED = PostgresStore._sql["score_inputs"].replace(
    PostgresStore.person_terms.replace("?", "%s"), SQLiteStore.person_terms.replace("?", "%s")
)


@pytest.mark.parametrize("phrasing", ["store", "plain join"])
def test_postgres_reads_a_persons_terms_by_index_without_statistics(pg_url, pg_schema, phrasing):
    """On tables never analysed (autovacuum off, or just after a bulk load), the score's
    inputs still come from the indexes: written as a plain join, PostgreSQL hashed the whole
    factor state (290 ms per read at 3 M records instead of 0.1 ms)."""
    store = PostgresStore(pg_url, schema=pg_schema)
    try:
        db = store.db
        for table in ("records", "factor_terms"):
            db.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        db.execute(
            "INSERT INTO records SELECT g, lpad((g % 20000)::text, 18, '0'), 'speeding', 20000, "
            "1.0, NULL, 'X', 'r' || g, 'file', NULL, 1 FROM generate_series(1, 200000) g"
        )
        db.execute(
            "INSERT INTO factor_terms SELECT g, p, 'speeding', 20000, NULL, -1.0 "
            "FROM generate_series(1, 200000) g, (VALUES ('a@1'), ('b@1')) v(p)"
        )
        assert db.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = %s "
            "AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
            (pg_schema,),
        ).fetchone() == (0,)
        query = store._sql["score_inputs"] if phrasing == "store" else _JOINED
        person = "0" * 14 + "1234"
        plan = "\n".join(
            r[0] for r in db.execute(f"EXPLAIN {query}", (person, person, "a@1", person))
        )
        hashed = "Seq Scan on factor_terms" in plan
        assert hashed == (phrasing == "plain join"), plan
        if phrasing == "store":
            assert len(store.term_rows("a@1", person)) == 10  # seqs 1234, 21234, ...
    finally:
        store.close()


def test_postgres_seqs_stay_dense_with_writers_in_several_processes(pg_url, pg_schema):
    store = PostgresStore(pg_url, schema=pg_schema)
    writers, batches, size = 3, 10, 7
    try:
        store.add_persons(persons(P))
        store.add_organisation(Organisation(ORG, "Bank", ("traffic",)))
        args = [pg_url, pg_schema, ORG, P[0], "", str(batches), str(size)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, *args[:4], f"w{w}", *args[5:]],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for w in range(writers)
        ]
        assert [p.stdout.readline() for p in procs] == ["ready\n"] * writers
        for p in procs:  # start together, so the batches interleave
            p.stdin.write("go\n")
            p.stdin.flush()
        assert [p.wait(timeout=120) for p in procs] == [0] * writers
        total = writers * batches * size
        assert store.max_seq() == store.count_records() == total
        got = ledger(store)
        assert got.column("seq").to_pylist() == list(range(1, total + 1))
        ranges = store.db.execute(
            "SELECT id, source, first_seq, last_seq FROM batches ORDER BY id"
        ).fetchall()
        assert [(f, last) for _, _, f, last in ranges] == [
            (1 + size * i, size * (i + 1)) for i in range(writers * batches)
        ]  # batch ids follow commit order, and each batch is one unbroken range
        refs = got.column("ref").to_pylist()
        for _, source, first, last in ranges:  # a batch's records are its writer's alone
            assert all(ref.startswith(f"{source}-") for ref in refs[first - 1 : last])
        sources = [source for _, source, _, _ in ranges]
        assert sum(a != b for a, b in itertools.pairwise(sources)) >= writers  # interleaved
    finally:
        store.close()


def test_postgres_schemas_are_separate_ledgers(pg_url, pg_schema):
    one = PostgresStore(pg_url, schema=pg_schema)
    two = PostgresStore(pg_url, schema=pg_schema + "_b")
    try:
        one.add_persons(persons(P))
        one.add_organisation(Organisation(ORG, "Bank", ("traffic",)))
        filed(one, 3)
        assert (one.max_seq(), two.max_seq(), two.count_persons()) == (3, 0, 0)
        assert one.db.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    finally:
        two.db.execute(f'DROP SCHEMA "{pg_schema}_b" CASCADE')
        one.close()
        two.close()


def test_open_store_picks_the_backend_by_url(tmp_path, pg_url, pg_schema):
    for url in (str(tmp_path / "a.sqlite"), f"sqlite:///{tmp_path}/b.sqlite"):
        store = open_store(url)
        assert isinstance(store, SQLiteStore) and store.path.exists()
        store.close()
    store = open_store(f"{pg_url}?schema={pg_schema}")
    try:
        assert isinstance(store, PostgresStore) and store.schema == pg_schema
        assert store.concurrent_writers and not SQLiteStore.concurrent_writers
    finally:
        store.close()
    with pytest.raises(UnknownBackend, match=r"unknown database URL scheme 'mysql'.*postgresql://"):
        open_store("mysql://localhost/ledger")
    with pytest.raises(UnknownBackend, match="three slashes"):
        open_store("sqlite://ledger.sqlite")
