"""Disputes as a workflow: a person disputes a record, the filing organisation decides.

The ledger store keeps the dispute itself (its id, the record, when it was opened and
resolved), which is what scoring reads: a dispute left unresolved past
:data:`~opencredit.ledger.records.DISPUTE_DEADLINE_DAYS` suppresses the record from every score
until it is resolved (``Dispute.suppresses``). This module adds who may do what and a history:

- only the person a record is about may dispute it, and a record has one open dispute at most;
- only the organisation that filed the record decides: ``confirm`` (the record stands),
  ``amend`` or ``retract`` (a correction is filed in the ledger, through the caller's
  ``file_correction``, then the dispute is resolved);
- every step (opened, decided, note) is appended to ``dispute_events`` and never changed;
- a dispute is looked up only through :func:`get_dispute`, for an actor: another's dispute is
  reported exactly as a missing one (404, never 403 naming its owner), so ids reveal nothing.

The public dispute id is the ledger's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from opencredit.access import validate
from opencredit.access.errors import AccessDenied, Conflict, InvalidRequest, NotFound
from opencredit.access.store import AccessStore
from opencredit.access.tables import dispute_cases, dispute_events
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS, Action, Dispute
from opencredit.ledger.store import Store

Decision = Literal["confirm", "amend", "retract"]
DECISIONS: tuple[str, ...] = ("confirm", "amend", "retract")
_DONE = {"confirm": "confirmed", "amend": "amended", "retract": "retracted"}
MAX_TEXT = 4000

#: Files a correction in the ledger: (org, "amend" | "retract", target seq, fields) -> new seq.
FileCorrection = Callable[[str, str, int, dict], int]


@dataclass(frozen=True, slots=True)
class DisputeEvent:
    """One step in a dispute's history."""

    event: str  # opened | decided | note
    actor: str
    day: dt.date
    at: dt.datetime
    decision: str | None
    note: str
    correction_seq: int | None


@dataclass(frozen=True, slots=True)
class DisputeView:
    """A dispute with its history, as the person and the filing organisation see it."""

    id: int
    seq: int
    person: str
    org: str
    reason: str
    opened: dt.date
    decision: str | None
    decided_on: dt.date | None
    correction_seq: int | None
    history: tuple[DisputeEvent, ...]

    @property
    def deadline(self) -> dt.date:
        """The last day the organisation can decide before the record stops counting."""
        return self.opened + dt.timedelta(days=DISPUTE_DEADLINE_DAYS)

    def status(self, today: dt.date) -> str:
        """``open``, ``overdue`` (the record is suppressed), or the decision taken."""
        if self.decided_on is not None and self.decision is not None:
            return _DONE[self.decision]
        return "overdue" if self.suppresses(today) else "open"

    def suppresses(self, today: dt.date) -> bool:
        """True if the disputed record is kept out of every score on ``today``."""
        return Dispute(self.seq, self.opened, self.decided_on).suppresses(today)


def _event(
    conn: Connection,
    dispute_id: int,
    event: str,
    actor: str,
    day: dt.date,
    at: dt.datetime | None,
    note: str = "",
    decision: str | None = None,
    correction_seq: int | None = None,
) -> None:
    conn.execute(
        dispute_events.insert().values(
            dispute_id=dispute_id,
            event=event,
            actor=actor,
            day=day,
            at=at or dt.datetime.now(dt.UTC),
            note=note,
            decision=decision,
            correction_seq=correction_seq,
        )
    )


def _views(conn: Connection, where) -> list[DisputeView]:
    cases = conn.execute(select(dispute_cases).where(where).order_by(dispute_cases.c.id)).all()
    if not cases:
        return []
    ids = [c.id for c in cases]
    history: dict[int, list[DisputeEvent]] = {i: [] for i in ids}
    for e in conn.execute(
        select(dispute_events)
        .where(dispute_events.c.dispute_id.in_(ids))
        .order_by(dispute_events.c.id)
    ):
        history[e.dispute_id].append(
            DisputeEvent(e.event, e.actor, e.day, e.at, e.decision, e.note, e.correction_seq)
        )
    return [
        DisputeView(
            c.id,
            c.seq,
            c.person,
            c.org,
            c.reason,
            c.opened,
            c.decision if c.decided_on else None,
            c.decided_on,
            c.correction_seq,
            tuple(history[c.id]),
        )
        for c in cases
    ]


def get_dispute(access_store: AccessStore, dispute_id: int, actor: str) -> DisputeView:
    """Dispute ``dispute_id`` as ``actor`` sees it: its person or the organisation that filed
    the record. For anyone else it does not exist: :class:`NotFound`, the same answer as for
    an id no dispute has, so that another's dispute (and who it is about) is never revealed."""
    mine = or_(dispute_cases.c.person == actor, dispute_cases.c.org == actor)
    with access_store.read() as conn:
        views = _views(conn, and_(dispute_cases.c.id == dispute_id, mine))
    if not views:
        raise NotFound(f"no dispute {dispute_id} of yours")
    return views[0]


def open_dispute(
    ledger_store: Store,
    access_store: AccessStore,
    person: str,
    seq: int,
    reason: str,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> DisputeView:
    """Dispute record ``seq`` of ``person``'s own file, giving a reason."""
    person = validate.person_id(person)
    reason = validate.text(reason, "the reason for the dispute", MAX_TEXT)
    record = ledger_store.record(seq)
    if record is None or record.person != person:
        raise NotFound(f"there is no record {seq} in your file")
    if record.action is Action.RETRACT:
        raise InvalidRequest(
            f"record {seq} retracts record {record.target}; it has no content to dispute"
        )
    corrected = ledger_store.corrected_by(seq)
    if corrected is not None:
        raise Conflict(
            f"record {seq} was already corrected by record {corrected}, which is "
            f"what counts now; dispute {corrected} instead"
        )
    if any(d.seq == seq and d.resolved is None for d in ledger_store.disputes(person)):
        raise Conflict(f"record {seq} already has an open dispute")
    dispute_id = ledger_store.add_dispute(seq, today, reason)
    try:
        with access_store.write() as conn:
            conn.execute(
                dispute_cases.insert().values(
                    id=dispute_id,
                    seq=seq,
                    person=person,
                    org=record.org,
                    reason=reason,
                    opened=today,
                    open_seq=seq,
                )
            )
            _event(conn, dispute_id, "opened", person, today, now, reason)
    except IntegrityError:
        # A concurrent request opened one first: close ours at once (it never suppresses).
        ledger_store.resolve_dispute(dispute_id, today, "withdrawn: duplicate of an open dispute")
        raise Conflict(f"record {seq} already has an open dispute") from None
    return get_dispute(access_store, dispute_id, person)


def _check_decision(
    decision: str, correction: dict | None, file_correction: FileCorrection | None
) -> None:
    if decision not in DECISIONS:
        raise InvalidRequest(f"decision {decision!r}: expected one of {', '.join(DECISIONS)}")
    if decision == "amend" and not correction:
        raise InvalidRequest("an amendment needs the corrected fields (correction)")
    if decision != "amend" and correction:
        raise InvalidRequest(f"a {decision} decision takes no corrected fields")
    if decision != "confirm" and file_correction is None:
        raise ValueError("file_correction is required to amend or retract")


def decide_dispute(
    ledger_store: Store,
    access_store: AccessStore,
    org: str,
    dispute_id: int,
    decision: Decision,
    note: str,
    today: dt.date,
    correction: dict | None = None,
    file_correction: FileCorrection | None = None,
    *,
    now: dt.datetime | None = None,
) -> DisputeView:
    """The filing organisation's decision on an open dispute, with a note to the person.

    ``amend`` and ``retract`` file a correction through ``file_correction`` first; if that
    fails the dispute stays open and the error propagates.
    """
    org = validate.org_code(org)
    _check_decision(decision, correction, file_correction)
    note = validate.text(note, "the note explaining the decision", MAX_TEXT)
    case = get_dispute(access_store, dispute_id, org)
    if case.org != org:  # the person it is about: they see it, but do not decide it
        raise AccessDenied(
            f"dispute {dispute_id}: only the organisation that filed the record decides"
        )
    unclaimed = and_(dispute_cases.c.id == dispute_id, dispute_cases.c.decision.is_(None))
    with access_store.write() as conn:  # claim it, so two decisions cannot both go through
        claimed = (
            conn.execute(update(dispute_cases).where(unclaimed).values(decision=decision)).rowcount
            == 1
        )
    if not claimed:
        raise Conflict(f"dispute {dispute_id} was already decided")
    try:
        new_seq = None
        if decision != "confirm":
            assert file_correction is not None
            new_seq = file_correction(org, decision, case.seq, dict(correction or {}))
    except BaseException:
        with access_store.write() as conn:
            conn.execute(
                update(dispute_cases).where(dispute_cases.c.id == dispute_id).values(decision=None)
            )
        raise
    outcome = _DONE[decision] + (f" by record {new_seq}" if new_seq is not None else "")
    ledger_store.resolve_dispute(dispute_id, today, outcome)
    with access_store.write() as conn:
        conn.execute(
            update(dispute_cases)
            .where(dispute_cases.c.id == dispute_id)
            .values(decided_on=today, correction_seq=new_seq, open_seq=None)
        )
        _event(conn, dispute_id, "decided", org, today, now, note, decision, new_seq)
    return get_dispute(access_store, dispute_id, org)


def note_dispute(
    access_store: AccessStore,
    actor: str,
    dispute_id: int,
    note: str,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> DisputeView:
    """Add a note to a dispute's history; ``actor`` is its person or its organisation."""
    note = validate.text(note, "the note", MAX_TEXT)
    get_dispute(access_store, dispute_id, actor)  # another's dispute: as if there were none
    with access_store.write() as conn:
        _event(conn, dispute_id, "note", actor, today, now, note)
    return get_dispute(access_store, dispute_id, actor)


def disputes_for_person(access_store: AccessStore, person: str) -> list[DisputeView]:
    """Every dispute ``person`` opened, oldest first, with its history."""
    person = validate.person_id(person)
    with access_store.read() as conn:
        return _views(conn, dispute_cases.c.person == person)


def disputes_for_org(
    access_store: AccessStore, org: str, open_only: bool = False
) -> list[DisputeView]:
    """Disputes of records ``org`` filed, oldest first (with ``open_only``: still undecided)."""
    org = validate.org_code(org)
    where = dispute_cases.c.org == org
    if open_only:
        where = and_(where, dispute_cases.c.decided_on.is_(None))
    with access_store.read() as conn:
        return _views(conn, where)
