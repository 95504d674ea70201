"""What-ifs: the reference function on the changed ledger, hypothetical records checked as
ingestion checks them, and records a what-if may not touch refused."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS, PURCHASE_CATEGORIES
from opencredit.ledger.records import Action, Record
from opencredit.policies.model import Policy
from opencredit.scoring.explain import WhatIfError, clipped, unclipped_total, what_if
from opencredit.scoring.hypothetical import (
    HypotheticalError,
    check_hypotheticals,
    parse_hypothetical,
)
from opencredit.scoring.reference import corrected_seqs, score_person

from .strategies import ORG, T0, contents, scenarios
from .tables import close, near_half

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=80)
TODAY = dt.date(2026, 1, 31)
P = "110101199003071233"
OTHER = "110101199003071250"


def standing(records: list[Record]) -> list[Record]:
    """Records a what-if may retract or expire: not retractions, not corrected."""
    corrected = corrected_seqs(records)
    return [r for r in records if r.action is not Action.RETRACT and r.seq not in corrected]


def retraction(record: Record, seq: int) -> Record:
    return replace(record, seq=seq, ref=f"x{seq}", action=Action.RETRACT, target=record.seq)


@settings(FAST)
@given(scenarios(), st.data())
def test_retracting_or_expiring_equals_the_oracle_with_a_retraction_filed(scenario, data) -> None:
    policy, _, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    mine = standing(records)
    if not mine:
        return
    chosen = data.draw(
        st.lists(st.sampled_from(mine), min_size=1, max_size=3, unique_by=lambda r: r.seq)
    )
    person = chosen[0].person
    chosen = [r for r in chosen if r.person == person]
    verb = data.draw(st.sampled_from(["retract", "expire"]))
    result = what_if(
        policy, person, records, as_of, disputes=disputes, today=TODAY,
        **{verb: [r.seq for r in chosen]},
    )  # fmt: skip
    n = len(records)
    filed = [*records, *(retraction(r, n + 1 + i) for i, r in enumerate(chosen))]
    want = score_person(policy, person, filed, as_of, disputes)
    assert result.before == score_person(policy, person, records, as_of, disputes)
    assert close(result.after.raw, want.raw)
    assert near_half(want.raw) or result.after.score == want.score
    assert result.delta == result.after.score - result.before.score
    assert len(result.changes) == len(chosen)


@settings(FAST)
@given(scenarios(), st.data())
def test_adding_records_equals_the_oracle_with_them_filed(scenario, data) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    person = data.draw(st.sampled_from(persons))
    drawn = data.draw(st.lists(contents(person, as_of, policy), min_size=0, max_size=3))
    added = [Record(0, org=ORG, ref=f"h{i}", **c) for i, c in enumerate(drawn)]
    latest = max(TODAY, as_of)
    if any(r.occurred > latest for r in added):  # ingestion would refuse it: so does what_if
        with pytest.raises(HypotheticalError, match="in the future"):
            what_if(policy, person, records, as_of, disputes=disputes, add=added, today=TODAY)
        return
    try:
        result = what_if(policy, person, records, as_of, disputes=disputes, add=added, today=TODAY)
    except HypotheticalError as exc:
        # ingestion's age checks: nothing before the person was born, or could have done it
        assert "born" in str(exc) or "the person was" in str(exc), exc
        reject()
    n = len(records)
    filed = [*records, *(replace(r, seq=n + 1 + i) for i, r in enumerate(added))]
    want = score_person(policy, person, filed, as_of, disputes)
    assert close(result.after.raw, want.raw)
    assert near_half(want.raw) or result.after.score == want.score
    if not added:
        assert result.before == result.after and result.delta == 0
    late = [c for c in result.changes if "after the as-of date" in c]
    assert len(late) == sum(r.occurred > as_of for r in added)


@settings(FAST)
@given(scenarios(), st.data())
def test_records_a_what_if_may_not_touch_are_refused(scenario, data) -> None:
    policy, persons, batches, _, as_of = scenario
    records = [r for b in batches for r in b]
    person = data.draw(st.sampled_from(persons))
    corrected = {
        r.target: r.seq for r in records if r.action is not Action.FILE and r.target is not None
    }
    for record in records:
        if record.person != person:
            message = f"{person} has no record {record.seq}"
        elif record.action is Action.RETRACT:
            message = "is a retraction"
        elif record.seq in corrected:
            message = f"already corrected by record {corrected[record.seq]}"
        else:
            continue
        for verb in ("retract", "expire"):
            with pytest.raises(WhatIfError, match=message):
                what_if(policy, person, records, as_of, today=TODAY, **{verb: [record.seq]})
    with pytest.raises(WhatIfError, match="has no record"):
        what_if(policy, person, records, as_of, today=TODAY, retract=[len(records) + 1])
    mine = [r.seq for r in standing(records) if r.person == person]
    if mine:
        with pytest.raises(WhatIfError, match="named twice"):
            what_if(policy, person, records, as_of, today=TODAY, retract=mine[:1], expire=mine[:1])


@settings(FAST)
@given(scenarios())
def test_clipped_says_whether_the_range_clipped_the_total(scenario) -> None:
    policy, persons, batches, disputes, as_of = scenario
    records = [r for b in batches for r in b]
    for person in persons:
        result = score_person(policy, person, records, as_of, disputes)
        total = unclipped_total(result)
        assert clipped(result) == (not policy.low <= total <= policy.high)
        assert math.isclose(result.raw, min(max(total, policy.low), policy.high), abs_tol=1e-9)


def _policy(low: int = 0, high: int = 1000, base: float = 500) -> Policy:
    return Policy.model_validate(
        {
            "id": "t",
            "version": 1,
            "name": "Test",
            "range": [low, high],
            "base": base,
            "purposes": ["lending"],
            "bands": [{"name": "all", "min": low, "max": high}],
            "factors": [
                {
                    "id": "speed",
                    "kinds": ["speeding"],
                    "per_record": -100,
                    "min": -10000,
                    "max": 0,
                    "reason": "speeding",
                }
            ],
        }
    )


def _speeding(seq: int, person: str = P, days_ago: int = 10) -> Record:
    return Record(seq, person, "speeding", T0 - dt.timedelta(days_ago), 20.0, None, ORG, f"r{seq}")


def test_the_explanation_header_says_when_the_range_clipped_the_total() -> None:
    from rich.console import Console

    from opencredit.cli import render

    def header(policy: Policy, n: int) -> str:
        result = score_person(policy, P, [_speeding(i + 1) for i in range(n)], T0)
        console = Console(width=200, record=True)
        console.print(render.explanation(result))
        return console.export_text()

    assert "clipped" not in header(_policy(), 2)  # 500 - 200 = 300, inside 0-1000
    text = header(_policy(), 7)  # 500 - 700 = -200: clipped to 0
    assert "= -200.00, clipped to the bottom of the range: 0" in text
    text = header(_policy(base=1100, high=1000), 0)
    assert "= 1100.00, clipped to the top of the range: 1000" in text


def test_what_if_panel_says_when_the_range_clipped() -> None:
    from rich.console import Console

    from opencredit.cli import render

    records = [_speeding(i + 1) for i in range(6)]
    result = what_if(
        _policy(), P, records, T0, add=[{"kind": "speeding", "value": "30"}], today=TODAY
    )
    assert (result.before.score, result.after.score) == (0, 0)  # -100 and -200: both clipped
    console = Console(width=200, record=True)
    console.print(render.what_if(result))
    text = console.export_text()
    assert "the total before, -100.00, clipped to the bottom" in text
    assert "the total after, -200.00, clipped to the bottom" in text


# hypothetical records: checked as ingestion checks a filed row --------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "nope"}, "kind 'nope'"),
        ({"kind": "pregnancy"}, "special-category"),
        ({"kind": "speeding"}, "needs a value in kmh_over"),
        ({"kind": "speeding", "value": "-5"}, "is negative"),
        ({"kind": "speeding", "value": "1e9"}, "is too large"),
        ({"kind": "speeding", "value": "abc"}, "not a number"),
        ({"kind": "speeding", "value": "nan"}, "not a number"),
        ({"kind": "speeding", "value": "inf"}, "not a number"),
        ({"kind": "loan_repaid", "value": "3"}, "carries no value"),
        ({"kind": "speeding", "value": "5", "occurred": "2026-02-30"}, "not a date"),
        ({"kind": "speeding", "value": "5", "occurred": "31/01/2026"}, "not a date"),
        ({"kind": "speeding", "value": "5", "occurred": "2026-03-01"}, "in the future"),
        ({"kind": "speeding", "value": "5", "occurred": "1899-12-31"}, "before 1900-01-01"),
        ({"kind": "purchase", "value": "5"}, "purchases need a category"),
        ({"kind": "purchase", "value": "5", "category": "medicine"}, "reveals health"),
        ({"kind": "purchase", "value": "5", "category": "yachts"}, "yachts"),
        ({"kind": "speeding", "value": "5", "category": "groceries"}, "only purchases"),
    ],
)
def test_a_hypothetical_record_ingestion_would_refuse_is_refused(fields, message) -> None:
    with pytest.raises(HypotheticalError, match=message) as info:
        check_hypotheticals([fields], P, TODAY, today=TODAY)
    assert str(info.value).startswith("--add 1: ")


def test_every_bad_field_of_every_record_is_named() -> None:
    with pytest.raises(HypotheticalError) as info:
        check_hypotheticals(
            [{"kind": "speeding", "value": "5"}, {"kind": "nope", "occurred": "soon"}],
            P,
            TODAY,
            today=TODAY,
        )
    text = str(info.value)
    assert "--add 1" not in text
    assert "--add 2: kind 'nope'" in text and "--add 2: occurred 'soon'" in text


def test_good_hypothetical_records() -> None:
    good = check_hypotheticals(
        [
            {"kind": " speeding ", "value": "25"},
            {"kind": "purchase", "value": 300.0, "category": "baby_care", "occurred": "2025-12-01"},
            Record(9, OTHER, "loan_repaid", dt.date(2026, 1, 2), None, None, ORG, "x"),
        ],
        P,
        dt.date(2026, 1, 15),
        today=TODAY,
    )
    assert [(r.person, r.kind, r.occurred, r.value, r.category) for r in good] == [
        (P, "speeding", dt.date(2026, 1, 15), 25.0, None),  # occurred: the as-of date
        (P, "purchase", dt.date(2025, 12, 1), 300.0, "baby_care"),
        (P, "loan_repaid", dt.date(2026, 1, 2), None, None),  # always the person's
    ]
    assert "baby_care" in PURCHASE_CATEGORIES


def test_a_what_if_may_look_ahead_of_today_up_to_its_as_of_date() -> None:
    ahead = TODAY + dt.timedelta(days=60)
    fields = {"kind": "speeding", "value": "5", "occurred": str(TODAY + dt.timedelta(days=30))}
    [record] = check_hypotheticals([fields], P, ahead, today=TODAY)
    assert record.occurred == TODAY + dt.timedelta(days=30)
    with pytest.raises(HypotheticalError, match="in the future"):
        check_hypotheticals([fields], P, TODAY, today=TODAY)


def test_a_record_after_the_as_of_date_is_accepted_but_does_not_count() -> None:
    records = [_speeding(1)]
    as_of = T0
    later = {"kind": "speeding", "value": "5", "occurred": str(T0 + dt.timedelta(days=3))}
    result = what_if(_policy(), P, records, as_of, add=[later], today=TODAY)
    assert result.delta == 0
    assert result.changes == (
        f"hypothetical speeding on {T0 + dt.timedelta(days=3)} (5) (after the as-of date: it "
        "does not count)",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "kind=... is required"),
        ("value=5", "kind=... is required"),
        ("kind=speeding,colour=red", "expected key=value pairs"),
        ("kind=speeding,value", "expected key=value pairs"),
        ("kind=speeding,kind=loan_repaid", "kind is given twice"),
    ],
)
def test_parse_hypothetical_refuses_what_is_not_key_value_pairs(text, message) -> None:
    with pytest.raises(HypotheticalError, match=message):
        parse_hypothetical(text)


def test_parse_hypothetical_reads_the_pairs_without_judging_them() -> None:
    assert parse_hypothetical(" kind = speeding , value=abc,occurred=2026-02-30 ") == {
        "kind": "speeding",
        "value": "abc",
        "occurred": "2026-02-30",
    }


def test_every_kind_in_the_catalog_can_be_a_hypothetical() -> None:
    rows = []
    for kind in KINDS:
        row: dict[str, object] = {"kind": kind.id}
        if kind.unit is not None:
            row["value"] = kind.min_value
        if kind.needs_category:
            row["category"] = "groceries"
        rows.append(row)
    assert [r.kind for r in check_hypotheticals(rows, P, TODAY, today=TODAY)] == [
        k.id for k in KINDS
    ]
