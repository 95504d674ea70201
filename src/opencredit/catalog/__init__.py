"""What may be recorded and read: record kinds by domain, vetted purchase categories, the
catalogue of purposes, and the names refused (special-category data, person attributes)."""

from opencredit.catalog.categories import PURCHASE_CATEGORIES, REFUSED_CATEGORIES, check_category
from opencredit.catalog.kinds import KINDS, KINDS_BY_ID, Domain, RecordKind, get_kind
from opencredit.catalog.purposes import (
    ANNEX_III,
    PUNITIVE_PURPOSES,
    PURPOSES,
    Purpose,
    check_purpose,
    get_purpose,
    punitive_reason,
)
from opencredit.catalog.special import (
    AMBIGUOUS,
    PERSON_ATTRIBUTES,
    SPECIAL_CATEGORIES,
    name_doubts,
    name_refusals,
    person_attribute_in,
    read_name,
    refuse_name,
    refuse_special,
    special_category_of,
)

__all__ = [
    "AMBIGUOUS",
    "ANNEX_III",
    "KINDS",
    "KINDS_BY_ID",
    "PERSON_ATTRIBUTES",
    "PUNITIVE_PURPOSES",
    "PURCHASE_CATEGORIES",
    "PURPOSES",
    "REFUSED_CATEGORIES",
    "SPECIAL_CATEGORIES",
    "Domain",
    "Purpose",
    "RecordKind",
    "check_category",
    "check_purpose",
    "get_kind",
    "get_purpose",
    "name_doubts",
    "name_refusals",
    "person_attribute_in",
    "punitive_reason",
    "read_name",
    "refuse_name",
    "refuse_special",
    "special_category_of",
]
