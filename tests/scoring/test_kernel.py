"""The engines over the columnar copy against the oracle: random policies, random ledgers.

The compiled kernel, the DuckDB query over the segments and the state re-score must give the
reference function's scores (docs/scoring.md: unrounded within 1e-6 relative, rounded away
from .5), with corrections and disputes, on a copy kept by filing, with or without compaction.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS
from opencredit.ledger.columnar import ColumnarCopy
from opencredit.ledger.person_keys import to_ids
from opencredit.ledger.records import Dispute, Record
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import Organisation
from opencredit.policies.model import Policy
from opencredit.registry import make_resident_id
from opencredit.scoring.rebuild import score_population
from opencredit.scoring.reference import score_person
from opencredit.scoring.rescore import ScoreState, needs_rebuild

from .strategies import ORG, POINTS, days_to_score, scenarios, turning_points
from .tables import close, ledger_table, near_half, persons_table

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60)


def filed(
    directory: str,
    persons: Sequence[str],
    batches: Sequence[Sequence[Record]],
    disputes: Mapping[int, Sequence[Dispute]],
) -> tuple[SQLiteStore, ColumnarCopy]:
    """A store with the batches filed one by one, the copy kept as filing keeps it."""
    store = SQLiteStore(Path(directory) / "ledger.sqlite")
    store.add_persons(persons_table(persons))
    domains = tuple(sorted({k.domain.value for k in KINDS}))
    store.add_organisation(Organisation(ORG, "Test provider", domains))
    copy = ColumnarCopy(Path(directory) / "columnar")
    copy.add_persons(pa.array(persons), store)
    for batch in batches:
        before = store.max_seq()
        store.append(ORG, "test", ledger_table(batch).drop_columns(["seq", "org"]))
        for records in store.export_records(after=before):
            copy.append(pa.Table.from_batches([records]), store)
    for seq, group in disputes.items():
        for d in group:
            dispute_id = store.add_dispute(seq, d.opened, "not mine")
            if d.resolved is not None:
                store.resolve_dispute(dispute_id, d.resolved, "verified")
    return store, copy


def assert_scores(
    policy: Policy,
    persons: Sequence[str],
    records: Sequence[Record],
    disputes: Mapping[int, Sequence[Dispute]],
    day: dt.date,
    keys: object,
    raw: object,
    score: object,
) -> None:
    ids = to_ids(keys).to_pylist()
    assert sorted(ids) == sorted(persons), "every registered person exactly once"
    for i, person in enumerate(ids):
        want = score_person(policy, person, records, day, disputes)
        assert close(raw[i, 0], want.raw), (person, day, raw[i, 0], want.raw)
        assert near_half(want.raw) or score[i, 0] == want.score, (person, day, score[i, 0])


@FAST
@given(scenarios(batched=True), st.data())
def test_kernel_and_duckdb_give_the_oracle_scores(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    other = data.draw(days_to_score(policy, records, disputes, as_of), label="other day")
    with tempfile.TemporaryDirectory() as tmp:
        store, copy = filed(tmp, persons, batches, disputes)
        if data.draw(st.booleans(), label="compacted"):
            copy.compact()
        copy.sync(store)
        filed_disputes = store.disputes()
        for engine in ("kernel", "duckdb"):
            for day in dict.fromkeys([as_of, other]):
                with copy.reading() as manifest:
                    run = score_population(copy, manifest, [policy], day, filed_disputes, engine)
                assert run.up_to == len(records)
                assert_scores(policy, persons, records, disputes, day, *_arrays(run))
        store.close()


def _arrays(run: object) -> tuple:
    return run.persons, run.raw, run.score  # type: ignore[attr-defined]


@FAST
@given(scenarios(batched=True), st.data())
def test_state_rescores_later_days_as_the_oracle(scenario: tuple, data: st.DataObject) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    per_record, per_dispute = turning_points(policy, records, disputes)
    later = sorted({d for turns in [*per_record, *per_dispute] for d in turns if d >= as_of})
    days = [
        as_of,
        *data.draw(st.lists(st.sampled_from(later), max_size=6) if later else st.just([])),
    ]
    days.append(as_of + dt.timedelta(data.draw(st.integers(0, 4000), label="far")))
    note(f"{policy!r}\n{batches!r}\n{disputes!r}\n{as_of}")
    with tempfile.TemporaryDirectory() as tmp:
        store, copy = filed(tmp, persons, batches, disputes)
        with copy.reading() as manifest:
            state = ScoreState.build(copy, manifest, [policy], as_of, store.disputes())
        state.save(Path(tmp) / "state")
        state = ScoreState.load(Path(tmp) / "state")
        assert state is not None and state.current(len(records), store.disputes())
        for day in days:
            assert_scores(policy, persons, records, disputes, day, *state.rescore([policy], day))
        store.close()


@st.composite
def repriced(draw: st.DrawFn, policy: Policy) -> Policy:
    """``policy`` with new points, bounds and base: what the state re-scores without records."""
    factors = []
    for f in policy.factors:
        low, high = sorted(draw(st.tuples(st.floats(-300, 300), st.floats(-300, 300))))
        factors.append(
            f.model_copy(
                update={
                    "per_record": draw(POINTS),
                    "per_unit": draw(POINTS),
                    "min": low,
                    "max": high,
                }
            )
        )
    base = draw(st.floats(policy.low, policy.high))
    return policy.model_copy(update={"factors": factors, "base": base})


@FAST
@given(scenarios(batched=True), st.data())
def test_state_rescores_a_repriced_policy_as_the_oracle(
    scenario: tuple, data: st.DataObject
) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    new = data.draw(repriced(policy), label="repriced")
    assert not needs_rebuild(policy, new)
    day = as_of + dt.timedelta(data.draw(st.integers(0, 800), label="later"))
    with tempfile.TemporaryDirectory() as tmp:
        store, copy = filed(tmp, persons, batches, disputes)
        with copy.reading() as manifest:
            state = ScoreState.build(copy, manifest, [policy], as_of, store.disputes())
        assert_scores(new, persons, records, disputes, day, *state.rescore([new], day))
        store.close()


def test_needs_rebuild_names_what_the_state_cannot_answer() -> None:
    from opencredit.policies.model import PUBLISHED_DIR, load_policy

    old = load_policy(PUBLISHED_DIR / "lending.toml")
    f = old.factors[0]

    def with_factor(**changes: object) -> Policy:
        return old.model_copy(update={"factors": [f.model_copy(update=changes), *old.factors[1:]]})

    assert not needs_rebuild(old, old.model_copy(update={"base": 600.0}))
    assert not needs_rebuild(old, with_factor(per_record=99.0, max=999.0))
    for change in ({"half_life_days": 1.0}, {"window_days": 10}, {"kinds": ["speeding"]}):
        need = needs_rebuild(old, with_factor(**change))
        assert need and f.id in need.reason and next(iter(change)) in need.reason
    new_factor = f.model_copy(update={"id": "extra", "kinds": ["speeding"]})
    grown = old.model_copy(update={"factors": [*old.factors, new_factor]})
    assert needs_rebuild(old, grown).needed
    # a factor with the shape of an existing one is arithmetic on the state
    same_shape = f.model_copy(update={"id": "copy", "per_record": 1.0})
    assert not needs_rebuild(old, old.model_copy(update={"factors": [*old.factors, same_shape]}))


def test_state_refuses_a_day_before_its_reference() -> None:
    import pytest

    from opencredit.policies.model import PUBLISHED_DIR, load_policy

    policy = load_policy(PUBLISHED_DIR / "lending.toml")
    with tempfile.TemporaryDirectory() as tmp:
        person = make_resident_id("110101", dt.date(1990, 3, 7), 777)
        store, copy = filed(tmp, [person], [], {})
        day = dt.date(2026, 1, 1)
        with copy.reading() as manifest:
            state = ScoreState.build(copy, manifest, [policy], day, [])
        with pytest.raises(ValueError, match="before it"):
            state.rescore([policy], day - dt.timedelta(1))
        store.close()
