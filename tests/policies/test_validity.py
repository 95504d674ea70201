"""Policy validity lives in the model: whatever lint calls an error, ``parse_policy`` refuses
too, naming the field and the reason (issue 9, sections 1 and 2). Every case is checked both
ways; the properties at the end try refused names through every field of generated documents.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.catalog import KINDS, PERSON_ATTRIBUTES, PURPOSES, SPECIAL_CATEGORIES, Domain
from opencredit.errors import PolicyError
from opencredit.policies.lint import lint_policy_text
from opencredit.policies.model import parse_policy

BASE: dict[str, Any] = {
    "id": "test",
    "version": 1,
    "name": "Test: not about age, sex, religion or pregnancy (prose may say so)",
    "description": "Prose may mention hukou, ethnicity and party membership.",
    "range": [0, 100],
    "base": 50.0,
    "purposes": ["home_insurance"],
    "bands": [{"name": "Low", "min": 0, "max": 49}, {"name": "High", "min": 50, "max": 100}],
    "factors": [
        {
            "id": "late",
            "kinds": ["payment_missed"],
            "per_record": -5.0,
            "half_life_days": 365.0,
            "min": -50.0,
            "max": 0.0,
            "reason": "Late payments (not about age)",
        }
    ],
}


def value(v: Any) -> str:
    """A TOML value, including nan and infinities."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v)
    return repr(v)


def document(data: dict[str, Any]) -> str:
    """``data`` as a TOML policy document (arrays of tables for bands and factors)."""
    lines = [
        f"{json.dumps(k)} = {value(v)}" for k, v in data.items() if k not in ("bands", "factors")
    ]
    for table in ("bands", "factors"):
        for item in data.get(table, []):
            lines.append(f"\n[[{table}]]")
            lines += [f"{json.dumps(k)} = {value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def changed(path: str, new: Any) -> dict[str, Any]:
    """BASE with the field at ``path`` (``factors.0.per_record``) set to ``new``."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = new
    return data


def test_the_base_document_loads_and_lints_clean():
    text = document(BASE)
    assert parse_policy(text).key == "test@1"
    assert lint_policy_text(text).findings == []


def refused_both_ways(data: dict[str, Any], field: str, reason: str) -> None:
    """parse_policy refuses ``data`` naming ``field`` and ``reason``; so does lint."""
    text = document(data)
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.toml")
    message = str(info.value)
    assert f"{field}: " in message and reason in message, message
    report = lint_policy_text(text, "p.toml")
    assert report.policy is None
    assert any(e.field == field and reason in e.message for e in report.errors), report.errors


# --- 1. purposes are a vetted catalogue ---------------------------------------------------------

PURPOSE_CASES = {
    "unknown": ("yacht_club", "not in the catalogue of purposes"),
    "punitive, listed": ("flight_ban", "refused as punitive: it bans people from flying"),
    "punitive, by its words": ("rail_blacklist", "refused as punitive"),
    "school exclusion": ("school_exclusion", "refused as punitive"),
    "religion": ("religious_screening", "reveals religious or philosophical belief"),
    "ethnicity": ("ethnicity_check", "reveals racial or ethnic origin"),
    "sexual orientation": ("orientation_check", "reveals sex life and sexual orientation"),
    "family planning": ("family_planning", "reveals reproductive health and contraception"),
    "pregnancy": ("pregnancy_screening", "reveals reproductive health and contraception"),
    "political activity": ("party_membership_vetting", "reveals political opinion"),
    "age": ("age_check", "person attribute 'age'"),
    "hukou": ("hukouScreening", "person attribute 'region'"),
}


@pytest.mark.parametrize("case", list(PURPOSE_CASES))
def test_purposes_outside_the_catalogue_are_refused(case):
    purpose, reason = PURPOSE_CASES[case]
    refused_both_ways(changed("purposes", ["lending", purpose]), "purposes", reason)


# --- 2. names: person attributes and special categories in every field -------------------------

NAME_CASES = {
    "policy id": ("id", "age-banded", "person attribute 'age'"),
    "factor id": ("factors.0.id", "by_gender", "person attribute 'sex'"),
    "factor id, glued": ("factors.0.id", "birthyear_points", "person attribute 'age'"),
    "factor id, special": ("factors.0.id", "halal_bonus", "religious or philosophical belief"),
    "band name": ("bands.0.name", "Young women", "person attribute"),
    "band name, ethnicity": ("bands.1.name", "Ethnic majority", "racial or ethnic origin"),
    "band name, Han": ("bands.1.name", "Han", "racial or ethnic origin"),
    "band name, full-width": ("bands.0.name", "\uff21\uff47\uff45 group", "'age'"),
    "band name, zero-width space": ("bands.0.name", "A\u200bge group", "'age'"),
    "band name, Cyrillic a": ("bands.0.name", "\u0410ge group", "'age'"),
    "kind": ("factors.0.kinds", ["payment_missed", "ageGroup"], "person attribute 'age'"),
    "kind, special": ("factors.0.kinds", ["ethnicity"], "racial or ethnic origin"),
}


@pytest.mark.parametrize("case", list(NAME_CASES))
def test_refused_names_are_refused_in_every_field(case):
    path, name, reason = NAME_CASES[case]
    field = path.replace("factors.0", "factors.late")
    if path == "factors.0.id":
        field = f"factors.{name}.id"
    refused_both_ways(changed(path, name), field, reason)


@pytest.mark.parametrize(
    ("category", "reason"),
    [("womens_clothing", "person attribute 'sex'"), ("halal_food", "religious")],
)
def test_refused_categories(category, reason):
    data = changed("factors.0.kinds", ["purchase"])
    data["factors"][0]["categories"] = [category]
    refused_both_ways(data, "factors.late.categories", reason)


@pytest.mark.parametrize("key", ["min_age", "birthYear", "region"])
def test_attribute_keys_are_refused_as_attributes_not_only_unknown(key):
    data = copy.deepcopy(BASE)
    data["factors"][0][key] = 18
    refused_both_ways(data, f"factors.late.{key}", "person attribute")
    with pytest.raises(PolicyError, match="unknown field"):
        parse_policy(document(data))


def test_an_ambiguous_name_loads_with_a_warning_naming_the_doubt():
    text = document(changed("factors.0.id", "adult_education"))
    assert parse_policy(text).factors[0].id == "adult_education"
    [warning] = lint_policy_text(text).warnings
    assert warning.field == "factors.adult_education.id" and "adult education" in warning.message


# --- 2. numbers are finite ----------------------------------------------------------------------

NUMBER_FIELDS = [
    "base",
    "range.1",
    "bands.0.min",
    "bands.1.max",
    "factors.0.per_record",
    "factors.0.per_unit",
    "factors.0.half_life_days",
    "factors.0.window_days",
    "factors.0.min",
    "factors.0.max",
]


@pytest.mark.parametrize("path", NUMBER_FIELDS)
@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf, 1e300])
def test_numbers_must_be_finite_and_bounded(path, number):
    field = path.replace("factors.0", "factors.late")
    text = document(changed(path, number))
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.toml")
    assert f"{field}: " in str(info.value)
    assert any(e.field == field for e in lint_policy_text(text).errors)


# --- properties ---------------------------------------------------------------------------------


def vocabulary(*tables: dict[str, tuple[str, ...]]) -> list[str]:
    """The ASCII words of the refused vocabulary, and a word of each stem's family."""
    return sorted(
        {
            STEM_WORDS.get(term, term.replace(" ", ""))
            for table in tables
            for terms in table.values()
            for term in terms
            if term.isascii()
        }
    )


#: For each stem of the vocabulary (a word family), one word of the family.
STEM_WORDS = {
    "chromosom*": "chromosomes",
    "health*": "healthcare",
    "medic*": "medication",
    "pharma*": "pharmacy",
    "drug*": "drugs",
    "prescription*": "prescriptions",
    "clinic*": "clinical",
    "diagnos*": "diagnosis",
    "disease*": "diseases",
    "illness*": "illnesses",
    "sick*": "sickness",
    "disab*": "disability",
    "handicap*": "handicapped",
    "therap*": "therapy",
    "psychiatr*": "psychiatric",
    "psycholog*": "psychology",
    "vaccin*": "vaccination",
    "cancer*": "cancer",
    "diabet*": "diabetes",
    "dentist*": "dentistry",
    "addict*": "addiction",
    "rehab*": "rehabilitation",
    "contracept*": "contraception",
    "pregnan*": "pregnancy",
    "infertil*": "infertility",
    "abortion*": "abortions",
    "menstrua*": "menstrual",
    "ovulat*": "ovulation",
    "tampon*": "tampons",
    "miscarriage*": "miscarriages",
    "obstetric*": "obstetrics",
    "gynaec*": "gynaecology",
    "gynec*": "gynecology",
    "sexual*": "sexuality",
    "lgbt*": "lgbtq",
    "lesbian*": "lesbians",
    "homosexual*": "homosexuality",
    "bisexual*": "bisexuality",
    "heterosexual*": "heterosexual",
    "transgender*": "transgender",
    "porn*": "pornography",
    "erotic*": "erotica",
    "fetish*": "fetishes",
    "brothel*": "brothels",
    "prostitut*": "prostitution",
    "ethnic*": "ethnicity",
    "racial*": "racially",
    "uyghur*": "uyghurs",
    "uighur*": "uighurs",
    "tibetan*": "tibetans",
    "hispanic*": "hispanics",
    "latino*": "latinos",
    "latina*": "latinas",
    "caucasian*": "caucasians",
    "relig*": "religious",
    "church*": "churches",
    "mosque*": "mosques",
    "synagogue*": "synagogues",
    "prayer*": "prayers",
    "worship*": "worshipping",
    "bible*": "bibles",
    "quran*": "quranic",
    "koran*": "koranic",
    "buddhis*": "buddhist",
    "islam*": "islamic",
    "muslim*": "muslims",
    "christian*": "christianity",
    "catholic*": "catholics",
    "protestant*": "protestants",
    "hindu*": "hinduism",
    "sikh*": "sikhs",
    "atheis*": "atheist",
    "tithe*": "tithes",
    "falun*": "falungong",
    "politic*": "politics",
    "protest*": "protests",
    "election*": "elections",
    "voter*": "voters",
    "petition*": "petitions",
    "activis*": "activist",
    "dissident*": "dissidents",
    "ideolog*": "ideology",
    "partisan*": "partisanship",
    "democra*": "democratic",
    "communis*": "communist",
    "unionist*": "unionists",
    "unionis*": "unionised",
    "tradeunion*": "tradeunions",
    "genetic*": "genetics",
    "genom*": "genomics",
    "biometric*": "biometrics",
    "fingerprint*": "fingerprints",
    "facial*": "facial",
    "retina*": "retinal",
    "voiceprint*": "voiceprints",
    "palmprint*": "palmprints",
    "youngster*": "youngsters",
    "youth*": "youths",
    "teenager*": "teenagers",
    "adolescen*": "adolescent",
    "juvenile*": "juveniles",
    "millennial*": "millennials",
    "boomer*": "boomers",
    "gender*": "genders",
    "female*": "females",
    "masculin*": "masculinity",
    "feminin*": "femininity",
    "region*": "regional",
    "province*": "provinces",
    "prefecture*": "prefectures",
    "district*": "districts",
    "domicile*": "domiciled",
    "residence*": "residences",
    "address*": "addresses",
    "postcode*": "postcodes",
    "zipcode*": "zipcodes",
    "location*": "locations",
    "geolocation*": "geolocation",
    "latitude*": "latitudes",
    "longitude*": "longitudes",
    "neighbourhood*": "neighbourhoods",
    "neighborhood*": "neighborhoods",
    "hometown*": "hometowns",
    "birthplace*": "birthplaces",
    "migrant*": "migrants",
    "immigra*": "immigrant",
    "emigra*": "emigrant",
    "citizenship*": "citizenships",
    "foreigner*": "foreigners",
    "expat*": "expats",
    "passport*": "passports",
    "marriage*": "marriages",
    "spouse*": "spouses",
    "divorc*": "divorced",
    "widow*": "widowed",
    "fiance*": "fiancee",
    "kazakh*": "kazakhs",
    "refugee*": "refugees",
    "hijab*": "hijabs",
    "burqa*": "burqas",
    "niqab*": "niqabs",
    "wheelchair*": "wheelchairs",
    "pensioner*": "pensioners",
    "retiree*": "retirees",
    "zodiac*": "zodiacal",
    "horoscope*": "horoscopes",
    "mongol*": "mongolian",
    "sexagenarian*": "sexagenarians",
    "septuagenarian*": "septuagenarians",
    "octogenarian*": "octogenarians",
    "nonagenarian*": "nonagenarians",
    "centenarian*": "centenarians",
    "pronoun*": "pronouns",
    "cohabit*": "cohabiting",
    "spinster*": "spinsters",
    "tubercul*": "tuberculosis",
    "autis*": "autistic",
    "schizophren*": "schizophrenia",
    "alzheimer*": "alzheimers",
    "parkinson*": "parkinsons",
    "epilep*": "epilepsy",
    "asthma*": "asthmatic",
    "dyslexi*": "dyslexia",
    "amputee*": "amputees",
    "paralys*": "paralysis",
    "paralyz*": "paralyzed",
    "overdos*": "overdose",
    "opioid*": "opioids",
    "suicid*": "suicide",
    "anorexi*": "anorexia",
    "bulimi*": "bulimia",
    "geriatric*": "geriatrics",
    "breastfe*": "breastfeeding",
    "lactat*": "lactation",
    "menopaus*": "menopause",
    "vasectom*": "vasectomy",
    "trimester*": "trimesters",
    "doula*": "doulas",
    "gestation*": "gestational",
    "embryo*": "embryos",
    "sperm*": "sperm",
    "asexual*": "asexuality",
    "pansexual*": "pansexuality",
    "transsexual*": "transsexuals",
    "transvestite*": "transvestites",
    "crossdress*": "crossdressing",
    "hookup*": "hookups",
    "swinger*": "swingers",
    "stripclub*": "stripclubs",
    "kyrgyz*": "kyrgyzstan",
    "tajik*": "tajiks",
    "uzbek*": "uzbeks",
    "tatar*": "tatars",
    "aboriginal*": "aboriginals",
    "congregation*": "congregations",
    "parish*": "parishioner",
    "diocese*": "dioceses",
    "pilgrim*": "pilgrimage",
    "missionar*": "missionary",
    "baptis*": "baptism",
    "baptiz*": "baptized",
    "monaster*": "monastery",
    "priest*": "priesthood",
    "rabbi*": "rabbinical",
    "taois*": "taoism",
    "daois*": "daoist",
    "confucian*": "confucianism",
    "shinto*": "shintoism",
    "zoroastr*": "zoroastrian",
    "mormon*": "mormons",
    "evangelical*": "evangelicals",
    "pentecostal*": "pentecostals",
    "sectarian*": "sectarianism",
    "scripture*": "scriptures",
    "sermon*": "sermons",
    "believer*": "believers",
    "theolog*": "theology",
    "moslem*": "moslems",
    "agnostic*": "agnosticism",
    "apostas*": "apostasy",
    "apostate*": "apostates",
    "blasphem*": "blasphemy",
    "heretic*": "heretical",
    "quaker*": "quakers",
    "dissent*": "dissenters",
    "leftist*": "leftists",
    "rightist*": "rightists",
    "socialis*": "socialism",
    "marxis*": "marxism",
    "maois*": "maoism",
    "fascis*": "fascism",
    "nazi*": "nazism",
    "anarchis*": "anarchism",
    "separatis*": "separatism",
    "picket*": "picketing",
    "walkout*": "walkouts",
    "handprint*": "handprints",
}


REFUSED = vocabulary(PERSON_ATTRIBUTES, SPECIAL_CATEGORIES)
#: Words with no refused sense, and none in an ambiguous phrase with a refused word.
INNOCENT = ["late", "rate", "score", "points", "good", "fair", "repaid", "fines", "tier", "total"]
STYLES = ["snake", "kebab", "glued"]


def spell(words: list[str], style: str) -> str:
    return {"snake": "_", "kebab": "-", "glued": ""}[style].join(words)


@st.composite
def names(draw: st.DrawFn, refused: bool) -> str:
    """An identifier of innocent words, with one refused word among them if ``refused``."""
    words = draw(st.lists(st.sampled_from(INNOCENT), min_size=0 if refused else 1, max_size=3))
    style = draw(st.sampled_from(STYLES))
    if refused:
        if style == "glued":
            # Glued, at most one innocent word on each side: a longer run of glued words can
            # swallow a romanised term across a boundary ("latexingbie": "latex in gb ie").
            words = words[:2]
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(REFUSED)))
    return spell(words, style)


#: Where a name can go in a document: (path, how the name is placed there).
PLACES = [
    "id",
    "factors.0.id",
    "bands.0.name",
    "factors.0.kinds",
    "factors.0.categories",
    "purposes",
    "key",
]


def place(name: str, where: str) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    if where == "factors.0.kinds":
        data["factors"][0]["kinds"] = ["payment_missed", name]
    elif where == "factors.0.categories":
        data["factors"][0]["kinds"] = ["purchase"]
        data["factors"][0]["categories"] = ["groceries", name]
    elif where == "purposes":
        data["purposes"] = ["lending", name]
    elif where == "key":
        data["factors"][0][name] = 1
    else:
        data = changed(where, name)
    return data


@settings(max_examples=300, deadline=None)
@given(name=names(refused=True), where=st.sampled_from(PLACES))
def test_no_document_with_a_refused_name_in_any_field_loads(name, where):
    text = document(place(name, where))
    with pytest.raises(PolicyError):
        parse_policy(text)
    report = lint_policy_text(text)
    assert report.policy is None
    assert any("principle 4" in e.message or "principle 5" in e.message for e in report.errors)


@settings(max_examples=200, deadline=None)
@given(
    policy_id=names(refused=False),
    factor_ids=st.lists(names(refused=False), min_size=1, max_size=3, unique=True),
    band=names(refused=False),
    kinds=st.lists(st.sampled_from([k.id for k in KINDS if not k.needs_category]), min_size=1),
    purposes=st.lists(st.sampled_from(sorted(PURPOSES)), min_size=1, max_size=4),
)
def test_innocent_documents_load(policy_id, factor_ids, band, kinds, purposes):
    data = copy.deepcopy(BASE)
    data.update(id=policy_id, purposes=purposes)
    data["bands"][0]["name"] = band
    data["factors"] = [dict(BASE["factors"][0], id=i, kinds=kinds) for i in factor_ids]
    text = document(data)
    policy = parse_policy(text)
    assert policy.id == policy_id
    assert lint_policy_text(text).ok


def test_every_stem_has_a_word_of_its_family():
    stems = {
        t
        for table in (PERSON_ATTRIBUTES, SPECIAL_CATEGORIES)
        for ts in table.values()
        for t in ts
        if t.endswith("*")
    }
    assert stems == set(STEM_WORDS)
    assert all(word.startswith(stem[:-1]) for stem, word in STEM_WORDS.items())


# --- 1. every catalogued purpose is judged ------------------------------------------------------


@pytest.mark.parametrize("purpose", sorted(PURPOSES))
def test_every_purpose_is_judged_for_cross_context_use_and_risk(purpose):
    """A finance-only policy read for ``purpose``: a cross-context warning unless the purpose is
    a finance one, and the Annex III note exactly when the purpose is a high-risk use."""
    report = lint_policy_text(document(changed("purposes", [purpose])))
    assert report.ok
    cross = [w for w in report.warnings if "Art. 5(1)(c)" in w.message]
    assert bool(cross) == (PURPOSES[purpose].domain is not Domain.FINANCE)
    if cross:
        assert cross[0].field == "purposes" and purpose in cross[0].message
    notes = [n for n in report.notes if "Annex III" in n.message]
    assert bool(notes) == PURPOSES[purpose].high_risk
    if notes:
        assert f"{purpose}: Annex III {PURPOSES[purpose].annex_iii}" in notes[0].message


# --- every loading path -------------------------------------------------------------------------


def test_load_policy_and_install_policy_refuse_what_lint_refuses(tmp_path):
    from opencredit.policies.model import load_policy
    from opencredit.workspace import Workspace

    path = tmp_path / "screening.toml"
    path.write_text(document(changed("purposes", ["religious_screening"])), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"screening\.toml: purposes: .*religious"):
        load_policy(path)
    with Workspace.init(tmp_path / "data") as ws:
        with pytest.raises(PolicyError, match="religious"):
            ws.install_policy(path)
        assert not any(p.startswith("test@") for p in ws.policies)
