"""Hypothesis strategies for the engine tests: random policies, ledgers, disputes, dates.

Policies are built through ``Policy.model_validate`` so every one is valid; ledgers are
drawn in sequence order with amendments and retractions of earlier records, and dated around
an anchor so that records often sit exactly on a boundary (a retention period, a window, the
dispute deadline) where an off-by-one in an engine would show.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from hypothesis import strategies as st

from opencredit.catalog import KINDS, KINDS_BY_ID
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS, Action, Dispute, Record
from opencredit.policies.model import Policy
from opencredit.registry import make_org_code, make_resident_id
from opencredit.scoring.reference import corrected_seqs

T0 = dt.date(2025, 6, 30)
ORG = make_org_code("110101", 1)
KIND_IDS = [k.id for k in KINDS]
#: A few categories, so that factors limited to categories often meet matching purchases.
CATEGORIES = ["groceries", "electronics", "video_games", "lottery", "books"]

# Built once: Hypothesis validates a strategy on first use, which costs more than drawing.
AS_OF = st.one_of(st.just(T0), st.integers(-500, 90).map(lambda d: T0 + dt.timedelta(d)))
POINTS = st.one_of(
    st.integers(-100, 100).map(float), st.floats(-100, 100, allow_nan=False), st.just(0.0)
)
PER_UNIT = st.one_of(st.just(0.0), st.floats(-2, 2, allow_nan=False))
HALF_LIFE = st.one_of(st.none(), st.sampled_from([30.0, 365.0]), st.floats(0.5, 3000))
WINDOW = st.one_of(st.none(), st.sampled_from([30, 365]), st.integers(1, 2000))
_BOUND = st.one_of(st.integers(-300, 300).map(float), st.floats(-300, 300))
#: Wide bounds that rarely clip, or random ones: both > 0 and both < 0 included.
BOUNDS = st.one_of(st.just((-1e4, 1e4)), st.tuples(_BOUND, _BOUND).map(sorted))
KIND_LISTS = st.lists(st.sampled_from(KIND_IDS), min_size=1, max_size=3, unique=True)
CATEGORY_LISTS = st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)
ACTIONS = st.sampled_from([Action.FILE] * 3 + [Action.AMEND, Action.RETRACT])
#: Values in each kind's range (capped at 1e4 so sums stay well inside float precision).
VALUES = {
    k.id: st.one_of(
        st.sampled_from([k.min_value, min(k.max_value, 1e4)]),
        st.floats(k.min_value, min(k.max_value, 1e4)),
        st.integers(math.ceil(k.min_value), min(math.floor(k.max_value), 100)).map(float),
    )
    for k in KINDS
    if k.unit is not None
}
DISPUTE_AGE = st.one_of(st.integers(-30, 400), st.sampled_from([29, 30, 31, 32]))
RESOLVED_AFTER = st.one_of(st.none(), st.integers(0, 400))

residents = st.builds(
    make_resident_id,
    st.sampled_from(["110101", "310104", "440305", "510107"]),
    st.dates(dt.date(1940, 1, 1), dt.date(2006, 12, 31)),
    st.integers(0, 999),
)


@functools.cache
def days_before(edges: tuple[int, ...]) -> st.SearchStrategy[int]:
    """Ages at as_of: recent, beyond the longest retention, a little in the future, and often
    exactly on a boundary (one of ``edges``)."""
    on_edge = st.sampled_from(edges)
    return st.one_of(st.integers(-30, 400), st.integers(-90, 2300), on_edge, on_edge)


def edges_of(kind: str, policy: Policy | None) -> tuple[int, ...]:
    """The ages where a record of ``kind`` starts or stops counting: the kind's retention and
    the windows of the factors scoring it, the day on and the day after (and the dispute
    deadline, and the as-of date itself)."""
    days = {KINDS_BY_ID[kind].retention_days, DISPUTE_DEADLINE_DAYS}
    if policy is not None:
        days |= {f.window_days for f in policy.factors if kind in f.kinds}
    return tuple(sorted({-1, 0, *(d + i for d in days if d is not None for i in (0, 1))}))


def pick(draw: st.DrawFn, items: Sequence):
    """One of ``items`` (cheaper than building a sampled_from for every draw)."""
    return items[draw(st.integers(0, len(items) - 1))]


@st.composite
def factors(draw: st.DrawFn, index: int) -> dict:
    kinds = draw(KIND_LISTS)
    categories = draw(CATEGORY_LISTS) if kinds == ["purchase"] and draw(st.booleans()) else []
    low, high = draw(BOUNDS)
    return {
        "id": f"f{index}",
        "kinds": kinds,
        "categories": categories,
        "per_record": draw(POINTS),
        "per_unit": draw(PER_UNIT),
        "half_life_days": draw(HALF_LIFE),
        "window_days": draw(WINDOW),
        "min": low,
        "max": high,
        "reason": f"reason {index}",
    }


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Random valid policies; most have a range wide enough that factors show in the score."""
    low = draw(st.integers(-500, 500))
    narrow = draw(st.integers(0, 3)) == 0  # clips most scores: a quarter of the policies
    high = low + draw(st.integers(1, 50) if narrow else st.integers(500, 3000))
    cuts = sorted(draw(st.lists(st.integers(low + 1, high), max_size=4, unique=True)))
    edges = [low, *cuts, high + 1]
    bands = [
        {"name": f"b{i}", "min": a, "max": b - 1}
        for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]
    inside = st.one_of(st.floats(low, high), st.integers(low, high).map(float))
    base = draw(inside if draw(st.integers(0, 3)) else st.floats(low - 200, high + 200))
    return Policy.model_validate(
        {
            "id": "random",
            "version": draw(st.integers(1, 3)),
            "name": "A random policy",
            "range": [low, high],
            "base": base,
            "purposes": ["lending"],
            "bands": draw(st.permutations(bands)),
            "factors": [draw(factors(i)) for i in range(draw(st.integers(1, 5)))],
        }
    )


@st.composite
def contents(
    draw: st.DrawFn,
    person: str,
    as_of: dt.date,
    policy: Policy | None = None,
    kinds: Sequence[str] = (),
) -> dict:
    """What a filed record or an amendment says: kind (often one of ``kinds``, or of the
    policy's), date (often on a boundary of the policy), value and category."""
    kinds = kinds or sorted({k for f in policy.factors for k in f.kinds} if policy else ())
    kind = KINDS_BY_ID[pick(draw, kinds) if kinds and draw(st.booleans()) else pick(draw, KIND_IDS)]
    return {
        "person": person,
        "kind": kind.id,
        "occurred": as_of - dt.timedelta(draw(days_before(edges_of(kind.id, policy)))),
        "value": draw(VALUES[kind.id]) if kind.unit is not None else None,
        "category": pick(draw, CATEGORIES) if kind.needs_category else None,
    }


@st.composite
def ledgers(
    draw: st.DrawFn,
    persons: Sequence[str],
    as_of: dt.date,
    policy: Policy | None = None,
    *,
    batched: bool = False,
) -> list[list[Record]]:
    """A ledger as batches of records, seq 1..n in order, mostly of kinds ``policy`` scores,
    dated around ``as_of``.

    Amendments (full new content, same person) and retractions (the target's content) correct
    earlier records that are neither retractions nor corrected already, amendments included;
    with ``batched`` only records of earlier batches, as ingestion requires.
    """
    batches: list[list[Record]] = []
    records: list[Record] = []
    corrected: set[int] = set()
    for _ in range(draw(st.integers(1, 4))):
        pool = records[:] if batched else records
        batch = []
        for _ in range(draw(st.integers(0, 10))):
            seq = len(records) + 1
            targets = [r for r in pool if r.action is not Action.RETRACT and r.seq not in corrected]
            action = draw(ACTIONS) if targets else Action.FILE
            if action is Action.FILE:
                content = draw(contents(pick(draw, persons), as_of, policy))
                record = Record(seq, org=ORG, ref=f"r{seq}", **content)
            else:
                target = pick(draw, targets)
                corrected.add(target.seq)
                if action is Action.AMEND:
                    content = draw(contents(target.person, as_of, policy, [target.kind]))
                    target = replace(target, **content)  # full new content, same person
                record = replace(target, seq=seq, ref=f"r{seq}", action=action, target=target.seq)
            records.append(record)
            batch.append(record)
        batches.append(batch)
    return batches


@st.composite
def disputes_of(
    draw: st.DrawFn, records: Sequence[Record], as_of: dt.date
) -> dict[int, list[Dispute]]:
    """Disputes, mostly of records that still stand: opened either side of the 30-day
    deadline, maybe resolved."""
    out: dict[int, list[Dispute]] = {}
    corrected = corrected_seqs(records)
    standing = [r for r in records if r.action is not Action.RETRACT and r.seq not in corrected]
    for _ in range(draw(st.integers(0, 6)) if records else 0):
        seq = pick(draw, standing if standing and draw(st.integers(0, 3)) else records).seq
        opened = as_of - dt.timedelta(draw(DISPUTE_AGE))
        after = draw(RESOLVED_AFTER)
        resolved = None if after is None else opened + dt.timedelta(after)
        out.setdefault(seq, []).append(Dispute(seq, opened, resolved))
    return out


def turning_points(
    policy: Policy, records: Sequence[Record], disputes: Mapping[int, Sequence[Dispute]]
) -> tuple[list[list[dt.date]], list[list[dt.date]]]:
    """For each record of a kind the policy scores that still stands, the last day before
    and the first day after it starts counting, leaves its retention period or a factor's
    window; for each dispute, the days its deadline passes and it is resolved."""
    kinds = {k for f in policy.factors for k in f.kinds}
    corrected = corrected_seqs(records)
    per_record = []
    for r in records:
        if r.kind in kinds and r.action is not Action.RETRACT and r.seq not in corrected:
            retention = KINDS_BY_ID[r.kind].retention_days
            ages = [-1, retention, *(f.window_days for f in policy.factors if r.kind in f.kinds)]
            days = {r.occurred + dt.timedelta(a + i) for a in ages if a is not None for i in (0, 1)}
            per_record.append(sorted(days))
    deadline = dt.timedelta(DISPUTE_DEADLINE_DAYS)
    per_dispute = [
        [d.opened + deadline, d.opened + deadline + dt.timedelta(1)]
        + ([d.resolved - dt.timedelta(1), d.resolved] if d.resolved else [])
        for group in disputes.values()
        for d in group
    ]
    return per_record, per_dispute


@st.composite
def days_to_score(
    draw: st.DrawFn,
    policy: Policy,
    records: Sequence[Record],
    disputes: Mapping[int, Sequence[Dispute]],
    anchor: dt.date,
) -> dt.date:
    """``anchor``, or a day when a record or a dispute turns (a record first, then its day:
    a uniform pick among all days would rarely land on the one day that matters)."""
    choices = [[[anchor]], *filter(None, turning_points(policy, records, disputes))]
    return pick(draw, pick(draw, pick(draw, choices)))


@st.composite
def scenarios(draw: st.DrawFn, *, batched: bool = False) -> tuple:
    """(policy, persons, batches of records, disputes by seq, as_of)."""
    policy = draw(policies())
    persons = draw(st.lists(residents, min_size=1, max_size=4, unique=True))
    anchor = draw(AS_OF)
    batches = draw(ledgers(persons, anchor, policy, batched=batched))
    records = [r for b in batches for r in b]
    disputes = draw(disputes_of(records, anchor))
    # One more person who never has a record: they still get a score.
    loner = draw(residents.filter(lambda p: p not in persons))
    as_of = draw(days_to_score(policy, records, disputes, anchor))
    return policy, [*persons, loner], batches, disputes, as_of
