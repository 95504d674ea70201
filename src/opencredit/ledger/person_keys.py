"""Resident IDs as integer keys for bulk work, and back.

The 18th character of a resident ID is a check character computed from the first 17 digits
(docs/ledger.md), so the 17 digits as an int64 are the ID without loss: 8 bytes instead of
18 characters, and joins and sorts on a machine word.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opencredit.registry.resident_id import check_chars_vectorised

_POWERS = 10 ** np.arange(16, -1, -1, dtype=np.int64)


def to_keys(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The int64 key (first 17 digits) of each resident ID in ``ids``."""
    body = pc.utf8_slice_codeunits(ids, 0, 17)
    return np.asarray(pc.cast(body, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def to_ids(keys: np.ndarray) -> pa.StringArray:
    """The resident IDs (with their check character) of int64 ``keys``."""
    keys = np.asarray(keys, dtype=np.int64)
    digits = (keys[:, None] // _POWERS) % 10  # n x 17
    text = np.empty((len(keys), 18), dtype=np.uint8)
    text[:, :17] = digits.astype(np.uint8) + ord("0")
    text[:, 17] = check_chars_vectorised(digits)
    offsets = np.arange(0, 18 * len(keys) + 1, 18, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(keys), pa.py_buffer(offsets), pa.py_buffer(text.tobytes())
    )
