"""Every engine against the oracle: random policies, random ledgers, the same scores.

The reference function (:mod:`opencredit.scoring.reference`) is the judge. The DuckDB batch
engine, the incremental engine (factor state kept in a real SQLite store) and the what-if of
:mod:`opencredit.scoring.explain` must give its unrounded score within 1e-6 relative, and its
rounded score away from .5 boundaries (DESIGN.md, "Reference scoring semantics").
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS, KINDS_BY_ID
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import PERSON_SCHEMA, RECORD_SCHEMA, Organisation
from opencredit.policies.model import Policy
from opencredit.registry import make_org_code, make_resident_id, parse_resident_id
from opencredit.scoring.batch import DISPUTE_SCHEMA, factor_contributions, score_population
from opencredit.scoring.explain import what_if
from opencredit.scoring.incremental import IncrementalEngine, term_maker
from opencredit.scoring.reference import corrected_seqs, is_live, score_all, score_person

T0 = dt.date(2025, 6, 30)
ORG = make_org_code("110101", 1)
KIND_IDS = [k.id for k in KINDS]
#: A few categories, so that factors limited to categories often meet matching purchases.
CATEGORIES = ["groceries", "electronics", "video_games", "lottery", "books"]
#: Days before T0 where something changes: retention periods, the dispute deadline, windows.
EDGE_OFFSETS = [-1, 0, 1, 29, 30, 31, 364, 365, 366, 1094, 1095, 1096, 1824, 1825, 1826]

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# strategies ---------------------------------------------------------------------------------
def days_before_t0() -> st.SearchStrategy[int]:
    """Offsets into the past of T0, beyond the longest retention, and a little into the future."""
    return st.one_of(st.integers(-90, 2300), st.sampled_from(EDGE_OFFSETS))


def as_of_dates() -> st.SearchStrategy[dt.date]:
    return st.one_of(st.just(T0), st.integers(-800, 120).map(lambda d: T0 + dt.timedelta(d)))


def points() -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.integers(-100, 100).map(float),
                     st.floats(-100, 100, allow_nan=False))


@st.composite
def factors(draw: st.DrawFn, index: int) -> dict:
    kinds = draw(st.lists(st.sampled_from(KIND_IDS), min_size=1, max_size=3, unique=True))
    categories: list[str] = []
    if kinds == ["purchase"] and draw(st.booleans()):
        categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3,
                                   unique=True))
    bound = st.one_of(st.integers(-300, 300).map(float), st.floats(-300, 300))
    low, high = sorted((draw(bound), draw(bound)))  # may be both > 0 or both < 0
    return {
        "id": f"f{index}",
        "kinds": kinds,
        "categories": categories,
        "per_record": draw(points()),
        "per_unit": draw(st.one_of(st.just(0.0), st.floats(-2, 2, allow_nan=False))),
        "half_life_days": draw(st.one_of(st.none(), st.sampled_from([30.0, 365.0]),
                                         st.floats(0.5, 3000))),
        "window_days": draw(st.one_of(st.none(), st.sampled_from([30, 365]),
                                      st.integers(1, 2000))),
        "min": low,
        "max": high,
        "reason": f"reason {index}",
    }


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    n = draw(st.integers(1, 5))
    low = draw(st.integers(-500, 500))
    high = low + draw(st.integers(1, 1200))
    cuts = sorted(draw(st.lists(st.integers(low + 1, high), max_size=4, unique=True)))
    edges = [low, *cuts, high + 1]
    bands = [{"name": f"b{i}", "min": a, "max": b - 1}
             for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))]
    return Policy.model_validate({
        "id": "random",
        "version": draw(st.integers(1, 3)),
        "name": "A random policy",
        "range": [low, high],
        "base": draw(st.one_of(st.floats(low - 200, high + 200),
                               st.integers(low, high).map(float))),
        "purposes": ["testing"],
        "bands": draw(st.permutations(bands)),
        "factors": [draw(factors(i)) for i in range(n)],
    })


residents = st.builds(
    make_resident_id,
    st.sampled_from(["110101", "310104", "440305", "510107"]),
    st.dates(dt.date(1940, 1, 1), dt.date(2006, 12, 31)),
    st.integers(0, 999),
)


@st.composite
def contents(draw: st.DrawFn, person: str, kinds: Sequence[str] = ()) -> dict:
    """What a filed record or an amendment says: kind (often one of ``kinds``), date, value
    and category."""
    likely = [st.sampled_from(kinds)] if kinds else []
    kind = KINDS_BY_ID[draw(st.one_of(*likely, st.sampled_from(KIND_IDS)))]
    value = None
    if kind.unit is not None:
        low, high = kind.min_value, min(kind.max_value, 1e4)
        value = draw(st.one_of(st.sampled_from([low, high]), st.floats(low, high),
                               st.integers(math.ceil(low), math.floor(high)).map(float)))
    return {
        "person": person,
        "kind": kind.id,
        "occurred": T0 - dt.timedelta(draw(days_before_t0())),
        "value": value,
        "category": draw(st.sampled_from(CATEGORIES)) if kind.needs_category else None,
    }


@st.composite
def ledgers(draw: st.DrawFn, persons: Sequence[str], kinds: Sequence[str] = (), *,
            batched: bool = False) -> list[list[Record]]:
    """A ledger as batches of records, seq 1..n in order, mostly of ``kinds``.

    Amendments (full new content, same person) and retractions (the target's content) correct
    earlier records that are neither retractions nor corrected already, amendments included;
    with ``batched`` only records of earlier batches, as ingestion requires.
    """
    batches: list[list[Record]] = []
    records: list[Record] = []
    corrected: set[int] = set()
    for _ in range(draw(st.integers(1, 4))):
        earlier = len(records) if batched else None
        batch = []
        for _ in range(draw(st.integers(0, 10))):
            seq = len(records) + 1
            pool = records if earlier is None else records[:earlier]
            targets = [r for r in pool if r.action is not Action.RETRACT and r.seq not in corrected]
            action = draw(st.sampled_from([Action.FILE] * 3 + [Action.AMEND, Action.RETRACT])
                          if targets else st.just(Action.FILE))
            if action is Action.FILE:
                content = draw(contents(draw(st.sampled_from(persons)), kinds))
                record = Record(seq, org=ORG, ref=f"r{seq}", **content)
            else:
                target = draw(st.sampled_from(targets))
                corrected.add(target.seq)
                base = target if action is Action.RETRACT else Record(
                    seq, org=ORG, ref="", **draw(contents(target.person, [target.kind])))
                record = replace(base, seq=seq, ref=f"r{seq}", action=action, target=target.seq)
            records.append(record)
            batch.append(record)
        batches.append(batch)
    return batches


@st.composite
def disputes_of(draw: st.DrawFn, records: Sequence[Record]) -> dict[int, list[Dispute]]:
    """Disputes of some records: opened either side of the 30-day deadline, maybe resolved."""
    out: dict[int, list[Dispute]] = {}
    if not records:
        return out
    for seq in draw(st.lists(st.sampled_from([r.seq for r in records]), max_size=6)):
        opened = T0 - dt.timedelta(draw(st.one_of(st.integers(-30, 400),
                                                  st.sampled_from([29, 30, 31, 32]))))
        resolved = draw(st.one_of(st.none(), st.integers(0, 400).map(
            lambda d, o=opened: o + dt.timedelta(d))))
        out.setdefault(seq, []).append(Dispute(seq, opened, resolved))
    return out


@st.composite
def scenarios(draw: st.DrawFn, *, batched: bool = False) -> tuple:
    """(policy, persons, batches of records, disputes by seq, as_of)."""
    policy = draw(policies())
    kinds = sorted({k for f in policy.factors for k in f.kinds})
    persons = draw(st.lists(residents, min_size=1, max_size=4, unique=True))
    batches = draw(ledgers(persons, kinds, batched=batched))
    records = [r for b in batches for r in b]
    # One more person who never has a record: they still get a score.
    loner = draw(residents.filter(lambda p: p not in persons))
    return policy, [*persons, loner], batches, draw(disputes_of(records)), draw(as_of_dates())


# helpers ------------------------------------------------------------------------------------
def ledger_table(records: Sequence[Record]) -> pa.Table:
    """Records as the store exports them (RECORD_SCHEMA)."""
    cols = {name: [getattr(r, name) for r in records] for name in RECORD_SCHEMA.names}
    cols["action"] = [str(a) for a in cols["action"]]
    return pa.table(cols, schema=RECORD_SCHEMA)


def persons_table(persons: Sequence[str]) -> pa.Table:
    ids = [parse_resident_id(p) for p in persons]
    return pa.table({"id": [i.value for i in ids], "region": [i.region for i in ids],
                     "birth_date": [i.birth_date for i in ids], "sex": [i.sex for i in ids]},
                    schema=PERSON_SCHEMA)


def disputes_table(disputes: Mapping[int, Sequence[Dispute]]) -> pa.Table:
    ds = [d for group in disputes.values() for d in group]
    return pa.table({"seq": [d.seq for d in ds], "opened": [d.opened for d in ds],
                     "resolved": [d.resolved for d in ds]}, schema=DISPUTE_SCHEMA)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def near_half(raw: float) -> bool:
    """True if ``raw`` is within 1e-6 of a .5 boundary, where engines may round apart."""
    return abs(abs(raw) - math.floor(abs(raw)) - 0.5) <= 1e-6


def assert_matches_oracle(policy: Policy, oracle: Mapping[str, object], got: pa.Table) -> None:
    """``got`` (person, raw, score, band) agrees with oracle ScoreResults, person by person."""
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
@settings(FAST, max_examples=150)
@given(scenarios())
def test_batch_engine_gives_the_oracle_scores(scenario: tuple) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    got = score_population(policy, ledger_table(records), persons_table(persons), as_of,
                           disputes=disputes_table(disputes))
    oracle = {p: score_person(policy, p, records, as_of, disputes) for p in persons}
    assert_matches_oracle(policy, oracle, got)
    # score_all is the same oracle, person by person
    for person, raw in score_all(policy, persons, records, as_of, disputes).items():
        assert raw == oracle[person].raw


@settings(FAST, max_examples=100)
@given(scenarios(), st.data())
def test_batch_engine_respects_the_ledger_prefix(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    up_to = data.draw(st.integers(0, len(records)), label="up_to")
    got = score_population(policy, ledger_table(records), persons_table(persons), as_of,
                           disputes=disputes_table(disputes), up_to=up_to)
    prefix = [r for r in records if r.seq <= up_to]
    oracle = {p: score_person(policy, p, prefix, as_of, disputes) for p in persons}
    for p in persons:
        assert score_person(policy, p, records, as_of, disputes, up_to=up_to) == oracle[p]
    assert_matches_oracle(policy, oracle, got)


# (3): the incremental engine over a real store -------------------------------------------------
def open_store(directory: str, persons: Sequence[str]) -> SQLiteStore:
    store = SQLiteStore(Path(directory) / "ledger.sqlite")
    store.add_persons(persons_table(persons))
    store.add_organisation(Organisation(ORG, "Test provider", tuple(sorted({k.domain.value for k in KINDS}))))
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


@settings(FAST, max_examples=40)
@given(scenarios(batched=True), st.lists(as_of_dates(), min_size=1, max_size=3))
def test_incremental_engine_gives_the_oracle_scores(scenario: tuple, dates: list) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(directory, persons)
        try:
            engine = IncrementalEngine(store, [policy])
            for batch in batches:
                receipt = store.append(ORG, "test", append_rows(batch),
                                       terms=term_maker([policy]))
                if batch:
                    assert (receipt.first_seq, receipt.last_seq) == (batch[0].seq, batch[-1].seq)
                # the state is current as soon as the batch is in: no rebuild needed
                up_to = store.max_seq()
                for p in persons:
                    want = score_person(policy, p, records, as_of, up_to=up_to)
                    raw, score = engine.score(policy, p, as_of)
                    assert close(raw, want.raw), (p, raw, want.raw)
                    assert near_half(want.raw) or score == want.score
            file_disputes(store, disputes)
            state = {p: sorted(store.terms_for(policy.key, p).to_pylist(),
                               key=lambda t: (t["factor"], t["seq"])) for p in persons}
            for t in [as_of, *dates]:
                for p in persons:
                    want = score_person(policy, p, records, t, disputes)
                    raw, score = engine.score(policy, p, t)
                    assert close(raw, want.raw), (p, t, raw, want.raw)
                    assert near_half(want.raw) or score == want.score
            # a full rebuild from the exported ledger gives the same state and the same scores
            exported = pa.Table.from_batches(list(store.export_records()), schema=RECORD_SCHEMA)
            assert exported.equals(ledger_table(records))
            engine.rebuild_state(policy, exported)
            for p in persons:
                rebuilt = sorted(store.terms_for(policy.key, p).to_pylist(),
                                 key=lambda t: (t["factor"], t["seq"]))
                assert rebuilt == state[p]
                want = score_person(policy, p, records, as_of, disputes)
                assert close(engine.score(policy, p, as_of)[0], want.raw)
        finally:
            store.close()


# (4): per-factor contributions ---------------------------------------------------------------
@settings(FAST, max_examples=100)
@given(scenarios(), st.data())
def test_factor_contributions_match_the_oracle(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    up_to = data.draw(st.one_of(st.none(), st.integers(0, len(records))), label="up_to")
    got = factor_contributions(policy, ledger_table(records), as_of,
                               disputes=disputes_table(disputes), up_to=up_to)
    prefix = [r for r in records if up_to is None or r.seq <= up_to]
    corrected = corrected_seqs(prefix)
    kinds = {k for f in policy.factors for k in f.kinds}
    # every factor of every person with a live record of a kind the policy scores
    scored = {r.person for r in prefix
              if r.kind in kinds and is_live(r, as_of, corrected, disputes)}
    want = {(p, f.factor.id): f
            for p in scored for f in score_person(policy, p, prefix, as_of, disputes).factors}
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


@settings(FAST, max_examples=100)
@given(scenarios(), st.data())
def test_what_if_equals_the_oracle_on_the_changed_ledger(scenario: tuple,
                                                         data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    person = data.draw(st.sampled_from(persons), label="person")
    own = [r for r in records if r.person == person]
    next_seq = len(records) + 1
    corrected = {r.target for r in records if r.target is not None}
    # Only what a provider could still retract: not a retraction, not corrected already.
    open_records = [r for r in own if r.action is not Action.RETRACT and r.seq not in corrected]
    amendments = [r for r in open_records if r.action is Action.AMEND]
    if amendments and data.draw(st.booleans(), label="retract an amendment"):
        open_records = amendments  # whose target must stay superseded
    if open_records:
        record = data.draw(st.sampled_from(open_records), label="retracted")
        result = what_if(policy, person, records, as_of, disputes=disputes, retract=[record.seq])
        assert result.before == score_person(policy, person, records, as_of, disputes)
        want = score_person(policy, person, [*records, retraction(record, next_seq)], as_of,
                            disputes)
        assert close(result.after.raw, want.raw), (record, result.after.raw, want.raw)
        assert near_half(want.raw) or result.after.score == want.score
        expired = what_if(policy, person, records, as_of, disputes=disputes,
                          expire=[record.seq])
        assert close(expired.after.raw, want.raw), (record, expired.after.raw, want.raw)

    kinds = [k for f in policy.factors for k in f.kinds]
    new = Record(0, org=ORG, ref="hypothetical", **data.draw(contents(person, kinds),
                                                             label="added"))
    result = what_if(policy, person, records, as_of, disputes=disputes, add=[new])
    want = score_person(policy, person, [*records, replace(new, seq=next_seq)], as_of, disputes)
    assert close(result.after.raw, want.raw)
    assert near_half(want.raw) or result.after.score == want.score
    assert result.delta == result.after.score - result.before.score

    with pytest.raises(ValueError, match="has no record"):
        what_if(policy, person, records, as_of, retract=[next_seq])
    others = [r for r in records if r.person != person]
    if others:
        with pytest.raises(ValueError, match="has no record"):
            what_if(policy, person, records, as_of, retract=[others[0].seq])
