"""Organisation names as the registry keeps them: printable text of bounded length.

A name is trimmed; control characters (NUL, line breaks, escape sequences) and the invisible
characters that reorder text (bidirectional overrides, which can make a name display as
another) are refused, and so is a name longer than :data:`MAX_ORG_NAME` characters.

Names are not refused for words that reveal special categories: they are public registry data
about an organisation, not about a person, and the words catch legitimate providers ("Credit
Union", "Union Hospital" as an employer, "Temple Street Bakery"); see docs/ledger.md.
"""

from __future__ import annotations

import unicodedata

from opencredit.errors import OpenCreditError

MAX_ORG_NAME = 200
#: Characters that reorder text when shown (Unicode bidirectional embeddings and isolates).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


class InvalidName(OpenCreditError, ValueError):
    """An organisation name the registry cannot keep."""


def check_org_name(name: str) -> str:
    """``name`` trimmed, or :class:`InvalidName` saying what is wrong with it."""
    if not isinstance(name, str):
        raise InvalidName(f"organisation name must be text, not {type(name).__name__}")
    text = name.strip()
    for pos, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI:
            raise InvalidName(
                f"organisation name: character {pos + 1} is U+{ord(char):04X}, a control "
                "character; expected printable text on one line"
            )
    if not text:
        raise InvalidName("organisation name is empty; expected the organisation's name")
    if len(text) > MAX_ORG_NAME:
        raise InvalidName(
            f"organisation name is {len(text):,} characters long; expected at most {MAX_ORG_NAME}"
        )
    return text
