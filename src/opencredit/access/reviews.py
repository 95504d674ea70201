"""Human review of a score (GDPR Art. 22): the person asks, the scoring provider answers.

A request names the policy key and the scoring provider that owns it (an organisation code:
policies' ``provider`` field is free text, so the caller resolves the owner). Only that
provider may answer, once, in writing. Both stay in the person's file. A provider looks a
request up only among those addressed to it: another's is "not found" (404), never a 403
naming whom it is addressed to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Row, and_, select, update

from opencredit.access import validate
from opencredit.access.errors import Conflict, NotFound
from opencredit.access.store import AccessStore
from opencredit.access.tables import reviews

#: Longest request or answer accepted, in characters.
MAX_TEXT = 4000


@dataclass(frozen=True, slots=True)
class Review:
    """A review request and, once given, its answer."""

    id: int
    person: str
    policy_key: str
    provider: str
    message: str
    requested_on: dt.date
    answer: str | None
    answered_on: dt.date | None

    @property
    def answered(self) -> bool:
        """True once the provider has answered."""
        return self.answer is not None


def _review(row: Row) -> Review:
    return Review(
        row.id,
        row.person,
        row.policy_key,
        row.provider,
        row.message,
        row.requested_on,
        row.answer,
        row.answered_on,
    )


def request_review(
    store: AccessStore, person: str, policy_key: str, message: str, today: dt.date, provider: str
) -> Review:
    """Ask ``provider`` (the policy's owner) for a human review of a score under ``policy_key``."""
    values = dict(
        person=validate.person_id(person),
        policy_key=validate.policy_key(policy_key),
        provider=validate.org_code(provider),
        message=validate.text(message, "the review request", MAX_TEXT),
        requested_on=today,
        answer=None,
        answered_on=None,
    )
    with store.write() as conn:
        review_id = conn.execute(reviews.insert().values(**values)).inserted_primary_key[0]
    return Review(id=review_id, **values)


def answer_review(
    store: AccessStore, provider_org: str, review_id: int, answer: str, today: dt.date
) -> Review:
    """Answer a review addressed to ``provider_org``, once."""
    provider_org = validate.org_code(provider_org)
    answer = validate.text(answer, "the answer", MAX_TEXT)
    with store.write() as conn:
        row = _addressed_to(conn, review_id, provider_org)
        done = conn.execute(
            update(reviews)
            .where(
                and_(
                    reviews.c.id == review_id,
                    reviews.c.answer.is_(None),
                )
            )
            .values(answer=answer, answered_on=today)
        )
        if done.rowcount != 1:
            raise Conflict(f"review {review_id} was already answered on {row.answered_on}")
        row = conn.execute(select(reviews).where(reviews.c.id == review_id)).one()
    return _review(row)


def _addressed_to(conn: Connection, review_id: int, provider_org: str) -> Row:
    """Review ``review_id`` if it is addressed to ``provider_org``; for anyone else it does not
    exist (the same :class:`NotFound` as for an id no review has)."""
    mine = and_(reviews.c.id == review_id, reviews.c.provider == provider_org)
    row = conn.execute(select(reviews).where(mine)).first()
    if row is None:
        raise NotFound(f"no review request {review_id} addressed to you")
    return row


def reviews_for(store: AccessStore, person: str) -> list[Review]:
    """``person``'s review requests with their answers, newest first."""
    person = validate.person_id(person)
    with store.read() as conn:
        rows = conn.execute(
            select(reviews).where(reviews.c.person == person).order_by(reviews.c.id.desc())
        ).all()
    return [_review(r) for r in rows]


def reviews_for_provider(
    store: AccessStore, provider_org: str, unanswered_only: bool = False
) -> list[Review]:
    """Requests addressed to ``provider_org``, oldest first (the queue to answer)."""
    provider_org = validate.org_code(provider_org)
    where = reviews.c.provider == provider_org
    if unanswered_only:
        where = and_(where, reviews.c.answer.is_(None))
    with store.read() as conn:
        rows = conn.execute(select(reviews).where(where).order_by(reviews.c.id)).all()
    return [_review(r) for r in rows]
