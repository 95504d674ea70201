"""Arrow columns built straight from numpy buffers, so no Python object is made per row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

_ZERO = ord("0")


#: The four ASCII digits of every number 0-9999, each packed in one uint32 so that a lookup
#: moves four characters at once: one division and one gather per four digits.
_FOUR_DIGITS = (
    ((np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1])) % 10 + _ZERO)
    .astype(np.uint8)
    .view(np.uint32)
    .ravel()
)


def digit_matrix(numbers: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative ``numbers``, zero-padded to ``width`` (uint8, n x width)."""
    rest = np.asarray(numbers, dtype=np.int64)
    groups = -(-width // 4)
    packed = np.empty((len(rest), groups), dtype=np.uint32)
    for group in range(groups - 1, -1, -1):
        rest, low = np.divmod(rest, 10_000)
        packed[:, group] = _FOUR_DIGITS[low]
    return packed.view(np.uint8)[:, 4 * groups - width :]


def fixed_width_strings(chars: np.ndarray) -> pa.StringArray:
    """An Arrow string array whose row i is the ASCII bytes ``chars[i]`` (uint8, n x width)."""
    n, width = chars.shape
    if n * width >= 2**31:
        raise ValueError(f"{n} strings of {width} characters do not fit one Arrow string array")
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def prefixed_numbers(prefix: str, numbers: np.ndarray, min_width: int = 9) -> pa.StringArray:
    """``prefix`` followed by each number zero-padded (``FIN-000000001``), vectorised."""
    largest = int(numbers.max()) if len(numbers) else 0
    width = max(min_width, len(str(largest)))
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    chars[:, : len(head)] = head
    chars[:, len(head) :] = digit_matrix(numbers, width)
    return fixed_width_strings(chars)


def dates(days: np.ndarray) -> pa.Array:
    """A date32 array from days since 1970-01-01."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32())


def nullable_floats(values: np.ndarray) -> pa.Array:
    """A float64 array in which NaN means null."""
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def labels(names: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings picked from ``names`` by integer ``codes``; a negative code means null."""
    codes = np.asarray(codes, dtype=np.int32)
    missing = codes < 0
    indices = pa.array(codes, mask=missing if missing.any() else None)
    return pa.array(list(names), type=pa.string()).take(indices)
