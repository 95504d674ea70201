"""The catalogue of purposes: what a score may be read for, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencredit.catalog import (
    ANNEX_III,
    PUNITIVE_PURPOSES,
    PURPOSES,
    Domain,
    check_purpose,
    get_purpose,
    punitive_reason,
)
from opencredit.errors import RefusedData, UnknownName
from opencredit.policies.model import published_policies

DOCS = Path(__file__).parents[2] / "docs" / "policies.md"


def test_the_published_policies_use_catalogued_purposes():
    used = {p for policy in published_policies() for p in policy.purposes}
    assert used <= set(PURPOSES)
    assert {"lending", "rental_deposit", "dating_profile", "public_services"} <= used


@pytest.mark.parametrize(
    ("purpose", "domain", "annex"),
    [
        ("lending", Domain.FINANCE, "5(b)"),
        ("credit_card", Domain.FINANCE, "5(b)"),
        ("rental_deposit", Domain.FINANCE, "5(b)"),
        ("tenancy", Domain.FINANCE, "5(b)"),
        ("telecom_contract", Domain.FINANCE, "5(b)"),
        ("motor_insurance", Domain.TRAFFIC, None),
        ("life_insurance", None, "5(c)"),
        ("employment_screening", Domain.EMPLOYMENT, "4(a)"),
        ("civil_service_promotion", Domain.EMPLOYMENT, "4(b)"),
        ("school_admission", Domain.EDUCATION, "3(a)"),
        ("travel_booking", Domain.COMMERCE, None),
        ("dating_profile", None, None),
        ("public_services", None, "5(a)"),
    ],
)
def test_each_purpose_has_an_area_of_life_and_its_risk(purpose, domain, annex):
    found = get_purpose(purpose)
    assert (found.domain, found.annex_iii, found.high_risk) == (domain, annex, annex is not None)
    assert found.decides and check_purpose(purpose) == purpose
    if annex is not None:
        assert found.annex_iii_text == f"Annex III {annex} ({ANNEX_III[annex]})"


@pytest.mark.parametrize("purpose", sorted(PUNITIVE_PURPOSES))
def test_every_listed_punitive_purpose_is_refused_with_what_it_does(purpose):
    with pytest.raises(RefusedData, match="refused as punitive") as info:
        get_purpose(purpose)
    assert PUNITIVE_PURPOSES[purpose] in str(info.value)


@pytest.mark.parametrize(
    "purpose",
    [
        "rail_ban",
        "no_fly_list",
        "debtor_blacklist",
        "black_list",
        "school_expulsion",
        "job_exclusion",
        "hiring_ban",
        "restrict_high_consumption",
        "dishonest_persons",
        "joint_punishment",
        "laolai",
    ],
)
def test_punitive_purposes_are_recognised_by_their_words(purpose):
    assert punitive_reason(purpose) is not None
    with pytest.raises(RefusedData, match="punitive"):
        get_purpose(purpose)


@pytest.mark.parametrize(
    ("purpose", "reveals"),
    [
        ("religious_screening", "religious or philosophical belief"),
        ("ethnicity_check", "racial or ethnic origin"),
        ("pregnancy_screening", "reproductive health and contraception"),
        ("family_planning_check", "reproductive health and contraception"),
        ("party_membership_vetting", "political opinion"),
        ("sexual_orientation_screening", "sex life and sexual orientation"),
        ("union_activity_check", "trade union membership"),
    ],
)
def test_special_purposes_say_what_they_would_reveal(purpose, reveals):
    with pytest.raises(RefusedData, match="principle 5") as info:
        get_purpose(purpose)
    assert reveals in str(info.value)


def test_attribute_purposes_name_the_attribute():
    with pytest.raises(RefusedData, match="person attribute 'age'"):
        get_purpose("age_verification")


def test_an_unknown_purpose_lists_the_catalogue():
    with pytest.raises(UnknownName, match="not in the catalogue of purposes") as info:
        get_purpose("yacht_club")
    assert all(p in str(info.value) for p in PURPOSES)


def test_every_purpose_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for purpose in PURPOSES.values():
        assert f"| `{purpose.id}` |" in text, f"{purpose.id} is not in docs/policies.md"
    for purpose in PUNITIVE_PURPOSES:
        assert f"`{purpose}`" in text
