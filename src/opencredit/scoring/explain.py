"""Explanations and what-ifs, computed by the reference function itself.

An explanation is the oracle's own working: every factor's contribution, the records behind
it with the points each adds today, and up to four reason codes (the factors costing the most
points against their best possible contribution, as credit bureaus give key factors).
A what-if recomputes the score with records retracted, expired or added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from opencredit.catalog import KINDS_BY_ID
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.policies.model import Policy
from opencredit.scoring.reference import ScoreResult, score_person

MAX_REASONS = 4


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
    add: Iterable[Record] = (),
) -> WhatIf:
    """The score if records ``retract`` were retracted, ``expire`` had expired, and ``add``
    were filed. Hypothetical records get sequence numbers after the ledger's last."""
    before = score_person(policy, person, records, as_of, disputes)
    by_seq = {r.seq: r for r in records}
    changes: list[str] = []
    gone: dict[int, Record] = {}
    for seq, verb in [(s, "retracted") for s in retract] + [(s, "expired") for s in expire]:
        record = by_seq.get(seq)
        if record is None or record.person != person:
            raise ValueError(f"{person} has no record {seq}")
        gone[seq] = record
        changes.append(f"record {seq} ({record.kind}, {record.occurred}) {verb}")
    # A record that stops counting stays in the ledger, so what it corrected stays corrected
    # (dropping a retracted amendment would bring back the record it superseded).
    next_seq = max(by_seq, default=0) + 1
    kept = list(records)
    for record in gone.values():
        kept.append(replace(record, seq=next_seq, action=Action.RETRACT, target=record.seq))
        next_seq += 1
    for i, record in enumerate(add):
        KINDS_BY_ID[record.kind]  # a hypothetical record must still be of a known kind
        kept.append(
            replace(record, seq=next_seq + i, person=person, action=Action.FILE, target=None)
        )
        changes.append(
            f"hypothetical {record.kind} on {record.occurred}"
            + (f" ({record.value:g})" if record.value is not None else "")
        )
    after = score_person(policy, person, kept, as_of, disputes)
    return WhatIf(before, after, tuple(changes))
