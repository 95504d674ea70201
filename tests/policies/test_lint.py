"""The policy linter: each error, warning and note, from small inline policies."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from opencredit.catalog import KINDS_BY_ID, REFUSED_CATEGORIES
from opencredit.errors import PolicyError
from opencredit.policies.lint import (
    format_report,
    lint_policy_file,
    lint_policy_text,
    print_report,
)
from opencredit.policies.model import parse_policy


def toml_value(value) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def factor(id: str = "late", kinds=("payment_missed",), **fields) -> str:
    """A [[factors]] table: a fading negative factor unless ``fields`` say otherwise."""
    defaults = {"per_record": -5, "half_life_days": 365, "min": -50, "max": 0, "reason": "Late"}
    body = {"id": id, "kinds": kinds, **defaults, **fields}
    lines = [f"{k} = {toml_value(v)}" for k, v in body.items() if v is not None]
    return "[[factors]]\n" + "\n".join(lines) + "\n"


def policy(*factors: str, purposes=("home_insurance",), extra: str = "") -> str:
    """A small policy document around ``factors`` (one clean factor if none given), read for a
    finance purpose that is not a high-risk use (so that it has no findings at all)."""
    return f"""
id = "test"
version = 1
name = "Test"
description = "Mentions age, sex, religion and pregnancy freely: prose is not checked."
range = [0, 100]
base = 50
purposes = {toml_value(purposes)}
{extra}

[[bands]]
name = "Low"
min = 0
max = 49

[[bands]]
name = "High"
min = 50
max = 100

{"".join(factors or (factor(),))}
"""


def lint(*factors: str, **kwargs):
    return lint_policy_text(policy(*factors, **kwargs), "test.toml")


def only_error(report) -> tuple[str, str]:
    assert not report.ok
    assert len(report.errors) == 1, report.errors
    return report.errors[0].field, report.errors[0].message


def test_a_clean_policy_has_no_findings():
    report = lint()
    assert report.findings == [] and report.ok
    assert report.policy is not None and report.policy.key == "test@1"


# --- errors -------------------------------------------------------------------------------------


def test_toml_syntax_error():
    report = lint_policy_text('id = "x"\nversion = = 1\n', "broken.toml")
    field, message = only_error(report)
    assert field == "toml" and "not valid TOML" in message and "line" in message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (policy(extra="weight = 3"), "weight"),
        (policy(factor(weight=3)), "factors.late.weight"),
        (policy().replace('name = "Low"', 'name = "Low"\ncolour = "red"'), "bands.0.colour"),
    ],
)
def test_unknown_fields_are_named(text, field):
    path, message = only_error(lint_policy_text(text, "test.toml"))
    assert path == field
    assert f"unknown field {field.rsplit('.', 1)[-1]!r}" in message and "expected one of" in message


def test_unknown_kind():
    field, message = only_error(lint(factor(kinds=("payment_misssed",))))
    assert field == "factors.late.kinds"
    assert "unknown record kind 'payment_misssed'" in message and "payment_missed" in message


def test_unvetted_category():
    field, message = only_error(lint(factor(kinds=("purchase",), categories=("yachts",))))
    assert field == "factors.late.categories" and "not on the vetted list" in message


@pytest.mark.parametrize(
    ("category", "reveals"),
    [
        ("contraceptives", "contraception"),
        ("pregnancy_tests", "reproductive health"),
        ("religious_goods", "religious"),
        ("political_donations", "political opinion"),
    ],
)
def test_special_categories_are_refused_naming_what_they_reveal(category, reveals):
    field, message = only_error(lint(factor(kinds=("purchase",), categories=(category,))))
    assert field == "factors.late.categories"
    assert reveals in message and "principle 5" in message


@pytest.mark.parametrize("category", REFUSED_CATEGORIES)
def test_every_refused_category_is_an_error(category):
    report = lint(factor(kinds=("purchase",), categories=(category,)))
    assert any("principle 5" in e.message for e in report.errors)


def test_special_kind_is_refused():
    field, message = only_error(lint(factor(kinds=("contraceptive_use",))))
    assert field == "factors.late.kinds"
    assert "contraception" in message and "principle 5" in message


def test_special_purpose_is_refused_once():
    field, message = only_error(lint(purposes=("lending", "political_campaign")))
    assert field == "purposes" and "political opinion" in message


@pytest.mark.parametrize("attribute", ["age", "sex", "region"])
def test_person_attribute_as_a_kind_is_refused(attribute):
    report = lint(factor(kinds=(attribute,)))
    [error] = [e for e in report.errors if "principle 4" in e.message]
    assert (
        error.field == "factors.late.kinds" and f"person attribute {attribute!r}" in error.message
    )
    # "sex" is refused twice over: an attribute, and a word revealing sex life (principle 5).
    assert len(report.errors) == (2 if attribute == "sex" else 1)


@pytest.mark.parametrize("attribute", ["age", "sex", "region"])
def test_person_attribute_as_a_key_is_refused(attribute):
    for text, field in [
        (policy(extra=f"{attribute} = 1"), attribute),
        (policy(factor(**{f"min_{attribute}": 18})), f"factors.late.min_{attribute}"),
    ]:
        report = lint_policy_text(text, "test.toml")
        attribute_errors = [e for e in report.errors if "principle 4" in e.message]
        assert [e.field for e in attribute_errors] == [field]
        # ... and the unknown field is reported too.
        assert any("unknown field" in e.message for e in report.errors)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (policy(factor(id="by_gender")), "factors.by_gender.id"),
        (policy(purposes=("lending", "age_check")), "purposes"),
        (
            policy(factor(kinds=("purchase",), categories=("birth_date",))),
            "factors.late.categories",
        ),
    ],
)
def test_person_attribute_in_any_identifier_is_refused(text, field):
    report = lint_policy_text(text, "test.toml")
    assert [e.field for e in report.errors if "principle 4" in e.message] == [field]


def test_prose_may_mention_anything():
    text = policy(factor(reason="Not about age or sex", description="Not about region either"))
    assert lint_policy_text(text, "test.toml").findings == []


def test_all_refused_names_are_reported_not_just_the_first():
    bad = factor(
        kinds=("purchase", "contraceptive_use", "age", "bogus"),
        categories=("contraceptives", "religious_goods", "nonsense"),
    )
    report = lint(bad, purposes=("lending", "political_campaign"), extra="region = 1")
    messages = " | ".join(e.message for e in report.errors)
    for name in [
        "contraceptive_use",
        "'age'",
        "bogus",
        "contraceptives",
        "religious_goods",
        "nonsense",
        "political_campaign",
        "'region'",
    ]:
        assert name in messages
    assert len({(e.field, e.message) for e in report.errors}) == len(report.errors)


def test_validation_errors_name_the_field():
    text = policy(factor(min=5, max=0))
    field, message = only_error(lint_policy_text(text, "test.toml"))
    assert field == "factors.late" and "min (5" in message


def test_missing_file_is_an_error(tmp_path):
    report = lint_policy_file(tmp_path / "nope.toml")
    assert report.errors[0].field == "file" and not report.ok


# --- warnings and notes -------------------------------------------------------------------------


def test_negative_factor_that_never_fades_nor_expires_warns(monkeypatch):
    forever = dataclasses.replace(KINDS_BY_ID["red_light"], retention_days=None)
    monkeypatch.setitem(KINDS_BY_ID, "red_light", forever)
    report = lint(factor(kinds=("red_light",), half_life_days=None), purposes=("motor_insurance",))
    assert [(w.field, "never fade and never expire" in w.message) for w in report.warnings] == [
        ("factors.late", True)
    ]
    with_window = lint(
        factor(kinds=("red_light",), half_life_days=None, window_days=400),
        purposes=("motor_insurance",),
    )
    assert with_window.warnings == []
    assert "400 days, the factor's window" in with_window.notes[0].message


def test_negative_factor_without_half_life_notes_the_retention_period():
    report = lint(factor(half_life_days=None))
    assert report.warnings == [] and report.ok
    [note] = report.notes
    assert note.field == "factors.late"
    assert "payment_missed: 1825 days, the kind's retention period" in note.message


def test_positive_factor_without_half_life_is_fine():
    report = lint(
        factor(
            id="repaid", kinds=("loan_repaid",), per_record=2, min=0, max=40, half_life_days=None
        )
    )
    assert report.findings == []


def test_cross_context_warning_names_the_ai_act():
    report = lint(factor(), factor(id="speed", kinds=("speeding",), per_unit=-1))
    [warning] = report.warnings
    assert warning.field == "factors"
    assert "Art. 5(1)(c)" in warning.message and "finance: late" in warning.message
    assert "traffic: speed" in warning.message


def test_one_domain_read_in_an_unrelated_context_warns():
    report = lint(purposes=("lending", "dating_profile"))
    [warning] = report.warnings
    assert warning.field == "purposes"
    assert "dating_profile" in warning.message and "Art. 5(1)(c)" in warning.message


def test_one_domain_read_for_its_own_context_is_fine():
    assert lint(purposes=("lending", "rental_deposit", "home_insurance")).warnings == []


def test_factors_scoring_the_same_records_warn():
    report = lint(factor(), factor(id="again"))
    [warning] = report.warnings
    assert warning.field == "factors.again.kinds" and "'late'" in warning.message


def test_purchase_factors_overlap_only_on_shared_categories():
    games = factor(id="games", kinds=("purchase",), categories=("video_games",))
    babies = factor(
        id="babies", kinds=("purchase",), per_record=1, min=0, max=10, categories=("baby_care",)
    )
    everything = factor(id="all", kinds=("purchase",), per_record=1, min=0, max=10)
    assert lint(games, babies, purposes=("travel_booking",)).warnings == []
    [warning] = lint(games, everything, purposes=("travel_booking",)).warnings
    assert warning.field == "factors.all.kinds" and "video_games" in warning.message


@pytest.mark.parametrize(
    "fields",
    [
        {"min": 0, "max": 0},  # bounds leave no room
        {"min": 0, "max": 10},  # only negative points, but nothing below 0 allowed
        {"per_record": 0, "min": -10, "max": 10},  # no points at all
    ],
)
def test_factor_that_cannot_move_the_score_warns(fields):
    report = lint(factor(**fields))
    assert any("cannot move the score" in w.message for w in report.warnings)


def test_per_unit_on_kinds_without_value_warns():
    report = lint(
        factor(kinds=("red_light",), per_record=-5, per_unit=-1), purposes=("motor_insurance",)
    )
    assert [w.field for w in report.warnings] == ["factors.late.per_unit"]


# --- output -------------------------------------------------------------------------------------


def test_format_report_lists_findings_then_a_summary():
    report = lint(factor(kinds=("age",)))
    lines = format_report(report).splitlines()
    assert lines[0].startswith("test.toml: error: factors.late.kinds: ")
    assert lines[-1] == "test.toml: failed: 1 error, 0 warnings, 0 notes"
    assert format_report(lint()) == "test.toml (test@1): ok: 0 errors, 0 warnings, 0 notes"


def test_print_report_renders_severities():
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    print_report(lint(factor(), factor(id="again")), console)
    text = out.getvalue()
    assert "warning factors.again.kinds:" in text and "ok: 0 errors, 1 warning" in text


# --- invariants ---------------------------------------------------------------------------------


def loads(text: str) -> bool:
    try:
        parse_policy(text, "fuzz.toml")
    except PolicyError:
        return False
    return True


def assert_consistent_with_the_model(text: str) -> None:
    """Lint fails whatever the model refuses; beyond that only on principles 4 and 5."""
    report = lint_policy_text(text, "fuzz.toml")
    if not loads(text):
        assert not report.ok and report.policy is None
    for error in report.errors:
        assert not loads(text) or "principle 4" in error.message or "principle 5" in error.message


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_lint_never_raises_on_any_text(text):
    assert_consistent_with_the_model(text)


@settings(max_examples=100, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(sorted(KINDS_BY_ID)) | st.text(max_size=20), min_size=1),
    factor_id=st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True),
)
def test_lint_never_raises_on_any_factor(kinds, factor_id):
    assert_consistent_with_the_model(policy(factor(id=factor_id, kinds=kinds)))
