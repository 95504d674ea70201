"""The ledger's record types: a conduct record, its corrections, and disputes against it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What a ledger entry does: file a new record, or amend or retract an earlier one."""

    FILE = "file"
    AMEND = "amend"
    RETRACT = "retract"


@dataclass(frozen=True, slots=True)
class Record:
    """One ledger entry. Entries are appended, never edited.

    An amendment carries the full corrected content and supersedes ``target``; a retraction
    carries the target's person and kind and makes ``target`` no longer count.
    ``ref`` is the filing organisation's own reference, unique per organisation.
    """

    seq: int
    person: str
    kind: str
    occurred: dt.date
    value: float | None
    category: str | None
    org: str
    ref: str
    action: Action = Action.FILE
    target: int | None = None


#: Days a dispute may stay unresolved before the disputed record stops counting.
DISPUTE_DEADLINE_DAYS = 30


@dataclass(frozen=True, slots=True)
class Dispute:
    """A person's dispute of record ``seq``, opened on ``opened``; ``resolved`` once decided."""

    seq: int
    opened: dt.date
    resolved: dt.date | None = None

    def suppresses(self, as_of: dt.date) -> bool:
        """True if, at ``as_of``, the dispute is past its deadline and still unresolved."""
        overdue = (as_of - self.opened).days > DISPUTE_DEADLINE_DAYS
        return overdue and (self.resolved is None or self.resolved > as_of)
