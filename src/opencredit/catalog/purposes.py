"""The published catalogue of purposes: what a partner may read a score for.

A policy lists the purposes it may be read for, and a person consents to one of them. Only
purposes in this catalogue are accepted, as only vetted purchase categories are: a new purpose
is a deliberate, reviewed addition here, never a silent one. Each purpose says

- its area of life (a :class:`~opencredit.catalog.kinds.Domain`, or None for a context outside
  all of them, such as a dating profile): lint warns when a policy is read for a purpose
  outside the areas its records come from (cross-context social scoring, EU AI Act
  Art. 5(1)(c));
- what it decides about the person;
- whether it is a high-risk use under the EU AI Act (Regulation (EU) 2024/1689, Annex III):
  creditworthiness and credit scores (point 5(b)), life and health insurance pricing (5(c)),
  essential public services and benefits (5(a)), employment (4) and access to education (3).

Refused: purposes that reveal special-category data or person attributes (``religious_screening``,
``pregnancy_screening``, ``age_check``), and punitive purposes, bans and blacklists
(``flight_ban``, ``blacklist``, ``school_exclusion``): a score informs a decision a person asks
for, under their consent; it never excludes people from travel, services, schooling or work.
See docs/policies.md ("Purposes").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from opencredit.catalog.kinds import Domain
from opencredit.catalog.special import read_name, refuse_name
from opencredit.errors import RefusedData, UnknownName

#: EU AI Act Annex III points a purpose may fall under.
ANNEX_III = {
    "3(a)": "access or admission to education and vocational training",
    "4(a)": "recruitment and selection of workers",
    "4(b)": "decisions on promotion, termination and the terms of work",
    "5(a)": "eligibility for essential public assistance benefits and services",
    "5(b)": "creditworthiness and credit scores",
    "5(c)": "risk assessment and pricing in life and health insurance",
}


@dataclass(frozen=True, slots=True)
class Purpose:
    """One purpose a score may be read for.

    ``domain`` is the area of life the purpose belongs to (None: outside all of them);
    ``decides`` what it decides about the person; ``annex_iii`` the EU AI Act Annex III point
    that makes it a high-risk use, or None.
    """

    id: str
    domain: Domain | None
    decides: str
    annex_iii: str | None = None

    def __post_init__(self) -> None:
        # That no catalogued purpose is a refused name is a test (tests/catalog), not a check
        # at import: reading names loads the word corpus, which only unusual names need.
        if self.annex_iii is not None and self.annex_iii not in ANNEX_III:
            raise ValueError(f"purpose {self.id}: unknown Annex III point {self.annex_iii}")

    @property
    def high_risk(self) -> bool:
        """True if the EU AI Act lists this use as high-risk (Annex III)."""
        return self.annex_iii is not None

    @property
    def annex_iii_text(self) -> str | None:
        """``Annex III 5(b) (creditworthiness and credit scores)``, or None."""
        if self.annex_iii is None:
            return None
        return f"Annex III {self.annex_iii} ({ANNEX_III[self.annex_iii]})"


_F, _T, _E, _C, _W, _V = (
    Domain.FINANCE,
    Domain.TRAFFIC,
    Domain.EDUCATION,
    Domain.COMMERCE,
    Domain.EMPLOYMENT,
    Domain.CIVIC,
)

PURPOSES_LIST: tuple[Purpose, ...] = (
    # finance: creditworthiness (Annex III 5(b))
    Purpose("lending", _F, "whether to lend to the person, and on what terms", "5(b)"),
    Purpose("credit_card", _F, "whether to issue a credit card, and its limit", "5(b)"),
    Purpose("mortgage", _F, "whether to grant a home loan, and on what terms", "5(b)"),
    Purpose("student_loan", _F, "whether to grant a student loan, and on what terms", "5(b)"),
    Purpose("buy_now_pay_later", _F, "whether to let the person pay for goods later", "5(b)"),
    Purpose("car_finance", _F, "whether to finance or lease a car to the person", "5(b)"),
    Purpose("rental_deposit", _F, "the deposit a landlord asks for", "5(b)"),
    Purpose("tenancy", _F, "whether a landlord rents a home to the person", "5(b)"),
    Purpose(
        "deposit_waiver",
        _F,
        "whether a bike, power bank or hotel rental waives its deposit",
        "5(b)",
    ),
    Purpose(
        "telecom_contract", _F, "whether to offer a post-paid phone or internet contract", "5(b)"
    ),
    Purpose(
        "utilities_contract", _F, "whether a power, water or gas supplier asks a deposit", "5(b)"
    ),
    # insurance
    Purpose("motor_insurance", _T, "the premium of the person's motor insurance"),
    Purpose("home_insurance", _F, "the premium of the person's home insurance"),
    Purpose("life_insurance", None, "the premium of the person's life insurance", "5(c)"),
    # employment (Annex III 4)
    Purpose("employment_screening", _W, "whether to hire an applicant", "4(a)"),
    Purpose("promotion", _W, "whether to promote an employee", "4(b)"),
    Purpose("civil_service_promotion", _W, "whether to promote a civil servant", "4(b)"),
    # education (Annex III 3(a))
    Purpose("school_admission", _E, "whether a school or university admits the person", "3(a)"),
    Purpose("scholarship", _E, "whether to award the person a scholarship or study grant", "3(a)"),
    # commerce
    Purpose("travel_booking", _C, "booking terms for travel: deposits, paying later"),
    Purpose("marketplace_seller", _C, "whether an online marketplace lets the person sell"),
    Purpose("loyalty_programme", _C, "perks in a shop's loyalty programme"),
    # civic
    Purpose("volunteer_recognition", _V, "public recognition of the person's volunteering"),
    # outside the six areas
    Purpose(
        "public_services", None, "priority or conditions for the person's public services", "5(a)"
    ),
    Purpose("social_housing", None, "whether the person is allotted social housing", "5(a)"),
    Purpose("public_benefits", None, "the person's eligibility for public benefits", "5(a)"),
    Purpose("dating_profile", None, "a score shown on the person's dating profile"),
)

#: purpose id -> purpose.
PURPOSES: dict[str, Purpose] = {p.id: p for p in PURPOSES_LIST}

#: Punitive purposes, each with what it would ban; refused with that reason. Kept so that the
#: error for a known practice is specific (and as a test fixture: each must be refused).
PUNITIVE_PURPOSES: dict[str, str] = {
    "blacklist": "lists people to be shut out of services, travel or jobs",
    "dishonest_debtor_list": "publicly lists people as dishonest and restricts their lives",
    "travel_ban": "bans people from travelling",
    "flight_ban": "bans people from flying",
    "train_ban": "bans people from trains",
    "high_speed_rail_ban": "bans people from high-speed trains",
    "exit_ban": "bans people from leaving the country",
    "hotel_ban": "bans people from hotels",
    "consumption_restriction": "bans people from 'high consumption': hotels, flights, schools",
    "school_exclusion": "excludes people, or their children, from schools",
    "private_school_ban": "bans people's children from private schools",
    "employment_ban": "bans people from jobs",
    "civil_service_ban": "bans people from the civil service",
    "public_shaming": "shames people in public",
    "service_denial": "denies people services",
    "internet_throttling": "slows or cuts people's internet access",
}

#: Words that make a purpose punitive, whatever it is called: a ban, a blacklist, an exclusion.
#: ``stem*`` matches every word starting with the stem.
PUNITIVE_WORDS: tuple[str, ...] = (
    "ban",
    "bans",
    "banned",
    "banning",
    "blacklist*",
    "blocklist*",
    "denylist*",
    "watchlist*",
    "blacklisting",
    "nofly",
    "exclud*",
    "exclusion*",
    "expel*",
    "expul*",
    "barred",
    "debar*",
    "disqualif*",
    "sanction*",
    "punish*",
    "penalis*",
    "penaliz*",
    "restrict*",
    "prohibit*",
    "forbid*",
    "shame*",
    "shaming",
    "dishonest*",
    "laolai",
    "deny",
    "denial*",
    "revok*",
    "revocation*",
    "suspend*",
    "suspension*",
    "throttl*",
    "boycott*",
    "ostraci*",
    "deport*",
    "confiscat*",
    "lockout*",
)


def punitive_reason(purpose: str) -> str | None:
    """What ``purpose`` would do if it is punitive (a ban, blacklist, exclusion...), or None."""
    if purpose in PUNITIVE_PURPOSES:
        return f"it {PUNITIVE_PURPOSES[purpose]}"
    words = read_name(purpose).words
    # Also each word glued to the next: ``black_list``, ``no_fly``.
    candidates = [*words, *(a + b for a, b in itertools.pairwise(words))]
    for word in candidates:
        for term in PUNITIVE_WORDS:
            stem = term.removesuffix("*")
            if word == stem or (term.endswith("*") and word.startswith(stem)):
                return f"{word!r} names a ban, a blacklist or an exclusion"
    return None


def get_purpose(purpose: str) -> Purpose:
    """The catalogued purpose ``purpose``; raises :class:`RefusedData` for a punitive purpose or
    one that names special-category data or a person attribute, :class:`UnknownName` for any
    other purpose not in the catalogue (listing those that are)."""
    found = PURPOSES.get(purpose)
    if found is not None:
        return found
    refuse_name(purpose, "purpose")
    reason = punitive_reason(purpose)
    if reason is not None:
        raise RefusedData(
            f"purpose {purpose!r} is refused as punitive: {reason}. opencredit scores "
            "inform a decision a person asks for, under their consent; they never ban people "
            "from travel, services, schools or jobs (docs/policies.md, 'Purposes')"
        )
    doubts = read_name(purpose).doubts
    hint = f" ({'; '.join(doubts)})" if doubts else ""
    raise UnknownName(
        f"purpose {purpose!r} is not in the catalogue of purposes{hint}; expected one of: "
        f"{', '.join(PURPOSES)}"
    )


def check_purpose(purpose: str) -> str:
    """Return ``purpose`` if it is in the catalogue; raise a clear error otherwise."""
    return get_purpose(purpose).id
