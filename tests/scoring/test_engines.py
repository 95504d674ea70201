"""Every engine against the oracle: random policies, random ledgers, the same scores.

The reference function (:mod:`opencredit.scoring.reference`) is the judge. The DuckDB batch
engine, the incremental engine (factor state kept in a real SQLite store) and the what-if of
:mod:`opencredit.scoring.explain` must give its unrounded score within 1e-6 relative, and its
rounded score away from .5 boundaries (DESIGN.md, "Reference scoring semantics").
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
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
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS, Action, Dispute, Record
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import RECORD_SCHEMA, SCORE_SCHEMA, Organisation
from opencredit.policies.model import Policy
from opencredit.registry import make_org_code, make_resident_id
from opencredit.scoring.batch import factor_contributions, score_population
from opencredit.scoring.explain import what_if
from opencredit.scoring.incremental import IncrementalEngine, term_maker
from opencredit.scoring.reference import corrected_seqs, is_live, score_all, score_person

from .tables import close, disputes_table, ledger_table, near_half, persons_table

T0 = dt.date(2025, 6, 30)
ORG = make_org_code("110101", 1)
KIND_IDS = [k.id for k in KINDS]
#: A few categories, so that factors limited to categories often meet matching purchases.
CATEGORIES = ["groceries", "electronics", "video_games", "lottery", "books"]

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# strategies ---------------------------------------------------------------------------------
# Built once: Hypothesis validates a strategy on first use, which costs more than drawing.
AS_OF = st.one_of(st.just(T0), st.integers(-500, 90).map(lambda d: T0 + dt.timedelta(d)))
POINTS = st.one_of(
    st.integers(-100, 100).map(float), st.floats(-100, 100, allow_nan=False), st.just(0.0)
)
PER_UNIT = st.one_of(st.just(0.0), st.floats(-2, 2, allow_nan=False))
HALF_LIFE = st.one_of(st.none(), st.sampled_from([30.0, 365.0]), st.floats(0.5, 3000))
WINDOW = st.one_of(st.none(), st.sampled_from([30, 365]), st.integers(1, 2000))
_BOUND = st.one_of(st.integers(-300, 300).map(float), st.floats(-300, 300))
#: Wide bounds that rarely clip, or random ones: both > 0 and both < 0 included.
BOUNDS = st.one_of(st.just((-1e4, 1e4)), st.tuples(_BOUND, _BOUND).map(sorted))
KIND_LISTS = st.lists(st.sampled_from(KIND_IDS), min_size=1, max_size=3, unique=True)
CATEGORY_LISTS = st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)
ACTIONS = st.sampled_from([Action.FILE] * 3 + [Action.AMEND, Action.RETRACT])
#: Values in each kind's range (capped at 1e4 so sums stay well inside float precision).
VALUES = {
    k.id: st.one_of(
        st.sampled_from([k.min_value, min(k.max_value, 1e4)]),
        st.floats(k.min_value, min(k.max_value, 1e4)),
        st.integers(math.ceil(k.min_value), min(math.floor(k.max_value), 100)).map(float),
    )
    for k in KINDS
    if k.unit is not None
}
WIDTH = st.integers(1, 50)
DISPUTE_AGE = st.one_of(st.integers(-30, 400), st.sampled_from([29, 30, 31, 32]))
RESOLVED_AFTER = st.one_of(st.none(), st.integers(0, 400))

residents = st.builds(
    make_resident_id,
    st.sampled_from(["110101", "310104", "440305", "510107"]),
    st.dates(dt.date(1940, 1, 1), dt.date(2006, 12, 31)),
    st.integers(0, 999),
)


@functools.cache
def days_before(edges: tuple[int, ...]) -> st.SearchStrategy[int]:
    """Ages at as_of: recent, beyond the longest retention, a little in the future, and often
    exactly on a boundary (one of ``edges``)."""
    on_edge = st.sampled_from(edges)
    return st.one_of(st.integers(-30, 400), st.integers(-90, 2300), on_edge, on_edge)


def edges_of(kind: str, policy: Policy | None) -> tuple[int, ...]:
    """The ages where a record of ``kind`` starts or stops counting: the kind's retention and
    the windows of the factors scoring it, the day on and the day after (and the dispute
    deadline, and the as-of date itself)."""
    days = {KINDS_BY_ID[kind].retention_days, DISPUTE_DEADLINE_DAYS}
    if policy is not None:
        days |= {f.window_days for f in policy.factors if kind in f.kinds}
    return tuple(sorted({-1, 0, *(d + i for d in days if d is not None for i in (0, 1))}))


def pick(draw: st.DrawFn, items: Sequence):
    """One of ``items`` (cheaper than building a sampled_from for every draw)."""
    return items[draw(st.integers(0, len(items) - 1))]


@st.composite
def factors(draw: st.DrawFn, index: int) -> dict:
    kinds = draw(KIND_LISTS)
    categories = draw(CATEGORY_LISTS) if kinds == ["purchase"] and draw(st.booleans()) else []
    low, high = draw(BOUNDS)
    return {
        "id": f"f{index}",
        "kinds": kinds,
        "categories": categories,
        "per_record": draw(POINTS),
        "per_unit": draw(PER_UNIT),
        "half_life_days": draw(HALF_LIFE),
        "window_days": draw(WINDOW),
        "min": low,
        "max": high,
        "reason": f"reason {index}",
    }


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Random valid policies; most have a range wide enough that factors show in the score."""
    low = draw(st.integers(-500, 500))
    high = low + (draw(st.integers(500, 3000)) if draw(st.integers(0, 3)) else draw(WIDTH))
    cuts = sorted(draw(st.lists(st.integers(low + 1, high), max_size=4, unique=True)))
    edges = [low, *cuts, high + 1]
    bands = [
        {"name": f"b{i}", "min": a, "max": b - 1}
        for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]
    inside = st.one_of(st.floats(low, high), st.integers(low, high).map(float))
    base = draw(inside if draw(st.integers(0, 3)) else st.floats(low - 200, high + 200))
    return Policy.model_validate(
        {
            "id": "random",
            "version": draw(st.integers(1, 3)),
            "name": "A random policy",
            "range": [low, high],
            "base": base,
            "purposes": ["testing"],
            "bands": draw(st.permutations(bands)),
            "factors": [draw(factors(i)) for i in range(draw(st.integers(1, 5)))],
        }
    )


@st.composite
def contents(
    draw: st.DrawFn,
    person: str,
    as_of: dt.date,
    policy: Policy | None = None,
    kinds: Sequence[str] = (),
) -> dict:
    """What a filed record or an amendment says: kind (often one of ``kinds``, or of the
    policy's), date (often on a boundary of the policy), value and category."""
    kinds = kinds or sorted({k for f in policy.factors for k in f.kinds} if policy else ())
    kind = KINDS_BY_ID[pick(draw, kinds) if kinds and draw(st.booleans()) else pick(draw, KIND_IDS)]
    return {
        "person": person,
        "kind": kind.id,
        "occurred": as_of - dt.timedelta(draw(days_before(edges_of(kind.id, policy)))),
        "value": draw(VALUES[kind.id]) if kind.unit is not None else None,
        "category": pick(draw, CATEGORIES) if kind.needs_category else None,
    }


@st.composite
def ledgers(
    draw: st.DrawFn,
    persons: Sequence[str],
    as_of: dt.date,
    policy: Policy | None = None,
    *,
    batched: bool = False,
) -> list[list[Record]]:
    """A ledger as batches of records, seq 1..n in order, mostly of kinds ``policy`` scores,
    dated around ``as_of``.

    Amendments (full new content, same person) and retractions (the target's content) correct
    earlier records that are neither retractions nor corrected already, amendments included;
    with ``batched`` only records of earlier batches, as ingestion requires.
    """
    batches: list[list[Record]] = []
    records: list[Record] = []
    corrected: set[int] = set()
    for _ in range(draw(st.integers(1, 4))):
        pool = records[:] if batched else records
        batch = []
        for _ in range(draw(st.integers(0, 10))):
            seq = len(records) + 1
            targets = [r for r in pool if r.action is not Action.RETRACT and r.seq not in corrected]
            action = draw(ACTIONS) if targets else Action.FILE
            if action is Action.FILE:
                content = draw(contents(pick(draw, persons), as_of, policy))
                record = Record(seq, org=ORG, ref=f"r{seq}", **content)
            else:
                target = pick(draw, targets)
                corrected.add(target.seq)
                if action is Action.AMEND:
                    content = draw(contents(target.person, as_of, policy, [target.kind]))
                    target = replace(target, **content)  # full new content, same person
                record = replace(target, seq=seq, ref=f"r{seq}", action=action, target=target.seq)
            records.append(record)
            batch.append(record)
        batches.append(batch)
    return batches


@st.composite
def disputes_of(
    draw: st.DrawFn, records: Sequence[Record], as_of: dt.date
) -> dict[int, list[Dispute]]:
    """Disputes of some records: opened either side of the 30-day deadline, maybe resolved."""
    out: dict[int, list[Dispute]] = {}
    for _ in range(draw(st.integers(0, 6)) if records else 0):
        seq = pick(draw, records).seq
        opened = as_of - dt.timedelta(draw(DISPUTE_AGE))
        after = draw(RESOLVED_AFTER)
        resolved = None if after is None else opened + dt.timedelta(after)
        out.setdefault(seq, []).append(Dispute(seq, opened, resolved))
    return out


def turning_points(
    policy: Policy, records: Sequence[Record], disputes: Mapping[int, Sequence[Dispute]]
) -> tuple[list[dt.date], list[dt.date]]:
    """Dates on which some record starts or stops counting, and the days either side: when it
    happens, leaves its retention period or a factor's window (first list), or a dispute of
    it turns overdue or is resolved (second list)."""
    days = set()
    for r in records:
        retention = KINDS_BY_ID[r.kind].retention_days
        ages = [0, retention, *(f.window_days for f in policy.factors if r.kind in f.kinds)]
        days |= {r.occurred + dt.timedelta(a) for a in ages if a is not None}
    overdue = set()
    for group in disputes.values():
        for d in group:
            overdue |= {d.opened + dt.timedelta(DISPUTE_DEADLINE_DAYS), d.resolved or d.opened}

    def around(ds: set[dt.date]) -> list[dt.date]:
        return sorted({day + dt.timedelta(i) for day in ds for i in (-1, 0, 1)})

    return around(days), around(overdue)


@st.composite
def scenarios(draw: st.DrawFn, *, batched: bool = False) -> tuple:
    """(policy, persons, batches of records, disputes by seq, as_of)."""
    policy = draw(policies())
    persons = draw(st.lists(residents, min_size=1, max_size=4, unique=True))
    anchor = draw(AS_OF)
    batches = draw(ledgers(persons, anchor, policy, batched=batched))
    records = [r for b in batches for r in b]
    disputes = draw(disputes_of(records, anchor))
    # One more person who never has a record: they still get a score.
    loner = draw(residents.filter(lambda p: p not in persons))
    # Score at the anchor, or on a day when something starts or stops counting.
    choices = [[anchor], *filter(None, turning_points(policy, records, disputes))]
    as_of = pick(draw, pick(draw, choices))
    return policy, [*persons, loner], batches, disputes, as_of


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
@settings(FAST, max_examples=150)
@given(scenarios())
def test_batch_engine_gives_the_oracle_scores(scenario: tuple) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    got = score_population(
        policy,
        ledger_table(records),
        persons_table(persons),
        as_of,
        disputes=disputes_table(disputes),
    )
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
    turns = [day for days in turning_points(policy, records, disputes) for day in days]
    picked = st.lists(st.sampled_from(turns), max_size=8) if turns else st.just([])
    dates = [as_of, *data.draw(picked, label="dates")]
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
            # a full rebuild from the exported ledger gives the same state, so the same scores
            state = factor_state(store, policy, persons)
            exported = pa.Table.from_batches(list(store.export_records()), schema=RECORD_SCHEMA)
            assert exported.equals(ledger_table(records))
            assert engine.rebuild_state(policy, exported) == sum(map(len, state.values()))
            assert factor_state(store, policy, persons) == state
            assert_incremental_scores(engine, policy, persons, records, dates[:2], disputes)
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
    added = [
        Record(0, org=ORG, ref=f"h{i}", **content)
        for i, content in enumerate(
            data.draw(
                st.lists(contents(person, as_of, policy), min_size=1, max_size=2),
                label="added",
            )
        )
    ]
    result = what_if(policy, person, records, as_of, disputes=disputes, add=added)
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
