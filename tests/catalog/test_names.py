"""Refused names, read by meaning: person attributes and special categories in every spelling,
and fewer false alarms on words that merely contain a refused term."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.catalog import (
    KINDS,
    PURCHASE_CATEGORIES,
    PURPOSES,
    REFUSED_CATEGORIES,
    name_doubts,
    name_refusals,
    person_attribute_in,
    read_name,
    special_category_of,
)
from opencredit.catalog.names import pieces


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ageGroup", ["age", "group"]),
        ("age-group", ["age", "group"]),
        ("DOBCheck", ["dob", "check"]),
        ("age18", ["age", "18"]),
        ("date_of_birth", ["date", "of", "birth"]),
    ],
)
def test_identifiers_split_at_separators_case_and_digits(name, expected):
    assert pieces(name) == expected


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("age", "age"),
        ("ageGroup", "age"),
        ("age-group", "age"),
        ("age_group", "age"),
        ("agegroup", "age"),
        ("ageband", "age"),
        ("birthyear", "age"),
        ("birth_year", "age"),
        ("yearofbirth", "age"),
        ("dateOfBirth", "age"),
        ("DOBCheck", "age"),
        ("userAge", "age"),
        ("maxage", "age"),
        ("age18", "age"),
        ("teenager_discount", "age"),
        ("elderly", "age"),
        ("sex", "sex"),
        ("gender", "sex"),
        ("by_gender", "sex"),
        ("isFemale", "sex"),
        ("women_only", "sex"),
        ("mens_clothing", "sex"),
        ("region", "region"),
        ("homeregion", "region"),
        ("regional_bonus", "region"),
        ("province", "region"),
        ("city_tier", "region"),
        ("hukou_type", "region"),
        ("hukouType", "region"),
        ("residence", "region"),
        ("domicile", "region"),
        ("postcode", "region"),
        ("rural_migrant", "region"),
        ("nationality", "nationality"),
        ("citizenship_status", "nationality"),
        ("marital_status", "marital status"),
        ("maritalStatus", "marital status"),
        ("divorced", "marital status"),
        ("年龄段", "age"),
        ("zodiac_sign", "age"),
        ("age_of_account_holder", "age"),
        ("refugees", "nationality"),
        ("seniors_discount", "age"),
        ("ladies_night", "sex"),
        ("household_registration", "region"),
    ],
)
def test_person_attributes_are_recognised_in_every_spelling(name, attribute):
    assert person_attribute_in(name) == attribute
    assert any("principle 4" in m and f"'{attribute}'" in m for m in name_refusals(name, "id"))


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("ethnicity", "racial or ethnic origin"),
        ("ethnicGroup", "racial or ethnic origin"),
        ("race", "racial or ethnic origin"),
        ("religion", "religious or philosophical belief"),
        ("halal_food", "religious or philosophical belief"),
        ("pregnancy_screening", "reproductive health and contraception"),
        ("birthControl", "reproductive health and contraception"),
        ("birthcontrol", "reproductive health and contraception"),
        ("family_planning", "reproductive health and contraception"),
        ("sexlife", "sex life and sexual orientation"),
        ("adult_goods", "sex life and sexual orientation"),
        ("orientation", "sex life and sexual orientation"),
        ("partymember", "political opinion"),
        ("party_membership_vetting", "political opinion"),
        ("union_dues", "trade union membership"),
        ("face_scan", "genetic and biometric data"),
        ("dnaTest", "genetic and biometric data"),
        ("mental_health", "health"),
    ],
)
def test_special_categories_are_recognised_in_every_spelling(name, category):
    assert special_category_of(name) == category
    assert any("principle 5" in m and category in m for m in name_refusals(name, "id"))


def test_sex_is_both_an_attribute_and_a_special_category():
    assert len(name_refusals("sex", "record kind")) == 2


@pytest.mark.parametrize(
    ("name", "doubt"),
    [
        ("passage", "'age'"),
        ("usage", "'age'"),
        ("message", "'age'"),
        ("sextant", "'sex'"),
        ("essex", "'sex'"),
        ("Sussex", "'sex'"),
        ("adult_education", "adult education"),
        ("birthday_gift_purchases", "birthday"),
        ("credit_union", "credit union"),
        ("unionpay", "UnionPay"),
        ("senior_staff", "senior"),
        ("face_value", "face"),
        ("shanghai-2020", "names a place"),
        ("account_age", "age of accounts"),
        ("age_of_credit_history", "age of credit"),
        ("minority_bonus", "ethnic minority"),
    ],
)
def test_innocent_senses_are_accepted_with_a_doubt(name, doubt):
    assert name_refusals(name, "id") == []
    [message] = name_doubts(name, "id")
    assert message.startswith(f"id {name!r}: ") and doubt in message


@pytest.mark.parametrize(
    "name",
    [
        "late_payments",
        "spending_capacity",
        "electricity_bills",
        "parenthood",
        "condominium",
        "husbandry",
        "idle_gaming",
        "repaid_on_time",
        "Very good",
        "AAA",
        "优秀",
    ],
)
def test_innocent_names_have_neither_refusal_nor_doubt(name):
    assert name_refusals(name, "id") == [] and name_doubts(name, "id") == []


def test_nothing_in_the_catalogues_is_refused():
    names = [k.id for k in KINDS] + list(PURCHASE_CATEGORIES) + list(PURPOSES)
    assert [n for n in names if read_name(n).refusals] == []


@pytest.mark.parametrize("category", REFUSED_CATEGORIES)
def test_every_refused_category_names_what_it_reveals(category):
    assert special_category_of(category) is not None


# --- by meaning, in any spelling ----------------------------------------------------------------

#: Words of the vocabulary that refuse a name in any spelling, with the kind of refusal.
REFUSED_WORDS = [
    "age",
    "birth",
    "dob",
    "gender",
    "female",
    "women",
    "region",
    "province",
    "hukou",
    "residence",
    "domicile",
    "nationality",
    "citizenship",
    "marital",
    "ethnicity",
    "race",
    "religion",
    "pregnancy",
    "contraceptive",
    "sexual",
    "political",
    "union",
    "genetic",
    "biometric",
    "health",
]
#: Words with no refused sense, and none in an ambiguous phrase with a refused word
#: ("loan age" is the age of a loan).
INNOCENT_WORDS = ["late", "score", "points", "bonus", "total", "rate", "check", "group", "fine"]


def spell(words: list[str], style: str) -> str:
    if style == "snake":
        return "_".join(words)
    if style == "kebab":
        return "-".join(words)
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    return "".join(words)


@settings(max_examples=300, deadline=None)
@given(
    refused=st.sampled_from(REFUSED_WORDS),
    before=st.lists(st.sampled_from(INNOCENT_WORDS), max_size=2),
    after=st.lists(st.sampled_from(INNOCENT_WORDS), max_size=2),
    style=st.sampled_from(["snake", "kebab", "camel", "glued"]),
)
def test_a_refused_word_refuses_the_name_in_any_spelling(refused, before, after, style):
    name = spell([*before, refused, *after], style)
    assert read_name(name).refusals, name


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.sampled_from(INNOCENT_WORDS), min_size=1, max_size=4),
    style=st.sampled_from(["snake", "kebab", "camel", "glued"]),
)
def test_innocent_words_are_never_refused(words, style):
    name = spell(words, style)
    assert read_name(name).refusals == (), name
