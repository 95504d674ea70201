"""Checks shared by the access modules; each failure says what was expected."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from opencredit.access.errors import InvalidRequest
from opencredit.registry import parse_org_code, parse_resident_id

_POLICY_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}@[1-9][0-9]{0,8}$")
_POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


def person_id(value: str) -> str:
    """The canonical resident ID (raises ``InvalidIdentifier`` naming the bad part)."""
    return parse_resident_id(value).value


def org_code(value: str) -> str:
    """The canonical organisation code (raises ``InvalidIdentifier`` naming the bad part)."""
    return parse_org_code(value).value


def policy_key(value: str) -> str:
    """A policy key ``id@version``."""
    if not isinstance(value, str) or not _POLICY_KEY.match(value):
        raise InvalidRequest(f"policy key {value!r}: expected id@version, e.g. lending@1")
    return value


def policy_id(value: str) -> str:
    """A policy id (no version)."""
    if not isinstance(value, str) or not _POLICY_ID.match(value):
        raise InvalidRequest(
            f"policy id {value!r}: expected lower-case letters, digits, _ and -, e.g. lending"
        )
    return value


#: Unicode bidirectional controls: they make text display differently from what it holds.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _refuse_controls(value: str, what: str, allowed: str) -> None:
    """Refuse control characters (NUL, escape, bidirectional controls...) but ``allowed``."""
    for position, char in enumerate(value, 1):
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in BIDI_CONTROLS:
            raise InvalidRequest(
                f"{what} holds the control character U+{ord(char):04X} at position "
                f"{position}; expected plain text"
            )


def text(value: str, what: str, max_chars: int) -> str:
    """Non-blank free text of at most ``max_chars`` characters, stripped; line breaks and
    tabs are allowed, other control characters (NUL included) are not."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{what} is empty: write a few words")
    value = value.strip()
    if len(value) > max_chars:
        raise InvalidRequest(f"{what} has {len(value)} characters; at most {max_chars} allowed")
    _refuse_controls(value, what, "\n\r\t")
    return value


def label(value: str, what: str, max_chars: int) -> str:
    """A one-line label of at most ``max_chars`` characters (may be empty), stripped; no
    control characters at all."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be text")
    value = value.strip()
    if len(value) > max_chars:
        raise InvalidRequest(f"{what} has {len(value)} characters; at most {max_chars} allowed")
    _refuse_controls(value, what, "")
    return value


def future(until: dt.date, today: dt.date, what: str) -> dt.date:
    """``until`` if it is after ``today``."""
    if until <= today:
        raise InvalidRequest(
            f"{what} must end after today ({today.isoformat()}); got {until.isoformat()}"
        )
    return until
