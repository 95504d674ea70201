"""Every engine against the oracle: random policies, random ledgers, the same scores.

The reference function (:mod:`opencredit.scoring.reference`) is the judge. The DuckDB batch
engine, the incremental engine (factor state kept in a real SQLite store) and the what-if of
:mod:`opencredit.scoring.explain` must give its unrounded score within 1e-6 relative, and its
rounded score away from .5 boundaries (docs/scoring.md).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import RECORD_SCHEMA, SCORE_SCHEMA, Organisation
from opencredit.policies.model import Policy
from opencredit.scoring.batch import factor_contributions, score_population
from opencredit.scoring.explain import what_if
from opencredit.scoring.hypothetical import HypotheticalError
from opencredit.scoring.incremental import IncrementalEngine, evaluate, term_maker
from opencredit.scoring.reference import corrected_seqs, is_live, score_all, score_person

from .strategies import ORG, contents, days_to_score, scenarios, turning_points
from .tables import close, disputes_table, ledger_table, near_half, persons_table

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# helpers ------------------------------------------------------------------------------------
def assert_matches_oracle(policy: Policy, oracle: Mapping[str, object], got: pa.Table) -> None:
    """``got`` (person, raw, score, band) agrees with oracle ScoreResults, person by person."""
    assert got.schema.equals(SCORE_SCHEMA), got.schema
    rows = got.to_pylist()
    assert sorted(r["person"] for r in rows) == sorted(oracle), "every person exactly once"
    for row in rows:
        want = oracle[row["person"]]
        assert close(row["raw"], want.raw), (row, want.raw)
        assert row["band"] == policy.band_of(row["score"]).name
        if not near_half(want.raw):
            assert row["score"] == want.score, (row, want.raw)
            assert row["band"] == want.band


# (1) and (2): the batch engine ----------------------------------------------------------------
@settings(FAST, max_examples=100)
@given(scenarios(), st.data())
def test_batch_engine_gives_the_oracle_scores(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    ledger, registry = ledger_table(records), persons_table(persons)
    disputed = disputes_table(disputes)
    other_day = data.draw(days_to_score(policy, records, disputes, as_of), label="other day")
    for day in dict.fromkeys([as_of, other_day]):
        got = score_population(policy, ledger, registry, day, disputes=disputed)
        oracle = {p: score_person(policy, p, records, day, disputes) for p in persons}
        assert_matches_oracle(policy, oracle, got)
        # score_all is the same oracle, person by person
        for person, raw in score_all(policy, persons, records, day, disputes).items():
            assert raw == oracle[person].raw


@settings(FAST, max_examples=75)
@given(scenarios(), st.data())
def test_batch_engine_respects_the_ledger_prefix(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    up_to = data.draw(st.integers(0, len(records)), label="up_to")
    got = score_population(
        policy,
        ledger_table(records),
        persons_table(persons),
        as_of,
        disputes=disputes_table(disputes),
        up_to=up_to,
    )
    prefix = [r for r in records if r.seq <= up_to]
    oracle = {p: score_person(policy, p, prefix, as_of, disputes) for p in persons}
    for p in persons:
        assert score_person(policy, p, records, as_of, disputes, up_to=up_to) == oracle[p]
    assert_matches_oracle(policy, oracle, got)


# (3): the incremental engine over a real store -------------------------------------------------
def open_store(directory: str, persons: Sequence[str]) -> SQLiteStore:
    store = SQLiteStore(Path(directory) / "ledger.sqlite")
    store.add_persons(persons_table(persons))
    domains = tuple(sorted({k.domain.value for k in KINDS}))
    store.add_organisation(Organisation(ORG, "Test provider", domains))
    return store


def append_rows(batch: Sequence[Record]) -> pa.Table:
    """A batch as ingestion hands it to Store.append (no seq, no org)."""
    table = ledger_table(batch)
    return table.drop_columns(["seq", "org"])


def file_disputes(store: SQLiteStore, disputes: Mapping[int, Sequence[Dispute]]) -> None:
    for seq, group in disputes.items():
        for d in group:
            dispute_id = store.add_dispute(seq, d.opened, "not mine")
            if d.resolved is not None:
                store.resolve_dispute(dispute_id, d.resolved, "verified")


def assert_incremental_scores(
    engine: IncrementalEngine,
    policy: Policy,
    persons: Sequence[str],
    records: Sequence[Record],
    dates: Sequence[dt.date],
    disputes: Mapping[int, Sequence[Dispute]] | None = None,
    up_to: int | None = None,
) -> None:
    for t in dates:
        for p in persons:
            want = score_person(policy, p, records, t, disputes, up_to=up_to)
            raw, score = engine.score(policy, p, t)
            assert close(raw, want.raw), (p, t, raw, want.raw)
            assert near_half(want.raw) or score == want.score, (p, t, score, want.raw)


def assert_state_scores_every_turn(
    store: SQLiteStore,
    policy: Policy,
    persons: Sequence[str],
    records: Sequence[Record],
    disputes: Mapping[int, Sequence[Dispute]],
) -> None:
    """Each person's stored state, evaluated on every day a record or dispute turns, gives
    the oracle's score: what ``IncrementalEngine.score`` does, without re-reading the state."""
    per_record, per_dispute = turning_points(policy, records, disputes)
    days = sorted({day for turns in [*per_record, *per_dispute] for day in turns})
    for p in persons:
        terms, filed = store.terms_for(policy.key, p), store.disputes(p)
        for t in days:
            raw, _ = evaluate(policy, terms, t, filed)
            want = score_person(policy, p, records, t, disputes)
            assert close(raw, want.raw), (p, t, raw, want.raw)


def factor_state(store: SQLiteStore, policy: Policy, persons: Sequence[str]) -> dict:
    return {
        p: sorted(store.terms_for(policy.key, p).to_pylist(), key=lambda t: (t["factor"], t["seq"]))
        for p in persons
    }


@settings(FAST, max_examples=40)
@given(scenarios(batched=True), st.data())
def test_incremental_engine_gives_the_oracle_scores(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    days = st.lists(days_to_score(policy, records, disputes, as_of), max_size=3)
    dates = [as_of, *data.draw(days, label="dates")]
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(directory, persons)
        try:
            engine = IncrementalEngine(store, [policy])
            for batch in batches:
                receipt = store.append(ORG, "test", append_rows(batch), terms=term_maker([policy]))
                if batch:
                    assert (receipt.first_seq, receipt.last_seq) == (batch[0].seq, batch[-1].seq)
                # the state is current as soon as the batch is in: no rebuild needed
                up_to = store.max_seq()
                assert_incremental_scores(engine, policy, persons, records, [as_of], up_to=up_to)
            file_disputes(store, disputes)
            assert_incremental_scores(engine, policy, persons, records, dates, disputes)
            assert_state_scores_every_turn(store, policy, persons, records, disputes)
            # a full rebuild from the exported ledger gives the same state, so the same scores
            state = factor_state(store, policy, persons)
            exported = pa.Table.from_batches(list(store.export_records()), schema=RECORD_SCHEMA)
            assert exported.equals(ledger_table(records))
            assert engine.rebuild_state(policy, exported) == sum(map(len, state.values()))
            assert factor_state(store, policy, persons) == state
            assert_incremental_scores(engine, policy, persons, records, dates, disputes)
        finally:
            store.close()


# (4): per-factor contributions ---------------------------------------------------------------
@settings(FAST, max_examples=100)
@given(scenarios(), st.data())
def test_factor_contributions_match_the_oracle(scenario: tuple, data: st.DataObject) -> None:
    policy, _, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    up_to = data.draw(st.one_of(st.none(), st.integers(0, len(records))), label="up_to")
    got = factor_contributions(
        policy, ledger_table(records), as_of, disputes=disputes_table(disputes), up_to=up_to
    )
    prefix = [r for r in records if up_to is None or r.seq <= up_to]
    corrected = corrected_seqs(prefix)
    kinds = {k for f in policy.factors for k in f.kinds}
    # every factor of every person with a live record of a kind the policy scores
    scored = {
        r.person for r in prefix if r.kind in kinds and is_live(r, as_of, corrected, disputes)
    }
    want = {
        (p, f.factor.id): f
        for p in scored
        for f in score_person(policy, p, prefix, as_of, disputes).factors
    }
    rows = {(r["person"], r["factor"]): r for r in got.to_pylist()}
    assert got.num_rows == len(rows), "one row per person and factor"
    assert rows.keys() == want.keys()
    for key, f in want.items():
        # summed in another order: the error is bounded by the magnitudes summed
        scale = 1.0 + sum(abs(points) for _, points in f.records)
        assert abs(rows[key]["contribution"] - f.contribution) <= 1e-9 * scale, (key, f)


# (5): what-if ----------------------------------------------------------------------------------
def retraction(record: Record, seq: int) -> Record:
    """The retraction a provider would file for ``record``."""
    return replace(record, seq=seq, ref=f"r{seq}", action=Action.RETRACT, target=record.seq)


@settings(FAST, max_examples=150)
@given(scenarios(), st.data())
def test_what_if_equals_the_oracle_on_the_changed_ledger(
    scenario: tuple, data: st.DataObject
) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    next_seq = len(records) + 1
    corrected = {r.target for r in records if r.target is not None}
    # What a provider could still retract: neither a retraction nor corrected already.
    for record in records:
        if record.action is Action.RETRACT or record.seq in corrected:
            continue
        person = record.person
        want = score_person(
            policy, person, [*records, retraction(record, next_seq)], as_of, disputes
        )
        for change in ({"retract": [record.seq]}, {"expire": [record.seq]}):
            result = what_if(policy, person, records, as_of, disputes=disputes, **change)
            assert result.before == score_person(policy, person, records, as_of, disputes)
            assert close(result.after.raw, want.raw), (record, change, result.after.raw, want)
            assert near_half(want.raw) or result.after.score == want.score

    person = data.draw(st.sampled_from(persons), label="person")
    added = [  # a what-if refuses dates after both today and as_of, as ingestion would
        Record(0, org=ORG, ref=f"h{i}", **{**content, "occurred": min(content["occurred"], as_of)})
        for i, content in enumerate(
            data.draw(
                st.lists(contents(person, as_of, policy), min_size=1, max_size=2),
                label="added",
            )
        )
    ]
    try:
        result = what_if(policy, person, records, as_of, disputes=disputes, add=added)
    except HypotheticalError as exc:
        # ingestion's own checks: a record dated before the person could have it, or after
        # the date scored, is refused
        reasons = ("the person was", "before the person was born", "is in the future")
        assert any(reason in str(exc) for reason in reasons), exc
        reject()
    filed = [replace(r, seq=next_seq + i) for i, r in enumerate(added)]
    want = score_person(policy, person, [*records, *filed], as_of, disputes)
    assert close(result.after.raw, want.raw), (result.after.raw, want.raw)
    assert near_half(want.raw) or result.after.score == want.score
    assert result.delta == result.after.score - result.before.score
    assert len(result.changes) == len(added)

    with pytest.raises(ValueError, match="has no record"):
        what_if(policy, person, records, as_of, retract=[next_seq])
    others = [r for r in records if r.person != person]
    if others:
        with pytest.raises(ValueError, match="has no record"):
            what_if(policy, person, records, as_of, expire=[others[0].seq])
