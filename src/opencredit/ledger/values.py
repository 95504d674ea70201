"""Reading a record's values as written: plain ASCII numbers, dates that exist.

Both work column-wise on Arrow arrays; see docs/ledger.md ("Strict reading").
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: A plain decimal number, ASCII only: no ``1_000``, no full-width digits, no hex.
PLAIN_NUMBER = r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def reads_back(parsed: pa.ChunkedArray, text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Where ``strftime(parsed, "%Y-%m-%d")`` equals ``text`` (null where ``parsed`` is).

    Formatting is slow (~15 ms per 10,000 dates): text shaped ``NNNN-NN-NN`` whose numbers
    are the parsed date's year, month and day reads back without it; only other parsed rows
    (none, in a well-formed file) are formatted.
    """
    shaped = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), False)
    digits = pc.if_else(shaped, text, "0000-00-00")

    def part(start: int, stop: int) -> pa.ChunkedArray:
        return pc.cast(pc.utf8_slice_codeunits(digits, start, stop), pa.int64())

    same = pc.and_(
        pc.and_(pc.equal(pc.year(parsed), part(0, 4)), pc.equal(pc.month(parsed), part(5, 7))),
        pc.equal(pc.day(parsed), part(8, 10)),
    )
    fast = pc.and_(shaped, same)  # null where parsed is null
    if not pc.any(pc.and_(pc.is_valid(parsed), pc.invert(pc.fill_null(fast, False)))).as_py():
        return fast
    return pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text)


def to_float(raw: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Values as float64 (NaN for missing) and a mask of values that are not numbers."""
    if pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type):
        out = pc.cast(raw, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
        return np.where(np.isfinite(out), out, np.nan), ~np.isfinite(out) & _np(pc.is_valid(raw))
    text = pc.utf8_trim_whitespace(pc.cast(raw, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    # Only plain ASCII decimals: Python's float() also reads "1_000", full-width digits and
    # "nan", which no file format means as a number.
    plain = _np(pc.match_substring_regex(text, PLAIN_NUMBER))
    bad = _np(pc.is_valid(text)) & ~plain
    text = pc.if_else(pa.array(plain), text, pa.scalar(None, pa.string()))
    out = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    bad |= plain & ~np.isfinite(out)  # 1e999 overflows to inf
    out = np.where(np.isfinite(out), out, np.nan)
    return out, bad


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
