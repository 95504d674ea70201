"""The scoring semantics pinned by hand-computed numbers, through every engine.

Each case is small enough to work out on paper: fading by half-life, rounding half away from
zero, the retention, window and dispute-deadline boundaries, clipping, corrections and the
order of reasons. The reference function, the DuckDB batch query and the incremental engine's
term evaluation must all give the number worked out here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pyarrow.compute as pc
import pytest

from opencredit.catalog import KINDS_BY_ID
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.policies.model import Policy
from opencredit.registry import make_org_code, make_resident_id
from opencredit.scoring.batch import factor_contributions, score_population
from opencredit.scoring.explain import what_if
from opencredit.scoring.incremental import evaluate, make_terms
from opencredit.scoring.reference import round_half_away, score_person

from .tables import disputes_table, ledger_table, persons_table

T0 = dt.date(2025, 6, 30)
P = make_resident_id("110101", dt.date(1990, 1, 1), 1)
ORG = make_org_code("110101", 1)


def policy(*factors: dict, base: float = 500, low: int = 0, high: int = 1000) -> Policy:
    """A policy of ``factors`` (each gets an id, a reason and wide bounds unless given)."""
    mid = (low + high) // 2
    return Policy.model_validate(
        {
            "id": "pinned",
            "version": 1,
            "name": "Pinned",
            "range": [low, high],
            "base": base,
            "purposes": ["lending"],
            "bands": [
                {"name": "low", "min": low, "max": mid},
                {"name": "high", "min": mid + 1, "max": high},
            ],
            "factors": [
                {"id": f"f{i}", "reason": f"reason {i}", "min": -10_000, "max": 10_000, **f}
                for i, f in enumerate(factors)
            ],
        }
    )


def rec(
    seq: int,
    kind: str,
    age: int,
    value: float | None = None,
    *,
    category: str | None = None,
    action: Action = Action.FILE,
    target: int | None = None,
) -> Record:
    """Record ``seq`` of person P, of ``kind``, that happened ``age`` days before T0."""
    return Record(
        seq, P, kind, T0 - dt.timedelta(age), value, category, ORG, f"r{seq}", action, target
    )


def scores(
    pol: Policy,
    records: list[Record],
    as_of: dt.date = T0,
    disputes: dict[int, list[Dispute]] | None = None,
    up_to: int | None = None,
) -> dict[str, tuple[float, int]]:
    """(raw, score) of P from the reference, the batch engine and the incremental engine."""
    ref = score_person(pol, P, records, as_of, disputes, up_to=up_to)
    ledger = ledger_table(records)
    batch = score_population(
        pol, ledger, persons_table([P]), as_of, disputes=disputes_table(disputes), up_to=up_to
    ).to_pylist()
    assert [row["person"] for row in batch] == [P]
    prefix = ledger if up_to is None else ledger.filter(pc.less_equal(ledger["seq"], up_to))
    terms = make_terms(pol, prefix, whole_ledger=True)
    terms = terms.filter(pc.equal(terms["person"], P))
    flat = [d for group in (disputes or {}).values() for d in group]
    raw, _ = evaluate(pol, terms, as_of, flat)
    return {
        "reference": (ref.raw, ref.score),
        "batch": (batch[0]["raw"], batch[0]["score"]),
        "incremental": (raw, round_half_away(raw)),
    }


def assert_all(got: dict[str, tuple[float, int]], raw: float, score: int) -> None:
    for engine, (got_raw, got_score) in got.items():
        assert got_raw == pytest.approx(raw, rel=1e-12, abs=1e-12), engine
        assert got_score == score, engine


SPEEDING = {"kinds": ["speeding"], "per_record": -100, "min": -1000, "max": 0}


# fading ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("age", "raw", "score"), [(0, 400, 400), (30, 450, 450), (60, 475, 475), (120, 493.75, 494)]
)
def test_points_halve_every_half_life(age: int, raw: float, score: int) -> None:
    pol = policy({**SPEEDING, "half_life_days": 30})
    assert_all(scores(pol, [rec(1, "speeding", age, 20)]), raw, score)


def test_per_unit_points_fade_too() -> None:
    pol = policy(
        {
            "kinds": ["speeding"],
            "per_record": -10,
            "per_unit": -2,
            "half_life_days": 365,
            "min": -1000,
            "max": 0,
        }
    )
    # (-10 - 2 * 20) halved once: -25
    assert_all(scores(pol, [rec(1, "speeding", 365, 20)]), 475, 475)


# rounding -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("base", "score"),
    [
        (600.5, 601),
        (600.49, 600),
        (600.51, 601),
        (-600.5, -601),
        (-600.49, -600),
        (0.5, 1),
        (-0.5, -1),
        (2.5, 3),
        (-2.5, -3),
    ],
)
def test_rounding_is_half_away_from_zero(base: float, score: int) -> None:
    # No records: the raw score is the base, rounded by each engine (the batch one in SQL).
    pol = policy(SPEEDING, base=base, low=-1000, high=1000)
    assert_all(scores(pol, []), base, score)


def test_rounding_of_points_half_away_from_zero() -> None:
    pol = policy({"kinds": ["red_light"], "per_record": -0.25, "min": -10, "max": 0}, base=601)
    # 601 - 2 * 0.25 = 600.5 -> 601
    assert_all(scores(pol, [rec(1, "red_light", 3), rec(2, "red_light", 4)]), 600.5, 601)


# which records count --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "retention"), [("speeding", 1095), ("purchase", 365), ("loan_default", 1825)]
)
def test_a_record_counts_on_the_last_day_of_its_retention_and_not_after(
    kind: str, retention: int
) -> None:
    pol = policy({"kinds": [kind], "per_record": -100, "min": -1000, "max": 0})
    category = "groceries" if kind == "purchase" else None
    on_the_last_day = rec(1, kind, retention, 1.0, category=category)
    assert_all(scores(pol, [on_the_last_day]), 400, 400)
    assert_all(scores(pol, [rec(1, kind, retention + 1, 1.0, category=category)]), 500, 500)


def test_a_record_after_the_as_of_date_does_not_count_yet() -> None:
    pol = policy(SPEEDING)
    assert_all(scores(pol, [rec(1, "speeding", -1, 20)]), 500, 500)
    assert_all(scores(pol, [rec(1, "speeding", 0, 20)]), 400, 400)


def test_a_window_counts_records_up_to_its_length_in_days() -> None:
    pol = policy({**SPEEDING, "window_days": 30})
    assert_all(scores(pol, [rec(1, "speeding", 30, 20)]), 400, 400)
    assert_all(scores(pol, [rec(1, "speeding", 31, 20)]), 500, 500)


def test_categories_limit_a_factor_to_those_purchases() -> None:
    pol = policy(
        {"kinds": ["purchase"], "categories": ["lottery"], "per_record": -10, "min": -100, "max": 0}
    )
    bought = [
        rec(1, "purchase", 5, 10.0, category="lottery"),
        rec(2, "purchase", 5, 10.0, category="groceries"),
    ]
    assert_all(scores(pol, bought), 490, 490)


@pytest.mark.parametrize(
    ("opened_days_ago", "resolved_days_ago", "raw"),
    [
        (30, None, 400),  # day 30 of the dispute: still within the deadline, the record counts
        (31, None, 500),  # day 31 and unverified: suppressed
        (31, 0, 400),  # resolved on the as-of date: counts again
        (31, 5, 400),  # resolved before
        (31, -1, 500),  # resolved only after the as-of date: still suppressed at it
        (-3, None, 400),  # opened after the as-of date
    ],
)
def test_an_unverified_dispute_suppresses_the_record_after_30_days(
    opened_days_ago: int, resolved_days_ago: int | None, raw: float
) -> None:
    resolved = None if resolved_days_ago is None else T0 - dt.timedelta(resolved_days_ago)
    disputes = {1: [Dispute(1, T0 - dt.timedelta(opened_days_ago), resolved)]}
    assert_all(
        scores(policy(SPEEDING), [rec(1, "speeding", 40, 20)], disputes=disputes), raw, int(raw)
    )


# clipping -------------------------------------------------------------------------------------
def test_a_factor_is_clipped_to_its_bounds() -> None:
    pol = policy({**SPEEDING, "min": -150})
    assert_all(scores(pol, [rec(i, "speeding", i, 20) for i in (1, 2, 3)]), 350, 350)


@pytest.mark.parametrize(("low", "high", "raw"), [(1.25, 2.0, 501.25), (-3.0, -1.0, 499.0)])
def test_a_factor_without_records_contributes_zero_clipped_to_its_bounds(
    low: float, high: float, raw: float
) -> None:
    pol = policy({**SPEEDING, "min": low, "max": high})
    assert_all(scores(pol, []), raw, round_half_away(raw))
    # and so does a factor with records of another person only
    other = replace(
        rec(1, "speeding", 1, 20), person=make_resident_id("110101", dt.date(1990, 1, 1), 2)
    )
    assert_all(scores(pol, [other]), raw, round_half_away(raw))


def test_the_score_is_clipped_to_the_range() -> None:
    volunteering = {"kinds": ["volunteering"], "per_unit": 10, "min": 0, "max": 2000}
    assert_all(scores(policy(volunteering, base=950), [rec(1, "volunteering", 1, 100)]), 1000, 1000)
    assert_all(
        scores(policy({**SPEEDING, "per_record": -900}, base=50), [rec(1, "speeding", 1, 20)]), 0, 0
    )


# corrections and the ledger prefix ------------------------------------------------------------
def test_amendments_supersede_and_retractions_remove() -> None:
    pol = policy({"kinds": ["speeding"], "per_unit": -1, "min": -1000, "max": 0})
    filed = rec(1, "speeding", 10, 20)
    amended = rec(2, "speeding", 10, 50, action=Action.AMEND, target=1)
    assert_all(scores(pol, [filed]), 480, 480)
    assert_all(scores(pol, [filed, amended]), 450, 450)
    amended_again = rec(3, "speeding", 10, 30, action=Action.AMEND, target=2)
    assert_all(scores(pol, [filed, amended, amended_again]), 470, 470)
    # retracting the amendment leaves the record it superseded superseded
    retracted = rec(3, "speeding", 10, 50, action=Action.RETRACT, target=2)
    assert_all(scores(pol, [filed, amended, retracted]), 500, 500)
    # the ledger up to seq 1 is the record as first filed
    assert_all(scores(pol, [filed, amended, retracted], up_to=1), 480, 480)
    assert_all(scores(pol, [filed, amended, retracted], up_to=2), 450, 450)


def test_what_if_retracting_an_amendment_keeps_its_target_superseded() -> None:
    pol = policy({"kinds": ["speeding"], "per_unit": -1, "min": -1000, "max": 0})
    ledger = [rec(1, "speeding", 10, 20), rec(2, "speeding", 10, 50, action=Action.AMEND, target=1)]
    result = what_if(pol, P, ledger, T0, retract=[2])
    assert (result.before.raw, result.after.raw, result.delta) == (450, 500, 50)
    assert what_if(pol, P, ledger, T0, expire=[2]).after.raw == 500
    added = what_if(pol, P, ledger, T0, add=[rec(0, "speeding", 0, 30)])
    assert added.after.raw == 420
    with pytest.raises(ValueError, match="has no record 3"):
        what_if(pol, P, ledger, T0, retract=[3])


# reasons ------------------------------------------------------------------------------------
def test_reasons_are_the_four_costliest_factors_ties_in_policy_order() -> None:
    # (factor id, kind, points it loses against its max of 0); the tied "red" and "drunk"
    # are in policy order, not alphabetical order.
    costs = [
        ("speed", "speeding", 10),
        ("red", "red_light", 30),
        ("drunk", "drink_driving", 30),
        ("litter", "littering_fine", 5),
        ("conduct", "workplace_misconduct", 20),
        ("school", "disciplinary_action", 0),
    ]
    pol = policy(
        *({"id": i, "kinds": [k], "per_record": -c, "min": -100, "max": 0} for i, k, c in costs)
    )
    records = [
        rec(n + 1, k, 1, 1.0 if KINDS_BY_ID[k].unit else None) for n, (_, k, _) in enumerate(costs)
    ]
    result = score_person(pol, P, records, T0)
    assert [f.factor.id for f in result.reasons()] == ["red", "drunk", "conduct", "speed"]
    assert [f.shortfall for f in result.reasons()] == [30, 30, 20, 10]
    assert [f.factor.id for f in result.reasons(limit=2)] == ["red", "drunk"]
    assert result.raw == 500 - sum(c for _, _, c in costs)
    # the batch engine gives the same contributions
    got = factor_contributions(pol, ledger_table(records), T0).to_pylist()
    assert {r["factor"]: r["contribution"] for r in got} == {i: -float(c) for i, _, c in costs}


def test_a_factor_at_its_best_is_no_reason() -> None:
    pol = policy({"kinds": ["volunteering"], "per_unit": 1, "min": 0, "max": 10})
    result = score_person(pol, P, [rec(1, "volunteering", 1, 25)], T0)
    assert result.factors[0].contribution == 10
    assert result.reasons() == []


def test_rounding_does_not_round_just_below_a_half_up() -> None:
    """floor(x + 0.5) sends 0.49999999999999994 to 1; the reference must not."""
    from opencredit.scoring.reference import round_half_away

    assert round_half_away(0.49999999999999994) == 0
    assert round_half_away(-0.49999999999999994) == 0
    assert round_half_away(0.5) == 1
    assert round_half_away(-0.5) == -1
