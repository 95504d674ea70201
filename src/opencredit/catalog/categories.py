"""The vetted list of purchase categories.

Only categories on this list are accepted. A category that reveals special-category data
(medicine, contraceptives, pregnancy tests, religious goods, adult goods, political donations,
union dues...) or names a person attribute (``womens_clothing``: sex) is refused with the
reason; any other unlisted category is refused as unknown,
so a new category is a deliberate, reviewed addition here and never a silent one.
"""

from __future__ import annotations

from opencredit.catalog.special import read_name, refuse_name
from opencredit.errors import UnknownName

#: category -> what it covers.
PURCHASE_CATEGORIES: dict[str, str] = {
    "groceries": "food and everyday household consumables",
    "household": "cleaning supplies, kitchenware, small appliances",
    "clothing": "clothes and shoes",
    "electronics": "phones, computers, consumer electronics",
    "video_games": "video games, consoles and in-game purchases",
    "baby_care": "diapers, baby formula, baby clothes and strollers",
    "toys": "toys and children's games",
    "books": "books, newspapers and magazines",
    "education_supplies": "stationery, course fees, school supplies",
    "sports": "sports equipment and gym memberships",
    "travel": "train and air tickets, hotels",
    "restaurants": "restaurants and food delivery",
    "utilities": "electricity, water, gas, telephone and internet bills",
    "fuel": "fuel and vehicle charging",
    "furniture": "furniture and home furnishing",
    "home_improvement": "tools, building materials",
    "pet_supplies": "pet food and supplies",
    "alcohol_tobacco": "alcoholic drinks and tobacco",
    "lottery": "lottery tickets",
    "luxury_goods": "jewellery, watches and designer goods",
}

#: Categories explicitly refused, each naming what it would reveal. Kept so that the error for
#: a common mistake is specific (and as a test fixture: every one of these must be refused).
REFUSED_CATEGORIES: tuple[str, ...] = (
    "medicine",
    "pharmacy",
    "prescription_drugs",
    "medical_devices",
    "contraceptives",
    "condoms",
    "pregnancy_tests",
    "fertility_treatment",
    "religious_goods",
    "church_donations",
    "adult_goods",
    "sex_toys",
    "political_donations",
    "party_membership_fees",
    "union_dues",
    "genetic_testing",
    "dna_kits",
)


def check_category(category: str) -> str:
    """Return ``category`` if it is on the vetted list; raise a clear error otherwise."""
    if category in PURCHASE_CATEGORIES:
        return category
    refuse_name(category, "purchase category")
    doubts = read_name(category).doubts
    hint = f" ({'; '.join(doubts)})" if doubts else ""
    raise UnknownName(
        f"purchase category {category!r} is not on the vetted list{hint}; expected one of: "
        f"{', '.join(PURCHASE_CATEGORIES)}"
    )
