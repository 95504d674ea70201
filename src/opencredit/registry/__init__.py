"""Who is who: resident IDs for persons (GB 11643) and organisation codes (GB 32100)."""

from opencredit.registry.org_code import OrgCode, is_valid_org_code, make_org_code, parse_org_code
from opencredit.registry.resident_id import (
    PROVINCES,
    ResidentId,
    is_valid_resident_id,
    make_resident_id,
    parse_resident_id,
)

__all__ = [
    "PROVINCES",
    "OrgCode",
    "ResidentId",
    "is_valid_org_code",
    "is_valid_resident_id",
    "make_org_code",
    "make_resident_id",
    "parse_org_code",
    "parse_resident_id",
]
