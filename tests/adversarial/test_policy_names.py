"""Issue 9, probe kinds 1-2, tried as an adversary would: person attributes and special-category
data named by meaning in a policy's names (synonyms, disguised letters, glued, Chinese), and
numbers that are not finite. Each must be refused by ``parse_policy`` and lint alike; innocent
names that merely look close must load (a warning is fine)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from opencredit.errors import PolicyError
from opencredit.policies.lint import lint_policy_text
from opencredit.policies.model import parse_policy

BASE: dict[str, Any] = {
    "id": "probe",
    "version": 1,
    "name": "Probe",
    "range": [0, 100],
    "base": 50.0,
    "purposes": ["lending"],
    "bands": [{"name": "Low", "min": 0, "max": 49}, {"name": "High", "min": 50, "max": 100}],
    "factors": [
        {
            "id": "late",
            "kinds": ["payment_missed"],
            "per_record": -5.0,
            "half_life_days": 365.0,
            "min": -50.0,
            "max": 0.0,
            "reason": "Late payments",
        }
    ],
}


def document(data: dict[str, Any], raw: dict[str, str] | None = None) -> str:
    """``data`` as TOML; ``raw`` replaces the value of a top-level key with literal TOML."""
    raw = raw or {}
    lines = [
        f"{k} = {raw.get(k, json.dumps(v))}"
        for k, v in data.items()
        if k not in ("bands", "factors")
    ]
    for table in ("bands", "factors"):
        for item in data[table]:
            lines.append(f"[[{table}]]")
            lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def refused(text: str) -> None:
    """Neither parse_policy nor lint accepts ``text``."""
    with pytest.raises(PolicyError):
        parse_policy(text)
    report = lint_policy_text(text)
    assert report.policy is None and report.errors


def with_band(name: str) -> str:
    data = copy.deepcopy(BASE)
    data["bands"][0]["name"] = name
    return document(data)


def with_factor_id(name: str) -> str:
    data = copy.deepcopy(BASE)
    data["factors"][0]["id"] = name
    return document(data)


#: Names that reveal special-category data or a person attribute, by meaning.
DISGUISED = {
    # synonyms the issue lists and their families
    "creed": "creed_score",
    "congregation": "congregation_member",
    "pilgrim": "pilgrimage_trips",
    "clergy family": "priestFamily",
    "monks": "monks",
    "nuns": "nuns",
    "ethnic": "ethnic_group",
    "tribe": "tribe",
    "caste": "caste_tier",
    "pregnant": "pregnant",
    "maternity": "maternity_leave",
    "fertility": "fertilityClinic",
    "ivf": "IVF",
    "abortion": "abortion_history",
    "breastfeeding": "breastfeeding",
    "menopause": "menopause",
    "gay": "gay",
    "lgbt": "LGBTQ",
    "asexual": "asexual",
    "disability": "disability",
    "mental": "mental_state",
    "rehab": "rehab",
    "depression glued": "depressionanxiety",
    "autism": "autistic",
    "dementia": "dementia_risk",
    "hepatitis": "hepatitis_b",
    "genome": "genome",
    "fingerprint": "fingerprint",
    "face scan": "faceScan",
    "iris": "iris",
    "voter": "voter",
    "protest": "protest",
    "petition": "petitioner",
    "xinfang": "xinfang",
    "labour union": "labour_union",
    "strike": "strike_participation",
    "on strike": "daysOnStrike",
    "picket": "picketing",
    "dissent": "dissenters",
    "senior citizen": "senior_citizen",
    "octogenarian": "octogenarian",
    "pronouns": "pronouns",
    "housewife": "housewife",
    "cohabiting": "cohabiting",
    "period tracker": "period_tracker",
    "voted": "votedFor",
    "chromosome": "xx_chromosome",
    "psych": "psychTreatment",
    "yrs old": "yrs_old",
    "ID prefix": "idPrefix",
    "ID in pinyin": "shengfenzheng",
    # Chinese terms
    "宗教": "宗教",
    "民族": "少数民族",
    "怀孕": "怀孕",
    "避孕": "避孕",
    "党员": "党员",
    "性别": "性别",
    "年龄": "年龄",
    "户籍": "户籍",
    "二胎": "二胎",
    "90后": "90后",
    "上访": "上访户",
    "罢工": "罢工",
    "党员, traditional": "黨員",
    "性别, traditional": "性別",
    "年龄, traditional": "年齡",
    "户籍, traditional": "戶籍",
    "同性恋, traditional": "同性戀",
    "工会, traditional": "工會",
    "生肖": "生肖",
    "外地人": "外地人",
    "怀孕 in pinyin with tones": "huáiyùn",
    "避孕 in pinyin": "biyun_purchases",
    "户口 in pinyin with tones": "hùkǒu",
    "工会 in pinyin": "gong_hui",
    # disguised letters
    "all-Cyrillic sex": "\u0455\u0435\u0445",
    "Cyrillic age": "\u0430g\u0435",
    "small capitals": "\u1d00\u0262\u1d07 band",
    "letters with marks": "\u00e2g\u00e9 group",
    "combining marks": "a\u0301ge group",
    "Greek rho": "\u03c1regnant",
    "Cherokee": "\u13aage",
    "mathematical bold": "\U0001d41a\U0001d420\U0001d41e",
    "circled": "\u24d0\u24d6\u24d4",
    "right-to-left mark": "a\u200fge",
    "word joiner": "se\u2060x",
    "soft hyphen": "reli\u00adgion",
    "full-width": "\uff52\uff45\uff4c\uff49\uff47\uff49\uff4f\uff4e",
    "upper-case": "RELIGION",
    "spaced out": "r e l i g i o n",
}


@pytest.mark.parametrize("name", DISGUISED.values(), ids=DISGUISED.keys())
def test_band_names_revealing_refused_data_are_refused(name: str) -> None:
    refused(with_band(name))


ASCII_IDS = {k: v for k, v in DISGUISED.items() if re.fullmatch(r"[A-Za-z0-9_]+", v)}


@pytest.mark.parametrize("name", [v.lower() for v in ASCII_IDS.values()], ids=ASCII_IDS.keys())
def test_factor_ids_revealing_refused_data_are_refused(name: str) -> None:
    refused(with_factor_id(name))


INNOCENT = [
    "mortgage",
    "average",
    "usage",
    "passage",
    "message",
    "adult_education",
    "birthday_gift",
    "credit_union",
    "UnionPay",
    "Essex",
    "on_time_payments",
    "transactions",
    "three_strikes",
    "monk_fruit",
    "nunchi",
    "good_standing",
    "Excellent",
    "\u826f\u597d",  # 良好 (good)
    "優秀",  # excellent, in traditional characters
    "Stra\u00dfe",
]


@pytest.mark.parametrize("name", INNOCENT)
def test_innocent_band_names_load(name: str) -> None:
    text = with_band(name)
    assert parse_policy(text).bands[0].name == name
    assert lint_policy_text(text).ok


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", "+inf", "1e400", "-1e400"])
@pytest.mark.parametrize("field", ["base"])
def test_numbers_that_are_not_finite_are_refused(field: str, literal: str) -> None:
    refused(document(BASE, {field: literal}))


@pytest.mark.parametrize("literal", ["nan", "inf", "1e400", "1e300"])
@pytest.mark.parametrize("field", ["per_record", "per_unit", "half_life_days", "min", "max"])
def test_factor_numbers_that_are_not_finite_or_huge_are_refused(field: str, literal: str) -> None:
    text = with_factor_id("late").replace('"min" = -50.0', '"min" = -50.0', 1)
    text = re.sub(rf'"{field}" = [^\n]*\n', "", text) + f'"{field}" = {literal}\n'
    refused(text)


#: Purposes an adversary would try: screening by what may not be scored, punishment, and
#: names outside the catalogue. Refused whatever the reason (the catalogue is closed).
PURPOSES = [
    "visa_vetting",
    "exit_ban",
    "high_speed_rail_restriction",
    "kindergarten_admission_children_of_debtors",
    "religious_screening",
    "faith_check",
    "ethnicity_review",
    "orientation_check",
    "family_planning_compliance",
    "pregnancy_screening",
    "party_loyalty",
    "political_vetting",
    "union_screening",
    "tenancy_by_age",
    "Lending",
    "lending ",
    "\uff4c\uff45\uff4e\uff44\uff49\uff4e\uff47",  # full-width lending
    "lend\u200bing",
    "l\u0435nding",  # Cyrillic e
]


@pytest.mark.parametrize("purpose", PURPOSES)
def test_purposes_outside_the_catalogue_are_refused(purpose: str) -> None:
    data = copy.deepcopy(BASE)
    data["purposes"] = [purpose]
    refused(document(data))


#: Characters no policy text may hold: NUL (PostgreSQL cannot store it), other controls, a
#: right-to-left override (a reason shown reversed), invisible and unassigned characters.
HIDDEN = ["\\u0000", "\\u0007", "\\u001b", "\\u007f", "\\u202e", "\\u200b", "\\u2028", "\\ufeff"]


@pytest.mark.parametrize("char", HIDDEN)
@pytest.mark.parametrize("field", ["name", "description", "provider"])
def test_policy_texts_are_printable(field: str, char: str) -> None:
    data = {**copy.deepcopy(BASE), field: ""}
    refused(document(data, {field: f'"Fine {char}text"'}))


@pytest.mark.parametrize("char", HIDDEN)
def test_band_names_and_reasons_are_printable(char: str) -> None:
    text = with_band("Low").replace('"name" = "Low"', f'"name" = "Lo{char}w"')
    refused(text)
    text = with_band("Low").replace('"reason" = "Late payments"', f'"reason" = "Late{char}"')
    refused(text)


def test_prose_keeps_line_breaks_and_tabs() -> None:
    data = {**copy.deepcopy(BASE), "description": ""}
    policy = parse_policy(document(data, {"description": '"Line one\\n\\tline two"'}))
    assert policy.description == "Line one\n\tline two"
