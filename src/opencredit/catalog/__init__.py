"""What may be recorded: record kinds by domain, vetted purchase categories, refusals."""

from opencredit.catalog.categories import PURCHASE_CATEGORIES, REFUSED_CATEGORIES, check_category
from opencredit.catalog.kinds import KINDS, KINDS_BY_ID, Domain, RecordKind, get_kind
from opencredit.catalog.special import (
    PERSON_ATTRIBUTES,
    person_attribute_in,
    refuse_special,
    special_category_of,
)

__all__ = [
    "KINDS",
    "KINDS_BY_ID",
    "PERSON_ATTRIBUTES",
    "PURCHASE_CATEGORIES",
    "REFUSED_CATEGORIES",
    "Domain",
    "RecordKind",
    "check_category",
    "get_kind",
    "person_attribute_in",
    "refuse_special",
    "special_category_of",
]
