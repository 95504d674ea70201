"""The policy language: what parses, what is refused, and how errors name the problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS, PURCHASE_CATEGORIES
from opencredit.errors import PolicyError
from opencredit.ledger.records import Record
from opencredit.policies.lint import lint_policy_text
from opencredit.policies.model import Band, Factor, Policy, parse_policy
from opencredit.scoring.reference import score_person

HEADER = """
id = "test"
version = 1
name = "Test"
range = [0, 100]
base = 50
purposes = ["lending"]
"""
BANDS = """
[[bands]]
name = "Low"
min = 0
max = 49

[[bands]]
name = "High"
min = 50
max = 100
"""
FACTOR = """
[[factors]]
id = "late"
kinds = ["payment_missed"]
per_record = -5
half_life_days = 365
min = -50
max = 0
reason = "Late payments"
"""


def test_a_minimal_policy_parses():
    policy = parse_policy(HEADER + BANDS + FACTOR)
    assert policy.key == "test@1" and (policy.low, policy.high) == (0, 100)
    assert policy.factor("late").fades and policy.band_of(50).name == "High"


def test_errors_name_the_source_and_the_field():
    text = HEADER + BANDS + FACTOR.replace("max = 0", "max = 0\nweight = 2")
    with pytest.raises(PolicyError) as exc:
        parse_policy(text, "my-policy.toml")
    assert str(exc.value).startswith("my-policy.toml: ")
    assert "factors.late.weight: unknown field" in str(exc.value)


def test_syntax_errors_name_the_source():
    with pytest.raises(PolicyError, match=r"^bad\.toml: not valid TOML"):
        parse_policy("id = = 1", "bad.toml")


@pytest.mark.parametrize(
    ("low_max", "high_min"),
    [(48, 50), (50, 50), (-1, 0)],
    ids=["gap", "overlap", "empty band"],
)
def test_bands_with_gaps_or_overlaps_are_rejected(low_max, high_min):
    bands = BANDS.replace("max = 49", f"max = {low_max}").replace("min = 50", f"min = {high_min}")
    with pytest.raises(PolicyError, match="bands must cover 0-100"):
        parse_policy(HEADER + bands + FACTOR)


def test_bands_must_reach_the_top_of_the_range():
    with pytest.raises(PolicyError, match="they end at 99"):
        parse_policy(HEADER + BANDS.replace("max = 100", "max = 99") + FACTOR)


def test_factor_min_above_max_is_rejected():
    text = HEADER + BANDS + FACTOR.replace("min = -50", "min = 5")
    with pytest.raises(PolicyError, match=r"factors\.late: .*min \(5\.0\) is above max"):
        parse_policy(text)


def test_range_must_go_up():
    with pytest.raises(PolicyError, match="range: low"):
        parse_policy(HEADER.replace("[0, 100]", "[100, 0]") + BANDS + FACTOR)


def test_duplicate_factor_ids_are_rejected():
    with pytest.raises(PolicyError, match="duplicate ids"):
        parse_policy(HEADER + BANDS + FACTOR + FACTOR)


def test_categories_only_on_purchases():
    text = HEADER + BANDS + FACTOR.replace("max = 0", 'max = 0\ncategories = ["groceries"]')
    with pytest.raises(PolicyError, match="categories apply only to kinds that carry one"):
        parse_policy(text)


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ('kinds = ["contraceptive_use"]', "principle 5"),
        ('kinds = ["age"]', "principle 4"),
        ('kinds = ["purchase"]\ncategories = ["pregnancy_tests"]', "principle 5"),
        ('kinds = ["purchase"]\ncategories = ["yachts"]', "not on the vetted list"),
    ],
)
def test_refused_and_unknown_names(replace, expected):
    text = HEADER + BANDS + FACTOR.replace('kinds = ["payment_missed"]', replace)
    with pytest.raises(PolicyError, match=expected):
        parse_policy(text)


def test_special_purpose_is_refused():
    text = HEADER.replace('["lending"]', '["lending", "church_membership"]') + BANDS + FACTOR
    with pytest.raises(PolicyError, match="religious"):
        parse_policy(text)


# --- invariants ---------------------------------------------------------------------------------


@st.composite
def band_partitions(draw) -> tuple[int, int, list[dict]]:
    low = draw(st.integers(-1000, 1000))
    high = low + draw(st.integers(1, 2000))
    cuts = sorted(draw(st.sets(st.integers(low + 1, high), max_size=8)))
    starts = [low, *cuts]
    ends = [c - 1 for c in cuts] + [high]
    bands = [
        {"name": f"b{i}", "min": s, "max": e}
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]
    return low, high, draw(st.permutations(bands))


def policy_data(low: int, high: int, bands: list[dict], factors: list[dict], base=None) -> dict:
    return {
        "id": "prop",
        "version": 1,
        "name": "Property",
        "range": [low, high],
        "base": (low + high) / 2 if base is None else base,
        "purposes": ["lending"],
        "bands": bands,
        "factors": factors,
    }


ONE_FACTOR = [
    {"id": "f", "kinds": ["red_light"], "per_record": -1, "min": -5, "max": 0, "reason": "r"}
]


@settings(max_examples=100, deadline=None)
@given(band_partitions())
def test_any_partition_of_the_range_validates(partition):
    low, high, bands = partition
    policy = Policy.model_validate(policy_data(low, high, bands, ONE_FACTOR))
    for score in {low, high, (low + high) // 2}:
        band = policy.band_of(score)
        assert band.min <= score <= band.max


points = st.floats(-500, 500, allow_nan=False)


@st.composite
def factors(draw, index: int) -> dict:
    kind = draw(st.sampled_from(KINDS))
    lo, hi = sorted([draw(points), draw(points)])
    factor = {
        "id": f"f{index}",
        "kinds": [kind.id],
        "per_record": draw(points),
        "per_unit": draw(st.floats(-5, 5, allow_nan=False)),
        "half_life_days": draw(st.none() | st.floats(1, 3650)),
        "window_days": draw(st.none() | st.integers(1, 3650)),
        "min": lo,
        "max": hi,
        "reason": "r",
    }
    if kind.needs_category:
        factor["categories"] = draw(
            st.lists(st.sampled_from(sorted(PURCHASE_CATEGORIES)), max_size=3)
        )
    return factor


@st.composite
def records(draw, kinds: list, as_of: dt.date) -> list[Record]:
    out = []
    for seq in range(draw(st.integers(0, 20))):
        kind = draw(st.sampled_from(kinds))
        value = None
        if kind.unit is not None:
            value = draw(st.floats(kind.min_value, min(kind.max_value, 1e6)))
        category = (
            draw(st.sampled_from(sorted(PURCHASE_CATEGORIES))) if kind.needs_category else None
        )
        occurred = as_of - dt.timedelta(days=draw(st.integers(-30, 4000)))
        out.append(Record(seq + 1, "p", kind.id, occurred, value, category, "org", f"r{seq}"))
    return out


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_random_policies_never_score_outside_their_range(data):
    low, high, bands = data.draw(band_partitions())
    count = data.draw(st.integers(1, 4))
    factor_list = [data.draw(factors(i)) for i in range(count)]
    base = data.draw(st.floats(low - 500, high + 500))
    policy = Policy.model_validate(policy_data(low, high, bands, factor_list, base))
    as_of = dt.date(2025, 1, 1)
    result = score_person(policy, "p", data.draw(records(list(KINDS), as_of)), as_of)
    assert low <= result.raw <= high and low <= result.score <= high
    assert policy.band_of(result.score).name == result.band
    for part in result.factors:
        assert part.factor.min <= part.contribution <= part.factor.max


# --- the language reference ---------------------------------------------------------------------

DOCS = Path(__file__).parents[2] / "docs" / "policies.md"


def test_every_field_and_kind_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for model in (Policy, Band, Factor):
        for name in model.model_fields:
            assert f"`{name}`" in text, f"{model.__name__}.{name} is not in docs/policies.md"
    for kind in KINDS:
        assert f"| `{kind.id}` | {kind.domain} |" in text
        assert f"| {kind.retention_days} |" in text


def test_the_documented_example_loads_and_lints_clean_but_for_the_high_risk_note():
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    assert parse_policy(example, "docs/policies.md").key == "lending@1"
    report = lint_policy_text(example, "docs/policies.md")
    assert [(f.severity, f.field) for f in report.findings] == [("note", "purposes")]
    assert "Annex III 5(b)" in report.findings[0].message
