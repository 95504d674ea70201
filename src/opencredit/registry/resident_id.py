"""Resident identity numbers (GB 11643-1999).

18 characters: a 6-digit region code, the birth date as YYYYMMDD, a 3-digit sequence whose
last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character
(``0``-``9`` or ``X``). The attributes encoded here are for the fairness audit only; no
policy may read them (docs/principles.md, principle 4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from opencredit.errors import InvalidIdentifier

#: ISO 7064 MOD 11-2 weights for the 17 body digits: 2**(17-i) mod 11.
WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARS = "10X98765432"  # indexed by (sum of weighted digits) mod 11


def check_char(body: str) -> str:
    """The check character for the 17-digit ``body``."""
    total = sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated resident ID with the attributes it encodes."""

    value: str
    region: str
    birth_date: dt.date
    sequence: int

    @property
    def sex(self) -> str:
        """``"M"`` for an odd sequence digit, ``"F"`` for an even one."""
        return "M" if self.sequence % 2 else "F"


@lru_cache(maxsize=65536)  # pure; a request checks the same ID in several layers
def parse_resident_id(value: str) -> ResidentId:
    """Validate ``value``; the error says which part is wrong and what was expected."""
    if not isinstance(value, str):
        raise InvalidIdentifier(f"resident ID must be text, not {type(value).__name__}")
    text = value.strip().upper()
    if len(text) != 18:
        raise InvalidIdentifier(
            f"resident ID {value!r} has {len(text)} characters; expected 18 "
            "(6 region digits, 8 birth-date digits, 3 sequence digits, 1 check character)"
        )
    body, given = text[:17], text[17]
    if not body.isdigit() or not body.isascii():
        pos = next(i for i, c in enumerate(body) if not (c.isascii() and c.isdigit()))
        raise InvalidIdentifier(
            f"resident ID {value!r}: character {pos + 1} is {body[pos]!r}; "
            "the first 17 characters must be digits"
        )
    if given not in "0123456789X":
        raise InvalidIdentifier(
            f"resident ID {value!r}: check character {given!r} must be a digit or X"
        )
    region = body[:6]
    if region[:2] not in PROVINCES:
        raise InvalidIdentifier(
            f"resident ID {value!r}: region {region} starts with {region[:2]}, "
            "which is not a province code (11-82)"
        )
    try:
        birth = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidIdentifier(
            f"resident ID {value!r}: birth date {body[6:14]} is not a real date (YYYYMMDD)"
        ) from None
    if not (dt.date(1880, 1, 1) <= birth <= dt.date.today()):
        raise InvalidIdentifier(
            f"resident ID {value!r}: birth date {birth.isoformat()} is outside 1880 to today"
        )
    expected = check_char(body)
    if given != expected:
        raise InvalidIdentifier(
            f"resident ID {value!r}: check character is {given!r}, expected {expected!r}"
        )
    return ResidentId(text, region, birth, int(body[14:17]))


def is_valid_resident_id(value: str) -> bool:
    """True if ``value`` is a valid resident ID."""
    try:
        parse_resident_id(value)
    except InvalidIdentifier:
        return False
    return True


def make_resident_id(region: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid resident ID from its parts."""
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    if len(body) != 17 or not body.isdigit():
        raise InvalidIdentifier(f"cannot build a resident ID from {region!r}, {sequence!r}")
    value = body + check_char(body)
    parse_resident_id(value)  # the region and date must be valid too, or the ID is not
    return value


def check_chars_vectorised(bodies: np.ndarray) -> np.ndarray:
    """Check characters for many 17-digit bodies at once (``bodies``: uint8 digits, n x 17)."""
    totals = (bodies.astype(np.int64) @ np.array(WEIGHTS, dtype=np.int64)) % 11
    return np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[totals]


def valid_mask(ids: list[str] | np.ndarray) -> np.ndarray:
    """Which ``ids`` are valid: the answers of ``is_valid_resident_id``, vectorised.

    For bulk ingestion; the rows it rejects are explained one by one with ``parse_resident_id``.
    """
    # Strip and upper-case as parse_resident_id does, then work on code points so that
    # non-ASCII text is simply invalid rather than an encoding error. NumPy's strings drop
    # trailing NULs ("ID\x00" would read as "ID"): text holding one is invalid, found first.
    raw = [str(v) for v in np.asarray(ids, dtype=object).reshape(-1)]
    nul = np.zeros(len(raw), dtype=bool)
    if "\x00" in "".join(raw):  # rare: then find which
        nul = np.array(["\x00" in v for v in raw], dtype=bool)
    text = np.char.upper(np.char.strip(np.asarray(ids, dtype=str).reshape(-1)))
    width = text.dtype.itemsize // 4
    if len(text) == 0 or width < 18:
        return np.zeros(len(text), dtype=bool)
    codes = np.ascontiguousarray(text).view(np.uint32).reshape(len(text), width)
    digits = codes[:, :17].astype(np.int64) - ord("0")
    ok = (np.char.str_len(text) == 18) & np.all((digits >= 0) & (digits <= 9), axis=1) & ~nul
    digits = np.where(ok[:, None], digits, 0)
    ok &= codes[:, 17] == check_chars_vectorised(digits)
    ok &= np.isin(digits[:, 0] * 10 + digits[:, 1], [int(code) for code in PROVINCES])
    yyyymmdd = digits[:, 6:14] @ 10 ** np.arange(7, -1, -1)
    year, month, day = yyyymmdd // 10_000, yyyymmdd // 100 % 100, yyyymmdd % 100
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    ok &= (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= month_days[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok &= (yyyymmdd >= 1880_01_01) & (yyyymmdd <= int(f"{dt.date.today():%Y%m%d}"))
    return ok


#: Province-level codes: the first two digits of a region code.
PROVINCES: dict[str, str] = {
    "11": "Beijing",
    "12": "Tianjin",
    "13": "Hebei",
    "14": "Shanxi",
    "15": "Inner Mongolia",
    "21": "Liaoning",
    "22": "Jilin",
    "23": "Heilongjiang",
    "31": "Shanghai",
    "32": "Jiangsu",
    "33": "Zhejiang",
    "34": "Anhui",
    "35": "Fujian",
    "36": "Jiangxi",
    "37": "Shandong",
    "41": "Henan",
    "42": "Hubei",
    "43": "Hunan",
    "44": "Guangdong",
    "45": "Guangxi",
    "46": "Hainan",
    "50": "Chongqing",
    "51": "Sichuan",
    "52": "Guizhou",
    "53": "Yunnan",
    "54": "Tibet",
    "61": "Shaanxi",
    "62": "Gansu",
    "63": "Qinghai",
    "64": "Ningxia",
    "65": "Xinjiang",
    "71": "Taiwan",
    "81": "Hong Kong",
    "82": "Macau",
}
