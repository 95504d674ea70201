"""Explanations and what-ifs, computed by the reference function itself.

An explanation is the oracle's own working: every factor's contribution, the records behind
it with the points each adds today, and up to four reason codes (the factors costing the most
points against their best possible contribution, as credit bureaus give key factors).
A what-if recomputes the score with records retracted, expired or added: it retracts or
expires only the person's own records that still stand (not a retraction, not corrected
already), and adds only records that ingestion would accept
(:func:`opencredit.scoring.hypothetical.check_hypotheticals`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from opencredit.clock import today as clock_today
from opencredit.errors import OpenCreditError
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.policies.model import Policy
from opencredit.scoring.hypothetical import check_hypotheticals
from opencredit.scoring.reference import ScoreResult, score_person

MAX_REASONS = 4


class WhatIfError(OpenCreditError, ValueError):
    """A what-if that names a record it may not change."""


def unclipped_total(result: ScoreResult) -> float:
    """Base plus every factor's contribution, before the policy's range clips it."""
    return result.policy.base + sum(f.contribution for f in result.factors)


def clipped(result: ScoreResult) -> bool:
    """True if the policy's range clipped the score (the total fell outside it)."""
    total = unclipped_total(result)
    return total < result.policy.low or total > result.policy.high


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A score before and after hypothetical changes to a person's records."""

    before: ScoreResult
    after: ScoreResult
    changes: tuple[str, ...]

    @property
    def delta(self) -> int:
        """How many points the changes move the (rounded) score."""
        return self.after.score - self.before.score


def explain(
    policy: Policy,
    person: str,
    records: Iterable[Record],
    as_of: dt.date,
    disputes: Mapping[int, Sequence[Dispute]] | None = None,
) -> ScoreResult:
    """The score of ``person`` with every factor's contribution and records (see reasons())."""
    return score_person(policy, person, records, as_of, disputes)


def what_if(
    policy: Policy,
    person: str,
    records: Sequence[Record],
    as_of: dt.date,
    *,
    disputes: Mapping[int, Sequence[Dispute]] | None = None,
    retract: Iterable[int] = (),
    expire: Iterable[int] = (),
    add: Iterable[Record | Mapping[str, object]] = (),
    today: dt.date | None = None,
) -> WhatIf:
    """The score if records ``retract`` were retracted, ``expire`` had expired, and ``add``
    were filed. Hypothetical records get sequence numbers after the ledger's last.

    Raises :class:`WhatIfError` for a record that is not ``person``'s, is a retraction, or
    was corrected already (or is named twice), and
    :class:`~opencredit.scoring.hypothetical.HypotheticalError` for an added record that
    ingestion would refuse (dates may run up to the later of ``today`` and ``as_of``)."""
    added = check_hypotheticals(list(add), person, as_of, today=today or clock_today())
    before = score_person(policy, person, records, as_of, disputes)
    by_seq = {r.seq: r for r in records}
    corrected_by = {
        r.target: r.seq for r in records if r.action is not Action.FILE and r.target is not None
    }
    changes: list[str] = []
    gone: dict[int, Record] = {}
    for seq, verb in [(s, "retracted") for s in retract] + [(s, "expired") for s in expire]:
        gone[seq] = _standing(by_seq, corrected_by, person, seq, gone)
        record = gone[seq]
        changes.append(f"record {seq} ({record.kind}, {record.occurred}) {verb}")
    # A record that stops counting stays in the ledger, so what it corrected stays corrected
    # (dropping a retracted amendment would bring back the record it superseded).
    next_seq = max(by_seq, default=0) + 1
    kept = list(records)
    for record in gone.values():
        kept.append(replace(record, seq=next_seq, action=Action.RETRACT, target=record.seq))
        next_seq += 1
    for i, record in enumerate(added):
        kept.append(replace(record, seq=next_seq + i, action=Action.FILE, target=None))
        late = " (after the as-of date: it does not count)" if record.occurred > as_of else ""
        changes.append(
            f"hypothetical {record.kind} on {record.occurred}"
            + (f" ({record.value:g})" if record.value is not None else "")
            + (f" [{record.category}]" if record.category else "")
            + late
        )
    after = score_person(policy, person, kept, as_of, disputes)
    return WhatIf(before, after, tuple(changes))


def _standing(
    by_seq: Mapping[int, Record],
    corrected_by: Mapping[int, int],
    person: str,
    seq: int,
    named: Mapping[int, Record],
) -> Record:
    """Record ``seq`` if a what-if may retract or expire it, else a :class:`WhatIfError`."""
    record = by_seq.get(seq)
    if record is None or record.person != person:
        # whose record it is, if anyone's, is not this person's business
        raise WhatIfError(f"{person} has no record {seq}")
    if record.action is Action.RETRACT:
        raise WhatIfError(f"record {seq} is a retraction, which counts for nothing already")
    if seq in corrected_by:
        raise WhatIfError(
            f"record {seq} was already corrected by record {corrected_by[seq]}; "
            "name the record that stands instead"
        )
    if seq in named:
        raise WhatIfError(f"record {seq} is named twice")
    return record
