"""The compiled rebuild: every factor of every policy in one pass over the columnar copy.

The copy's segments are read a row group at a time; a numba kernel adds each live record's
points to a (person, column) array of sums, one column per factor of every policy
(:mod:`opencredit.scoring.rules`). A record is live per docs/scoring.md: not a retraction, not
corrected (a ``dead`` array indexed by sequence number marks corrected records and records
suppressed by an overdue dispute), not after t, not past its kind's retention; a factor's
window and categories are checked per rule. Then each column is clipped, each policy's
columns summed with its base, clipped to its range and rounded half away from zero.

Sorted segments locate their persons by a merge against the sorted person keys, so the sums
are written in person order; deltas (small) by binary search.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opencredit.clock import to_days
from opencredit.errors import LedgerError
from opencredit.ledger.columnar import ColumnarCopy, Manifest
from opencredit.ledger.records import Dispute
from opencredit.scoring.rules import Rules

_READ = ["person", "seq", "kind", "occurred", "value", "category", "action"]
RETRACT = 2


@numba.njit(cache=True, nogil=True)
def locate_sorted(persons: np.ndarray, keys: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Index in ``persons`` (sorted) of each of ``keys`` (sorted); -1 if absent."""
    out = np.empty(len(keys), dtype=np.int64)
    if len(keys) == 0:
        return out
    j = np.searchsorted(persons, keys[0])
    for i in range(len(keys)):
        k = keys[i]
        while j < len(persons) and persons[j] < k:
            j += 1
        out[i] = j if j < len(persons) and persons[j] == k else -1
    return out


@numba.njit(cache=True, nogil=True)
def live(
    action: int, seq: int, age: int, kind: int, dead: np.ndarray, retention: np.ndarray
) -> bool:  # pragma: no cover
    """True if the record counts at the date its ``age`` is measured to (docs/scoring.md)."""
    if action == RETRACT or seq >= len(dead) or dead[seq] or age < 0:
        return False
    keep = retention[kind]
    return keep < 0 or age <= keep


@numba.njit(cache=True, nogil=True)
def accumulate(
    sums, pidx, seq, kind, occurred, value, category, action, dead, t, r
):  # pragma: no cover
    """Add each live record's points to ``sums[person, column]`` for every rule it feeds.
    ``r`` is the tuple of rule arrays (see :func:`rule_arrays`)."""
    kstart, rcol, rcat, rwin, rpr, rpu, rhalf, retention = r
    for i in range(len(seq)):
        age = t - occurred[i]
        k = kind[i]
        if not live(action[i], seq[i], age, k, dead, retention):
            continue
        v = value[i]
        if np.isnan(v):
            v = 0.0
        p = pidx[i]
        for j in range(kstart[k], kstart[k + 1]):
            if rcat[j] >= 0 and category[i] != rcat[j]:
                continue
            if rwin[j] >= 0 and age > rwin[j]:
                continue
            points = rpr[j] + rpu[j] * v
            if rhalf[j] > 0.0:
                points *= 2.0 ** (-age / rhalf[j])
            sums[p, rcol[j]] += points


@numba.njit(cache=True, nogil=True)
def finish(sums, col_min, col_max, pstart, base, low, high):  # pragma: no cover
    """(raw, score), persons x policies: clipped factors summed, clipped, rounded."""
    n, n_pol = sums.shape[0], len(base)
    raw = np.empty((n, n_pol), dtype=np.float64)
    score = np.empty((n, n_pol), dtype=np.int64)
    for i in range(n):
        for p in range(n_pol):
            total = base[p]
            for c in range(pstart[p], pstart[p + 1]):
                total += min(max(sums[i, c], col_min[c]), col_max[c])
            total = min(max(total, low[p]), high[p])
            raw[i, p] = total
            a = abs(total)
            whole = math.floor(a)
            rounded = whole + (1.0 if a - whole >= 0.5 else 0.0)
            score[i, p] = int(rounded if total >= 0 else -rounded)
    return raw, score


def rule_arrays(rules: Rules) -> tuple:
    """The rule arrays :func:`accumulate` reads, in its order."""
    return (
        rules.kstart,
        rules.rule_col,
        rules.rule_cat,
        rules.rule_win,
        rules.rule_per_record,
        rules.rule_per_unit,
        rules.rule_half,
        rules.retention,
    )


def dead_seqs(
    copy: ColumnarCopy,
    manifest: Manifest,
    as_of: dt.date | None,
    disputes: Iterable[Dispute],
) -> np.ndarray:
    """A flag per sequence number (0..last): corrected by a later entry, or (if ``as_of``)
    suppressed by a dispute overdue and unresolved at ``as_of``."""
    dead = np.zeros(manifest.last_seq + 1, dtype=np.bool_)
    for segment in manifest.segments:
        for batch in pq.ParquetFile(copy.dir / segment.file).iter_batches(columns=["target"]):
            target = batch.column(0)
            if target.null_count < len(target):
                dead[target.drop_null().to_numpy()] = True
    if as_of is not None:
        for d in disputes:
            if d.seq <= manifest.last_seq and d.suppresses(as_of):
                dead[d.seq] = True
    return dead


def batches(copy: ColumnarCopy, manifest: Manifest) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """Every row group of the copy with whether its segment is sorted by person; the next
    is decoded in another thread while the caller works on this one (the kernel releases
    the GIL)."""

    def read() -> Iterator[tuple[pa.RecordBatch, bool]]:
        for segment in manifest.segments:
            for batch in pq.ParquetFile(copy.dir / segment.file).iter_batches(
                batch_size=1 << 20, columns=_READ
            ):
                yield batch, segment.sorted

    with ThreadPoolExecutor(1) as pool:
        source = read()
        ahead = pool.submit(next, source, None)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(next, source, None)
            yield item


def columns_of(batch: pa.RecordBatch, persons: np.ndarray, is_sorted: bool) -> tuple:
    """A batch's columns as numpy arrays, persons located: (pidx, seq, kind, occurred,
    value, category, action)."""
    keys = batch.column("person").to_numpy()
    if is_sorted:
        pidx = locate_sorted(persons, keys)
    else:
        pidx = np.searchsorted(persons, keys)
        pidx[(pidx >= len(persons)) | (persons[np.minimum(pidx, len(persons) - 1)] != keys)] = -1
    if len(pidx) and pidx.min() < 0:
        raise LedgerError(
            "the columnar copy names a person the registry does not hold; "
            "run `opencredit rebuild --check`"
        )
    # nulls as NaN, always a new read-only array: one compiled signature, not two
    value = pc.fill_null(batch.column("value"), math.nan).to_numpy()
    category = batch.column("category").fill_null(-1).to_numpy()
    return (
        pidx,
        batch.column("seq").to_numpy(),
        batch.column("kind").to_numpy(),
        batch.column("occurred").to_numpy(),
        value,
        category,
        batch.column("action").to_numpy(),
    )


def factor_sums(
    copy: ColumnarCopy,
    manifest: Manifest,
    rules: Rules,
    persons: np.ndarray,
    as_of: dt.date,
    disputes: Iterable[Dispute] = (),
) -> np.ndarray:
    """Unclipped sums, persons x columns, of every factor of every policy at ``as_of``."""
    dead = dead_seqs(copy, manifest, as_of, disputes)
    sums = np.zeros((len(persons), rules.n_columns), dtype=np.float64)
    t = to_days(as_of)
    r = rule_arrays(rules)
    for batch, is_sorted in batches(copy, manifest):
        accumulate(sums, *columns_of(batch, persons, is_sorted), dead, t, r)
    return sums


def score_copy(
    copy: ColumnarCopy,
    manifest: Manifest,
    rules: Rules,
    as_of: dt.date,
    disputes: Iterable[Dispute] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person keys, raw, score) of every registered person under every policy of ``rules``
    (raw and score: persons x policies), from the copy as ``manifest`` describes it."""
    persons = copy.persons_keys()
    sums = factor_sums(copy, manifest, rules, persons, as_of, disputes)
    raw, score = finish(
        sums, rules.col_min, rules.col_max, rules.pstart, rules.base, rules.low, rules.high
    )
    return persons, raw, score
