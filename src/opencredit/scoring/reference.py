"""The reference scoring function: the plain-Python oracle every engine is checked against.

It is the definition in docs/scoring.md written out with no cleverness:

    c_f   = clip( sum over live records r of p whose kind is in f and occurred on or before t
                  of (per_record_f + per_unit_f * value_r) * 2 ** (-(t - occurred_r) / half_life_f),
                  min_f, max_f )
    score = round( clip(base_P + sum_f c_f, low_P, high_P) )

with two extensions of the language that real policies need: a factor may be limited to some
purchase ``categories``, and to records no older than ``window_days``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from opencredit.catalog import KINDS_BY_ID
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.policies.model import Factor, Policy


def round_half_away(x: float) -> int:
    """Round to the nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    # Compare the fraction with 0.5 rather than floor(|x| + 0.5): the addition itself rounds,
    # and would send 0.49999999999999994 up to 1.
    whole = math.floor(abs(x))
    return int(math.copysign(whole + (abs(x) - whole >= 0.5), x))


def clip(x: float, low: float, high: float) -> float:
    """``x`` limited to [low, high]."""
    return min(max(x, low), high)


def corrected_seqs(records: Iterable[Record], up_to: int | None = None) -> set[int]:
    """Sequence numbers of records that a later amendment or retraction corrects."""
    return {
        r.target
        for r in records
        if r.action is not Action.FILE
        and r.target is not None
        and (up_to is None or r.seq <= up_to)
    }


def is_live(
    record: Record,
    as_of: dt.date,
    corrected: set[int],
    disputes: Mapping[int, Sequence[Dispute]] | None = None,
) -> bool:
    """True if ``record`` counts at ``as_of`` (docs/scoring.md: which records are live)."""
    if record.action is Action.RETRACT or record.seq in corrected:
        return False
    if record.occurred > as_of:
        return False
    retention = KINDS_BY_ID[record.kind].retention_days
    if retention is not None and (as_of - record.occurred).days > retention:
        return False
    return not any(d.suppresses(as_of) for d in (disputes or {}).get(record.seq, ()))


def matches(factor: Factor, record: Record) -> bool:
    """True if ``record`` is of a kind (and category) that ``factor`` scores."""
    if record.kind not in factor.kinds:
        return False
    return not factor.categories or record.category in factor.categories


def record_points(factor: Factor, record: Record, as_of: dt.date) -> float | None:
    """The points ``record`` adds to ``factor`` at ``as_of`` before clipping; None if outside
    the factor's window."""
    age = (as_of - record.occurred).days
    if factor.window_days is not None and age > factor.window_days:
        return None
    points = factor.per_record + factor.per_unit * (record.value or 0.0)
    if factor.half_life_days is not None:
        points *= 2.0 ** (-age / factor.half_life_days)
    return points


@dataclass(frozen=True, slots=True)
class FactorResult:
    """One factor's part in a score: its raw sum, its clipped contribution, and why."""

    factor: Factor
    raw: float
    contribution: float
    records: tuple[tuple[Record, float], ...] = field(default=())

    @property
    def shortfall(self) -> float:
        """Points this factor costs against its best possible contribution."""
        return self.factor.max - self.contribution


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A score under a policy at a date, with each factor's contribution."""

    policy: Policy
    person: str
    as_of: dt.date
    raw: float
    score: int
    factors: tuple[FactorResult, ...]

    @property
    def band(self) -> str:
        """Name of the band the score falls in."""
        return self.policy.band_of(self.score).name

    def reasons(self, limit: int = 4) -> list[FactorResult]:
        """Up to ``limit`` factors costing the most points against their best possible."""
        costly = [f for f in self.factors if f.shortfall > 1e-9]
        costly.sort(key=lambda f: -f.shortfall)  # stable: policy order breaks ties
        return costly[:limit]


def score_person(
    policy: Policy,
    person: str,
    records: Iterable[Record],
    as_of: dt.date,
    disputes: Mapping[int, Sequence[Dispute]] | None = None,
    up_to: int | None = None,
) -> ScoreResult:
    """Score ``person`` under ``policy`` from the ledger ``records`` (any persons, any order)
    up to sequence ``up_to`` (all if None), as of ``as_of``."""
    ledger = [r for r in records if up_to is None or r.seq <= up_to]
    corrected = corrected_seqs(ledger)
    live = [r for r in ledger if r.person == person and is_live(r, as_of, corrected, disputes)]
    results = []
    for factor in policy.factors:
        parts = []
        for record in live:
            if matches(factor, record):
                points = record_points(factor, record, as_of)
                if points is not None:
                    parts.append((record, points))
        raw = sum(points for _, points in parts)
        contribution = clip(raw, factor.min, factor.max)
        results.append(FactorResult(factor, raw, contribution, tuple(parts)))
    total = clip(policy.base + sum(f.contribution for f in results), policy.low, policy.high)
    return ScoreResult(policy, person, as_of, total, round_half_away(total), tuple(results))


def score_all(
    policy: Policy,
    persons: Iterable[str],
    records: Iterable[Record],
    as_of: dt.date,
    disputes: Mapping[int, Sequence[Dispute]] | None = None,
) -> dict[str, float]:
    """Unrounded scores of every person in ``persons``: the oracle for batch engines."""
    ledger = list(records)
    by_person: dict[str, list[Record]] = {}
    for r in ledger:
        by_person.setdefault(r.person, []).append(r)
    corrected = corrected_seqs(ledger)
    out = {}
    for person in persons:
        own = [r for r in by_person.get(person, []) if r.seq not in corrected]
        out[person] = score_person(policy, person, own, as_of, disputes).raw
    return out
