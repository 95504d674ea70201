"""Record references: the filing organisation's identifier for a record, never a description.

A ref is trimmed of surrounding white space (so ``" WS-1 "`` and ``"WS-1"`` are one record) and
must then match :data:`REF_PATTERN`: a letter or digit, then up to 63 letters, digits and
``. _ : / -``. Control characters (NUL included) are refused with their own reason, and so is a
ref that names special-category data (``condoms-order-17``): a ref is shown to the person and
kept for good, so it may not carry what the structured fields may not (docs/ledger.md).

The checks run column-wise over Arrow arrays; only refs that fail are explained one by one.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opencredit.catalog import refuse_special
from opencredit.catalog.special import search_terms
from opencredit.errors import RefusedData

MAX_REF_LENGTH = 64
#: What a (trimmed) ref must match, whole.
REF_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}"
_REF = re.compile(REF_PATTERN)


def normalise_ref(ref: str) -> str:
    """The ref as filed: surrounding white space removed (idempotent); exactly as
    :func:`check_refs` trims a column (Unicode white space, as Arrow defines it)."""
    return pc.utf8_trim_whitespace(pa.array([ref], pa.string()))[0].as_py()


def ref_problem(ref: str, what: str = "ref") -> str | None:
    """Why ``ref`` (already trimmed) cannot be a ref, or None if it can."""
    if not ref:
        return f"is empty; a {what} identifies the record"
    for pos, char in enumerate(ref):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return (
                f"character {pos + 1} is the control character U+{ord(char):04X}; "
                f"a {what} is printable text"
            )
    if len(ref) > MAX_REF_LENGTH:
        return f"is {len(ref)} characters long; a {what} has at most {MAX_REF_LENGTH}"
    if not _REF.fullmatch(ref):
        pos = next(
            (i for i, c in enumerate(ref) if not _REF.fullmatch(("a" if i else "") + c)),
            0,
        )
        return (
            f"character {pos + 1} is {ref[pos]!r}; a {what} is letters A-Z, digits and "
            ". _ : / - (starting with a letter or digit), an identifier of the record"
        )
    try:
        refuse_special(ref, what)
    except RefusedData as exc:
        return f"{exc}; a {what} identifies the record and may not describe it"
    return None


def check_refs(refs: pa.ChunkedArray | pa.Array, what: str = "ref") -> tuple[pa.Array, dict]:
    """Trim ``refs`` and find the bad ones: (trimmed refs, {row index: reason}).

    Nulls and empty refs are left to the caller (a required field or an optional one).
    """
    trimmed = pc.utf8_trim_whitespace(pc.cast(refs, pa.string()))
    if isinstance(trimmed, pa.ChunkedArray):
        trimmed = trimmed.combine_chunks()
    present = _np(pc.and_(pc.is_valid(trimmed), pc.not_equal(trimmed, "")))
    shaped = _np(pc.match_substring_regex(trimmed, f"^{REF_PATTERN}$"))
    suspect = present & ~shaped
    # Refs of the right shape are ASCII: the vocabulary can only refuse one if one of its
    # search terms occurs in the ref's letters and digits run together. Those few are judged
    # by the vocabulary itself, through refuse_special.
    squashed = pc.replace_substring_regex(pc.utf8_lower(trimmed), "[^a-z0-9]", "")
    suspect |= present & shaped & _np(pc.match_substring_regex(squashed, _stems_regex()))
    problems = {}
    values = trimmed.to_pylist()
    for i in np.flatnonzero(suspect):
        reason = ref_problem(values[i], what)
        if reason is not None:
            problems[int(i)] = reason
    return trimmed, problems


def _stems_regex() -> str:
    """Any search term of the refused vocabulary, as a substring."""
    return "|".join(re.escape(term) for term in search_terms() if term.isascii())


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
