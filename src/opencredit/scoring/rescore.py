"""Re-scoring without a rescan: per-person, per-factor state and a queue of what changes it.

A factor's sum is linear in its points and every live term fades by the same factor, so for
each *shape* (the kinds, categories, half-life and window a factor reads; see
:func:`shape_of`) the state keeps, per person, at a reference date t0:

    A = sum over terms live at t0 of w(t0)            w(t) = 2 ** (-(t - occurred) / h), or 1
    B = sum over terms live at t0 of value * w(t0)

so that a factor with these points sums ``per_record * A + per_unit * B``, and at t >= t0
both are ``2 ** (-(t - t0) / h)`` times themselves, plus the *events* between t0 and t: a
term leaving (retention or window ends, a dispute passes its deadline) or entering (a record
dated after t0, a dispute resolved), each ``+-w(t)`` (and ``+-value * w(t)``). Advancing the
date, or changing a policy's points, bounds, base, range or bands, is then arithmetic on
arrays (numba), without reading a record; changing what a factor reads is not
(:func:`needs_rebuild`). The state answers for the ledger up to ``up_to`` and the disputes as
they were: :meth:`ScoreState.current` tells when it must be built again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numba
import numpy as np

from opencredit.catalog import KINDS_BY_ID
from opencredit.clock import to_days
from opencredit.ledger.columnar import ColumnarCopy, Manifest
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS, Dispute
from opencredit.policies.model import Factor, Policy
from opencredit.scoring.kernel import batches, columns_of, dead_seqs, live

_NEVER = np.int64(1) << 40  # a day after every real one
_ARRAYS = (
    "persons",
    "a",
    "b",
    "ev_start",  # person i's events are ev_start[i]:ev_start[i + 1], by day
    "ev_day",
    "ev_shape",
    "ev_sign",
    "ev_occ",
    "ev_value",
)


@dataclass(frozen=True, slots=True)
class Shape:
    """What a factor reads, as opposed to what it makes of it (points, bounds)."""

    kinds: tuple[str, ...]
    categories: tuple[str, ...]
    half_life_days: float | None
    window_days: int | None


def shape_of(factor: Factor) -> Shape:
    """The shape of ``factor``."""
    return Shape(
        tuple(sorted(set(factor.kinds))),
        tuple(sorted(set(factor.categories))),
        factor.half_life_days,
        factor.window_days,
    )


@dataclass(frozen=True, slots=True)
class RebuildNeed:
    """Whether a policy change needs the records read again, and why. True if it does."""

    needed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.needed


def needs_rebuild(old: Policy, new: Policy) -> RebuildNeed:
    """Does going from ``old`` to ``new`` need a rebuild from the records, or can the state
    re-score it? Points, bounds, base, range and bands are arithmetic on the state; which
    kinds or categories a factor counts, its half-life and its window are not."""
    shapes = {shape_of(f) for f in old.factors}
    for factor in new.factors:
        if shape_of(factor) in shapes:
            continue
        before = next((f for f in old.factors if f.id == factor.id), None)
        if before is None:
            return RebuildNeed(True, f"factor {factor.id!r} is new and reads other records")
        changed = [
            name
            for name in ("kinds", "categories", "half_life_days", "window_days")
            if getattr(shape_of(before), name) != getattr(shape_of(factor), name)
        ]
        return RebuildNeed(
            True, f"factor {factor.id!r} changes {', '.join(changed)}: the records must be read"
        )
    return RebuildNeed(
        False, "only points, bounds, base, range or bands change: re-scored from the state"
    )


@dataclass
class _Meta:
    reference: str  # t0, ISO date
    up_to: int
    disputes: str  # digest of the disputes the state reflects
    shapes: list[list]  # asdict(Shape) per column, as JSON lists


class ScoreState:
    """Per-person, per-shape sums at a reference date, and the events after it."""

    def __init__(self, meta: _Meta, arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.shapes = [Shape(tuple(s[0]), tuple(s[1]), s[2], s[3]) for s in meta.shapes]
        self.arrays = arrays
        self.reference = dt.date.fromisoformat(meta.reference)

    @property
    def persons(self) -> np.ndarray:
        """Every registered person's key, sorted."""
        return self.arrays["persons"]

    # building ------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        copy: ColumnarCopy,
        manifest: Manifest,
        policies: Sequence[Policy],
        reference: dt.date,
        disputes: Sequence[Dispute] = (),
    ) -> ScoreState:
        """The state of every shape of ``policies`` at ``reference``, from the copy (call
        inside ``copy.reading()``)."""
        shapes = list(dict.fromkeys(shape_of(f) for p in policies for f in p.factors))
        rules = _shape_rules(shapes, manifest.kinds, manifest.categories)
        persons = copy.persons_keys()
        n, n_shapes = len(persons), len(shapes)
        a = np.zeros((n, n_shapes))
        b = np.zeros((n, n_shapes))
        dead = dead_seqs(copy, manifest, None, ())
        disputed = np.zeros(len(dead), dtype=np.bool_)
        for d in disputes:
            if d.seq < len(disputed):
                disputed[d.seq] = True
        t0 = to_days(reference)
        events, held = [], []
        per_kind = np.diff(rules[0])
        for batch, is_sorted in batches(copy, manifest):
            cols = columns_of(batch, persons, is_sorted)
            room = 2 * int(per_kind[cols[2]].sum())
            ev = _empty_events(room)
            terms = _empty_terms(int(disputed[cols[1]].sum()) * int(per_kind.max(initial=0)))
            n_ev, n_terms = _state_batch(a, b, *cols, dead, disputed, t0, rules, ev, terms)
            events.append(tuple(e[:n_ev] for e in ev))
            held.append(tuple(x[:n_terms] for x in terms))
        events.append(_dispute_events(a, b, held, disputes, t0, rules[4]))
        ev = [np.concatenate([e[i] for e in events]) for i in range(6)]
        order = np.lexsort((ev[0], ev[1]))  # by person, then day: each person's queue
        arrays = {"persons": persons, "a": a, "b": b}
        names = ("ev_day", None, "ev_shape", "ev_sign", "ev_occ", "ev_value")
        for name, column in zip(names, ev, strict=True):
            if name is not None:  # the person is the position in ev_start
                arrays[name] = column[order]
        arrays["ev_start"] = np.concatenate(
            [[0], np.cumsum(np.bincount(ev[1], minlength=n))]
        ).astype(np.int64)
        meta = _Meta(
            reference.isoformat(),
            manifest.last_seq,
            disputes_digest(disputes),
            [list(asdict(s).values()) for s in shapes],
        )
        return cls(meta, arrays)

    # re-scoring ------------------------------------------------------------------------------
    def missing(self, policies: Sequence[Policy]) -> RebuildNeed:
        """Whether the state can score ``policies`` (each factor's shape kept)."""
        kept = set(self.shapes)
        for policy in policies:
            for factor in policy.factors:
                if shape_of(factor) not in kept:
                    return RebuildNeed(
                        True, f"{policy.key} factor {factor.id!r} reads what the state lacks"
                    )
        return RebuildNeed(False, "every factor's shape is in the state")

    def current(self, up_to: int, disputes: Sequence[Dispute]) -> bool:
        """True if the state reflects the ledger up to ``up_to`` and these ``disputes``."""
        return self.meta.up_to == up_to and self.meta.disputes == disputes_digest(disputes)

    def rescore(
        self, policies: Sequence[Policy], as_of: dt.date
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(persons, raw, score) under ``policies`` at ``as_of`` (not before the reference
        date), from the state alone."""
        if as_of < self.reference:
            raise ValueError(
                f"the state is at {self.reference}; scores at {as_of}, before it, need a rebuild"
            )
        lacking = self.missing(policies)
        if lacking:
            raise ValueError(lacking.reason)
        t, t0 = to_days(as_of), to_days(self.reference)
        half = np.array([s.half_life_days or 0.0 for s in self.shapes])
        decay = np.where(half > 0, 2.0 ** (-(t - t0) / np.where(half > 0, half, 1.0)), 1.0)
        arr = self.arrays
        index = {s: i for i, s in enumerate(self.shapes)}
        factors = [f for p in policies for f in p.factors]
        pstart = np.cumsum([0] + [len(p.factors) for p in policies])
        raw, score = _finish(
            arr["a"],
            arr["b"],
            decay,
            t,
            half,
            arr["ev_start"],
            arr["ev_day"],
            arr["ev_shape"],
            arr["ev_sign"],
            arr["ev_occ"],
            arr["ev_value"],
            np.array([index[shape_of(f)] for f in factors], dtype=np.int64),
            np.array([f.per_record for f in factors], dtype=np.float64),
            np.array([f.per_unit for f in factors], dtype=np.float64),
            np.array([f.min for f in factors], dtype=np.float64),
            np.array([f.max for f in factors], dtype=np.float64),
            pstart.astype(np.int64),
            np.array([float(p.base) for p in policies]),
            np.array([float(p.low) for p in policies]),
            np.array([float(p.high) for p in policies]),
        )
        return self.persons, raw, score

    # persistence -----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the state to ``directory`` (replacing what was there)."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "state.json").unlink(missing_ok=True)  # unreadable while half written
        for name in _ARRAYS:
            np.save(directory / f"{name}.npy", self.arrays[name])
        (directory / "state.json").write_text(json.dumps(asdict(self.meta)), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ScoreState | None:
        """The state saved in ``directory``, or None if there is none."""
        try:
            meta = _Meta(**json.loads((directory / "state.json").read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        arrays = {name: np.load(directory / f"{name}.npy") for name in _ARRAYS}
        return cls(meta, arrays)


def disputes_digest(disputes: Sequence[Dispute]) -> str:
    """A digest of the disputes (seq, opened, resolved), in any order."""
    rows = sorted(
        (d.seq, d.opened.toordinal(), -1 if d.resolved is None else d.resolved.toordinal())
        for d in disputes
    )
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def _shape_rules(shapes: list[Shape], kinds: Sequence[str], categories: Sequence[str]) -> tuple:
    """(kstart, shape, category, window, half-life per shape, retention per kind)."""
    kind_code = {k: i for i, k in enumerate(kinds)}
    cat_code = {c: i for i, c in enumerate(categories)}
    per_kind: list[list[tuple[int, int, int]]] = [[] for _ in kinds]
    for s, shape in enumerate(shapes):
        for kind in shape.kinds:
            if kind not in kind_code:
                continue
            for category in shape.categories or (None,):
                if category is not None and category not in cat_code:
                    continue
                code = -1 if category is None else cat_code[category]
                per_kind[kind_code[kind]].append((s, code, shape.window_days or -1))
    rules = [r for rs in per_kind for r in rs]
    retention = [KINDS_BY_ID[k].retention_days if k in KINDS_BY_ID else None for k in kinds]
    return (
        np.cumsum([0] + [len(rs) for rs in per_kind]).astype(np.int64),
        np.array([r[0] for r in rules], dtype=np.int64),
        np.array([r[1] for r in rules], dtype=np.int64),
        np.array([r[2] for r in rules], dtype=np.int64),
        np.array([s.half_life_days or 0.0 for s in shapes], dtype=np.float64),
        np.array([-1 if r is None else r for r in retention], dtype=np.int64),
    )


def _empty_events(n: int) -> tuple[np.ndarray, ...]:
    return (
        np.empty(n, np.int64),  # day
        np.empty(n, np.int64),  # person index
        np.empty(n, np.int64),  # shape
        np.empty(n, np.int8),  # +1 enters, -1 leaves
        np.empty(n, np.int64),  # occurred
        np.empty(n, np.float64),  # value
    )


def _empty_terms(n: int) -> tuple[np.ndarray, ...]:
    """A disputed record's terms: person, shape, seq, occurred, end (first day not live),
    value."""
    return (
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.float64),
    )


@numba.njit(cache=True, nogil=True)
def _weight(t: int, occurred: int, half: float) -> float:  # pragma: no cover
    return 2.0 ** (-(t - occurred) / half) if half > 0.0 else 1.0


@numba.njit(cache=True, nogil=True)
def _state_batch(
    a, b, pidx, seq, kind, occurred, value, category, action, dead, disputed, t0, rules, ev, terms
):  # pragma: no cover
    """Add a batch's terms live at t0 to (a, b); write their later events to ``ev`` and the
    terms of disputed records to ``terms``. Returns (events, terms) written."""
    kstart, rshape, rcat, rwin, half, retention = rules
    ev_day, ev_p, ev_s, ev_sign, ev_occ, ev_v = ev
    n_ev = 0
    n_terms = 0
    for i in range(len(seq)):
        k = kind[i]
        # live at some date: not retracted or corrected (dates are checked per term)
        if not live(action[i], seq[i], 0, k, dead, retention):
            continue
        occ = occurred[i]
        v = value[i]
        if np.isnan(v):
            v = 0.0
        p = pidx[i]
        for j in range(kstart[k], kstart[k + 1]):
            if rcat[j] >= 0 and category[i] != rcat[j]:
                continue
            end = _NEVER
            if retention[k] >= 0:
                end = occ + retention[k] + 1
            if rwin[j] >= 0:
                end = min(end, occ + rwin[j] + 1)
            if end <= t0:
                continue  # gone before t0, never back
            s = rshape[j]
            if occ <= t0:
                w = _weight(t0, occ, half[s])
                a[p, s] += w
                b[p, s] += v * w
            else:
                ev_day[n_ev], ev_p[n_ev], ev_s[n_ev] = occ, p, s
                ev_sign[n_ev], ev_occ[n_ev], ev_v[n_ev] = 1, occ, v
                n_ev += 1
            if end < _NEVER:
                ev_day[n_ev], ev_p[n_ev], ev_s[n_ev] = end, p, s
                ev_sign[n_ev], ev_occ[n_ev], ev_v[n_ev] = -1, occ, v
                n_ev += 1
            if disputed[seq[i]]:
                terms[0][n_terms], terms[1][n_terms], terms[2][n_terms] = p, s, seq[i]
                terms[3][n_terms], terms[4][n_terms], terms[5][n_terms] = occ, end, v
                n_terms += 1
    return n_ev, n_terms


def _suppressions(disputes: Sequence[Dispute]) -> dict[int, list[tuple[int, int]]]:
    """Per disputed seq, the merged day ranges [from, to) in which disputes suppress it
    (docs/scoring.md: opened more than 30 days before, unresolved)."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for d in disputes:
        start = to_days(d.opened) + DISPUTE_DEADLINE_DAYS + 1
        stop = int(_NEVER) if d.resolved is None else to_days(d.resolved)
        if stop > start:
            spans.setdefault(d.seq, []).append((start, stop))
    merged = {}
    for seq, ranges in spans.items():
        out: list[tuple[int, int]] = []
        for start, stop in sorted(ranges):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], stop))
            else:
                out.append((start, stop))
        merged[seq] = out
    return merged


def _dispute_events(a, b, held, disputes, t0, half) -> tuple[np.ndarray, ...]:
    """Take disputed records' terms out of (a, b) where a dispute suppresses them at t0, and
    the events where suppression starts and ends after t0."""
    spans = _suppressions(disputes)
    rows: list[tuple] = []
    for p_, s_, seq_, occ_, end_, v_ in held:
        for p, s, seq, occ, end, v in zip(p_, s_, seq_, occ_, end_, v_, strict=True):
            for start, stop in spans.get(int(seq), ()):
                start, stop = max(start, int(occ)), min(stop, int(end))
                if start >= stop:
                    continue
                if start <= t0 < stop:
                    w = 2.0 ** (-(t0 - occ) / half[s]) if half[s] > 0 else 1.0
                    a[p, s] -= w
                    b[p, s] -= v * w
                if start > t0:
                    rows.append((start, p, s, -1, occ, v))
                if stop > t0 and stop < int(_NEVER):
                    # back when the dispute is resolved; at ``end`` this cancels the
                    # term's own leaving, as it had already left
                    rows.append((stop, p, s, 1, occ, v))
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 6
    types = (np.int64, np.int64, np.int64, np.int8, np.int64, np.float64)
    return tuple(np.array(c, dtype=ty) for c, ty in zip(cols, types, strict=True))


@numba.njit(cache=True, nogil=True)
def _finish(
    a,
    b,
    decay,
    t,
    half,
    ev_start,
    ev_day,
    ev_shape,
    ev_sign,
    ev_occ,
    ev_value,
    f_shape,
    f_pr,
    f_pu,
    f_min,
    f_max,
    pstart,
    base,
    low,
    high,
):  # pragma: no cover
    """(raw, score), persons x policies: each person's state faded to t, plus their queued
    events up to t; then each factor's points, clip, sum, clip, round."""
    n, n_shapes = a.shape
    n_pol = len(base)
    raw = np.empty((n, n_pol))
    score = np.empty((n, n_pol), dtype=np.int64)
    da = np.zeros(n_shapes)
    db = np.zeros(n_shapes)
    for i in range(n):
        for s in range(n_shapes):
            da[s] = a[i, s] * decay[s]
            db[s] = b[i, s] * decay[s]
        for e in range(ev_start[i], ev_start[i + 1]):
            if ev_day[e] > t:
                break
            s = ev_shape[e]
            w = ev_sign[e] * _weight(t, ev_occ[e], half[s])
            da[s] += w
            db[s] += w * ev_value[e]
        for p in range(n_pol):
            total = base[p]
            for f in range(pstart[p], pstart[p + 1]):
                s = f_shape[f]
                x = f_pr[f] * da[s] + f_pu[f] * db[s]
                total += min(max(x, f_min[f]), f_max[f])
            total = min(max(total, low[p]), high[p])
            raw[i, p] = total
            whole = np.floor(abs(total))
            rounded = whole + (1.0 if abs(total) - whole >= 0.5 else 0.0)
            score[i, p] = int(rounded if total >= 0 else -rounded)
    return raw, score
