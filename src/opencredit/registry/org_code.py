"""Unified Social Credit Codes for organisations (GB 32100-2015).

18 characters from the 31-character set ``0-9`` and ``A-Y`` without I, O, S, V, Z: a
registration authority code, an organisation type code, a 6-digit region code, a 9-character
organisation code (GB 11714, whose last character is its own check) and a check character over
the first 17 (weights 3**i mod 31).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from opencredit.errors import InvalidIdentifier

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
#: GB 11714 organisation code: 8 body characters (digits and A-Z) and a check character.
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def check_char(body: str) -> str:
    """The GB 32100 check character for the 17-character ``body``."""
    total = sum(VALUES[c] * w for c, w in zip(body, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    total = sum(ORG_CHARSET.index(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


@dataclass(frozen=True, slots=True)
class OrgCode:
    """A validated Unified Social Credit Code."""

    value: str
    authority: str
    org_type: str
    region: str
    org_code: str


@lru_cache(maxsize=65536)  # pure; a request checks the same ID in several layers
def parse_org_code(value: str) -> OrgCode:
    """Validate a Unified Social Credit Code; the error says which part is wrong."""
    if not isinstance(value, str):
        raise InvalidIdentifier(f"organisation code must be text, not {type(value).__name__}")
    text = value.strip().upper()
    if len(text) != 18:
        raise InvalidIdentifier(
            f"organisation code {value!r} has {len(text)} characters; expected 18 "
            "(GB 32100-2015 Unified Social Credit Code)"
        )
    for pos, c in enumerate(text):
        if c not in VALUES:
            raise InvalidIdentifier(
                f"organisation code {value!r}: character {pos + 1} is {c!r}; expected a digit "
                "or a capital letter other than I, O, S, V, Z"
            )
    region = text[2:8]
    if not region.isdigit():
        raise InvalidIdentifier(
            f"organisation code {value!r}: region {region!r} (characters 3-8) must be 6 digits"
        )
    org = text[8:17]
    expected_org = org_check_char(org[:8])
    if org[8] != expected_org:
        raise InvalidIdentifier(
            f"organisation code {value!r}: organisation code {org} has check character "
            f"{org[8]!r}, expected {expected_org!r} (GB 11714)"
        )
    expected = check_char(text[:17])
    if text[17] != expected:
        raise InvalidIdentifier(
            f"organisation code {value!r}: check character is {text[17]!r}, expected {expected!r}"
        )
    return OrgCode(text, text[0], text[1], region, org)


def is_valid_org_code(value: str) -> bool:
    """True if ``value`` is a valid Unified Social Credit Code."""
    try:
        parse_org_code(value)
    except InvalidIdentifier:
        return False
    return True


def make_org_code(region: str, serial: int, authority: str = "9", org_type: str = "1") -> str:
    """Build a valid code for a registered enterprise (authority 9, type 1) from a serial."""
    body8 = f"{serial:08d}"
    codes_ok = len(authority) == len(org_type) == 1 and {authority, org_type} <= VALUES.keys()
    region_ok = len(region) == 6 and region.isascii() and region.isdigit()
    if not (0 <= serial < 10**8 and region_ok and codes_ok):
        raise InvalidIdentifier(
            f"cannot build an organisation code from region {region!r}, serial {serial}, "
            f"authority {authority!r}, type {org_type!r}: expected 6 region digits, a serial "
            "from 0 to 99999999 and one character of the code set for authority and type"
        )
    body = f"{authority}{org_type}{region}{body8}{org_check_char(body8)}"
    return body + check_char(body)
