"""Special-category data: what opencredit refuses to record or score (principle 5 of
docs/principles.md).

The check works on names (record kinds, purchase categories, policy fields): a name is split
into words and each word is compared with word stems that reveal a special category. It is a
guard against honest mistakes and obvious workarounds, not a classifier; the vetted purchase
category list is the positive control (only listed categories are accepted at all).
"""

from __future__ import annotations

import re

from opencredit.errors import RefusedData

#: Special category -> word stems that reveal it. A stem matches a word that starts with it;
#: a stem ending in ``$`` matches the whole word only (so "union" is refused, "unionpay" is not).
SPECIAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "health": (
        "health",
        "medic",
        "pharma",
        "drug",
        "prescription",
        "hospital",
        "clinic",
        "diagnos",
        "disease",
        "illness",
        "disab",
        "mental",
        "therapy",
        "psychiatr",
        "vaccin",
        "hiv",
        "cancer",
        "diabet",
    ),
    "reproductive health and contraception": (
        "contracept",
        "pregnan",
        "fertility",
        "abortion",
        "ivf",
        "condom",
        "birthcontrol",
        "menstrua",
        "ovulat",
        "prenatal",
    ),
    "sex life and sexual orientation": (
        "sex$",
        "sexual",
        "orientation",
        "lgbt",
        "gay",
        "lesbian",
        "adult",
        "porn",
        "erotic",
    ),
    "racial or ethnic origin": ("ethnic", "race$", "races$", "racial", "minzu", "nationality"),
    "religious or philosophical belief": (
        "relig",
        "church",
        "mosque",
        "temple",
        "prayer",
        "faith",
        "worship",
        "bible",
        "quran",
        "koran",
        "buddhis",
        "islam",
        "christian",
        "tithe",
    ),
    "political opinion": ("politic", "party$", "protest", "election", "vote$", "votes$"),
    "trade union membership": ("union$", "unions$", "unionist", "tradeunion"),
    "genetic and biometric data": (
        "genetic",
        "genome",
        "dna",
        "biometric",
        "fingerprint",
        "face",
        "facial",
        "iris",
        "retina",
        "voiceprint",
    ),
}

_WORD = re.compile(r"[a-z0-9]+")


def _words(name: str) -> list[str]:
    """Split ``baby_care``, ``Birth-Control Pills`` or ``birthcontrol`` into lower-case words."""
    lowered = name.lower()
    words = _WORD.findall(lowered)
    # Also the words glued together, so "birth_control" is caught by "birthcontrol".
    return [*words, "".join(words)]


def _matches(word: str, stem: str) -> bool:
    if stem.endswith("$"):
        return word == stem[:-1]
    return word.startswith(stem)


def special_category_of(name: str) -> str | None:
    """The special category a name reveals, or None if it reveals none."""
    for word in _words(name):
        for category, stems in SPECIAL_CATEGORIES.items():
            if any(_matches(word, stem) for stem in stems):
                return category
    return None


def refuse_special(name: str, what: str) -> None:
    """Raise :class:`RefusedData` if ``name`` (a ``what``: kind, category, ...) is special."""
    category = special_category_of(name)
    if category is not None:
        raise RefusedData(
            f"{what} {name!r} is refused: it reveals {category}, special-category data that "
            "opencredit never records or scores (docs/principles.md, principle 5; GDPR Art. 9)"
        )


#: Person attributes that exist for the fairness audit only and never enter a score.
PERSON_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "age",
        "birth",
        "birthdate",
        "birth_date",
        "born",
        "dob",
        "sex",
        "gender",
        "region",
        "province",
        "city_of_birth",
        "hukou",
        "address",
        "postcode",
        "resident_id_region",
    }
)


def person_attribute_in(name: str) -> str | None:
    """The person attribute a name refers to (``age``, ``sex``, ``region``...), or None."""
    words = _WORD.findall(name.lower())
    joined = "_".join(words)
    if joined in PERSON_ATTRIBUTES:
        return joined
    for word in words:
        if word in PERSON_ATTRIBUTES:
            return word
    return None
