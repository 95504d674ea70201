"""The inquiry log: every attempt by a partner to read a person's score, granted or refused.

The person sees the whole log in their file: who asked, when, for which policy and purpose,
and whether (and why not) it was granted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, select

from opencredit.access.store import AccessStore
from opencredit.access.tables import inquiries
from opencredit.access.validate import org_code, person_id


@dataclass(frozen=True, slots=True)
class Inquiry:
    """One read attempt. ``reason`` says why it was refused (empty when granted)."""

    id: int
    person: str
    partner: str
    policy_key: str
    purpose: str
    granted: bool
    at: dt.datetime
    reason: str = ""


def _inquiry(row: Row) -> Inquiry:
    return Inquiry(
        row.id,
        row.person,
        row.partner,
        row.policy_key,
        row.purpose,
        bool(row.granted),
        row.at,
        row.reason,
    )


#: Built once: every partner read logs one.
_COLUMNS = ("person", "partner", "policy_key", "purpose", "granted", "at", "reason")
_INSERT = (
    inquiries.insert()
    .values({name: bindparam(name, type_=inquiries.c[name].type) for name in _COLUMNS})
    .returning(inquiries.c.id)
)


def inquiry_values(
    person: str,
    partner: str,
    policy_key: str,
    purpose: str,
    granted: bool,
    at: dt.datetime,
    reason: str = "",
) -> dict:
    """One attempt's row as stored: the ids checked, the texts cut to their columns."""
    return dict(
        person=person_id(person),
        partner=org_code(partner),
        policy_key=_shown(policy_key)[:80],
        purpose=_shown(purpose)[:64],
        granted=granted,
        at=at,
        reason=reason[:400],
    )


def _shown(text: str) -> str:
    """``text`` as asked, with control characters written out (``\\x00``): the attempt is
    logged even when it named no policy a database could store (PostgreSQL text holds no NUL)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def write_inquiry(store: AccessStore, values: dict) -> Inquiry:
    """Append one attempt (its :func:`inquiry_values`) to the person's inquiry log, durable
    when this returns; concurrent callers share one commit (``access.group``)."""
    return Inquiry(id=store.group.insert(store.prepare(_INSERT), values), **values)


async def write_inquiry_async(store: AccessStore, values: dict) -> Inquiry:
    """:func:`write_inquiry` on an event loop: the commit is awaited, not blocked on."""
    return Inquiry(id=await store.group.insert_async(store.prepare(_INSERT), values), **values)


def inquiries_for(store: AccessStore, person: str) -> list[Inquiry]:
    """``person``'s inquiry log, newest first."""
    person = person_id(person)
    with store.read() as conn:
        rows = conn.execute(
            select(inquiries)
            .where(inquiries.c.person == person)
            .order_by(inquiries.c.at.desc(), inquiries.c.id.desc())
        ).all()
    return [_inquiry(r) for r in rows]
