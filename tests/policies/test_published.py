"""The three shipped policies: they load, their bands work, and they score as documented."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from opencredit.ledger.records import Record
from opencredit.policies.lint import Severity, lint_policy_file
from opencredit.policies.model import PUBLISHED_DIR, Policy, load_policy, published_policies
from opencredit.scoring.reference import round_half_away, score_person

AS_OF = dt.date(2025, 6, 1)
REPO_POLICIES = Path(__file__).parents[2] / "policies"
_seq = itertools.count(1)


def record(kind: str, days_ago: int = 10, value: float | None = None, category: str | None = None):
    """A filed record for person ``p1``, ``days_ago`` days before AS_OF."""
    seq = next(_seq)
    occurred = AS_OF - dt.timedelta(days=days_ago)
    return Record(seq, "p1", kind, occurred, value, category, "org", f"ref-{seq}")


def score(policy: Policy, *records: Record, as_of: dt.date = AS_OF) -> float:
    return score_person(policy, "p1", records, as_of).raw


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return {p.id: p for p in published_policies()}


def test_three_policies_ship_and_load(policies):
    assert set(policies) == {"sesame-2015", "lending", "rongcheng"}
    for path in sorted(PUBLISHED_DIR.glob("*.toml")):
        assert load_policy(path).id == path.stem


def test_repository_policies_directory_is_the_published_one():
    assert sorted(p.name for p in REPO_POLICIES.glob("*.toml")) == sorted(
        p.name for p in PUBLISHED_DIR.glob("*.toml")
    )


@pytest.mark.parametrize("policy_id", ["sesame-2015", "lending", "rongcheng"])
def test_every_score_in_range_has_exactly_one_band(policies, policy_id):
    policy = policies[policy_id]
    for s in range(policy.low, policy.high + 1):
        assert sum(b.min <= s <= b.max for b in policy.bands) == 1
        assert policy.band_of(s).min <= s
    assert all(b.description for b in policy.bands)


@pytest.mark.parametrize("policy_id", ["sesame-2015", "lending", "rongcheng"])
def test_every_factor_explains_itself(policies, policy_id):
    for factor in policies[policy_id].factors:
        assert factor.reason.strip() and factor.description.strip()
        # The plain-language description states the points a record scores: keep it in step.
        if factor.per_record:
            assert f"{factor.per_record:+g} point" in factor.description
        assert f"{factor.max if factor.max > 0 else factor.min:+g}" in factor.description


@pytest.mark.parametrize("policy_id", ["sesame-2015", "lending", "rongcheng"])
def test_no_records_scores_the_base_clipped(policies, policy_id):
    policy = policies[policy_id]
    result = score_person(policy, "p1", [], AS_OF)
    expected = round_half_away(min(max(policy.base, policy.low), policy.high))
    assert result.score == expected
    assert result.raw == policy.base


def test_sesame_bands_are_sesame_credits(policies):
    bands = [(b.name, b.min, b.max) for b in policies["sesame-2015"].bands]
    assert bands == [
        ("Poor", 350, 549),
        ("Fair", 550, 599),
        ("Good", 600, 649),
        ("Very good", 650, 699),
        ("Excellent", 700, 950),
    ]


def test_sesame_video_games_lower_and_diapers_raise_the_score(policies):
    sesame = policies["sesame-2015"]
    groceries = record("purchase", 20, 300.0, "groceries")
    baseline = score(sesame, groceries)
    assert score(sesame, groceries, record("purchase", 5, 3000.0, "video_games")) < baseline
    assert score(sesame, groceries, record("purchase", 5, 200.0, "baby_care")) > baseline


def test_sesame_describes_itself_as_a_reconstruction_the_linter_warns_about(policies):
    description = policies["sesame-2015"].description
    assert "press" in description and "reconstruction" in description
    assert "cross-context" in description and "lint" in description
    assert set(policies["sesame-2015"].purposes) >= {"lending", "dating_profile"}


def test_lending_reads_finance_only_for_finance_purposes(policies):
    from opencredit.catalog import Domain, get_kind

    lending = policies["lending"]
    assert {get_kind(k).domain for f in lending.factors for k in f.kinds} == {Domain.FINANCE}
    assert set(lending.purposes) == {"lending", "rental_deposit"}


def test_lending_late_payments_cost_more_when_later_and_fade_with_age(policies):
    lending = policies["lending"]
    base = lending.base
    recent_short = score(lending, record("payment_missed", 10, 5.0))
    recent_long = score(lending, record("payment_missed", 10, 90.0))
    old_long = score(lending, record("payment_missed", 1000, 90.0))
    assert recent_long < recent_short < base
    assert recent_long < old_long < base


def test_lending_reasons_name_the_costly_factor(policies):
    lending = policies["lending"]
    result = score_person(lending, "p1", [record("loan_default", 30, 20000.0)], AS_OF)
    assert "Serious delinquency" in [r.factor.reason for r in result.reasons()]


def test_rongcheng_fixed_points_count_in_full_until_retention_ends(policies):
    rongcheng = policies["rongcheng"]
    assert score(rongcheng, record("red_light", 10)) == 995
    assert score(rongcheng, record("red_light", 1000)) == 995  # no fading
    assert score(rongcheng, record("red_light", 1200)) == 1000  # past 3-year retention
    assert score(rongcheng, record("drink_driving", 100)) == 900
    assert score(rongcheng, record("volunteering", 100, 3.0)) == 1010


def test_rongcheng_grades(policies):
    rongcheng = policies["rongcheng"]
    assert [b.name for b in rongcheng.bands] == ["D", "C", "B", "A", "AA", "AAA"]
    assert rongcheng.band_of(1000).name == "A"
    assert rongcheng.band_of(1050).name == "AAA"
    assert rongcheng.band_of(599).name == "D"
    volunteer = [record("volunteering", d, 2.0) for d in range(10, 110, 10)]
    assert score_person(rongcheng, "p1", volunteer, AS_OF).band == "AAA"


def test_lending_lints_clean_but_for_the_high_risk_note():
    report = lint_policy_file(PUBLISHED_DIR / "lending.toml")
    assert report.errors == [] and report.warnings == []
    [note] = report.notes  # lending and rental deposits decide on creditworthiness
    assert note.field == "purposes" and "Annex III 5(b)" in note.message
    assert report.policy is not None and report.policy.key == "lending@1"


@pytest.mark.parametrize("name", ["sesame-2015.toml", "rongcheng.toml"])
def test_cross_context_policies_carry_the_social_scoring_warning(name):
    report = lint_policy_file(REPO_POLICIES / name)
    assert report.ok
    assert any("Art. 5(1)(c)" in w.message for w in report.warnings)


def test_rongcheng_non_fading_deductions_are_notes_not_warnings():
    report = lint_policy_file(PUBLISHED_DIR / "rongcheng.toml")
    assert len(report.warnings) == 1  # only the cross-context one
    negative = [f.id for f in report.policy.factors if f.per_record < 0]
    factor_notes = [n for n in report.notes if n.field != "purposes"]
    assert sorted(n.field for n in factor_notes) == sorted(f"factors.{i}" for i in negative)
    assert all(n.severity is Severity.NOTE and "retention" in n.message for n in factor_notes)
