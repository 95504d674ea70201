"""Consent: a person lets one partner read one policy's score for one purpose, until a date.

A consent names the policy by id (``lending``), not version, so it carries over to new versions
of the policy; the purpose is checked against the version in force when it is granted and at
every read (:mod:`opencredit.access.versions`). A consent is live from the day it is granted
through ``until`` (inclusive) unless revoked; revoking takes effect at once and the consent
stays in the person's history. ``showcase`` additionally opts
the person into the partner's showcase listing (:mod:`opencredit.access.showcase`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Row, and_, bindparam, select, update

from opencredit.access.errors import Conflict, InvalidRequest, NotFound
from opencredit.access.store import AccessStore
from opencredit.access.tables import consents
from opencredit.access.validate import future, org_code, person_id
from opencredit.access.versions import Policies, choose_policy


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent as the person and the partner see it."""

    id: int
    person: str
    partner: str
    policy_id: str
    purpose: str
    granted_on: dt.date
    until: dt.date
    showcase: bool
    revoked_on: dt.date | None

    def live(self, today: dt.date) -> bool:
        """True if the consent allows a read on ``today``."""
        return self.revoked_on is None and self.granted_on <= today <= self.until


def _consent(row: Row) -> Consent:
    return Consent(
        row.id,
        row.person,
        row.partner,
        row.policy_id,
        row.purpose,
        row.granted_on,
        row.until,
        bool(row.showcase),
        row.revoked_on,
    )


def grant_consent(
    store: AccessStore,
    policies: Policies,
    person: str,
    partner: str,
    policy: str,
    purpose: str,
    until: dt.date,
    today: dt.date,
    showcase: bool = False,
) -> Consent:
    """Let ``partner`` read ``person``'s score under ``policy`` (``id`` or ``id@version``,
    found in ``policies``) for ``purpose`` until ``until``. The purpose must be one the
    version in force allows (and the version named, if older): :mod:`opencredit.access.versions`.
    The consent is for the policy's id, whatever version is named."""
    person = person_id(person)
    partner = org_code(partner)
    chosen = choose_policy(policies, policy)
    if not chosen.allows(purpose):
        raise InvalidRequest(chosen.refusal(purpose))
    future(until, today, "a consent")
    values = dict(
        person=person,
        partner=partner,
        policy_id=chosen.named.id,
        purpose=purpose,
        granted_on=today,
        until=until,
        showcase=showcase,
        revoked_on=None,
    )
    with store.write() as conn:
        consent_id = conn.execute(consents.insert().values(**values)).inserted_primary_key[0]
    return Consent(id=consent_id, **values)


def revoke_consent(store: AccessStore, person: str, consent_id: int, today: dt.date) -> Consent:
    """Revoke one of ``person``'s own consents; it stays in their history as revoked."""
    person = person_id(person)
    with store.write() as conn:
        row = conn.execute(
            select(consents).where(and_(consents.c.id == consent_id, consents.c.person == person))
        ).first()
        if row is None:
            raise NotFound(f"you have no consent {consent_id}")
        if row.revoked_on is not None:
            raise Conflict(f"consent {consent_id} was already revoked on {row.revoked_on}")
        conn.execute(update(consents).where(consents.c.id == consent_id).values(revoked_on=today))
        row = conn.execute(select(consents).where(consents.c.id == consent_id)).one()
    return _consent(row)


def consents_for(store: AccessStore, person: str) -> list[Consent]:
    """Every consent ``person`` ever granted, live or not, newest first."""
    person = person_id(person)
    with store.read() as conn:
        rows = conn.execute(
            select(consents).where(consents.c.person == person).order_by(consents.c.id.desc())
        ).all()
    return [_consent(r) for r in rows]


def consents_to(store: AccessStore, partner: str, today: dt.date) -> list[Consent]:
    """The consents live on ``today`` that persons granted to ``partner``."""
    partner = org_code(partner)
    with store.read() as conn:
        rows = conn.execute(
            select(consents)
            .where(
                and_(
                    consents.c.partner == partner,
                    consents.c.revoked_on.is_(None),
                    consents.c.granted_on <= today,
                    consents.c.until >= today,
                )
            )
            .order_by(consents.c.id)
        ).all()
    return [_consent(r) for r in rows]


# Built once: every partner read runs it, and building the statement costs more than running it.
_LIVE = (
    select(consents)
    .where(
        and_(
            consents.c.person == bindparam("person"),
            consents.c.partner == bindparam("partner"),
            consents.c.policy_id == bindparam("policy_id"),
            consents.c.purpose == bindparam("purpose"),
            consents.c.revoked_on.is_(None),
            consents.c.granted_on <= bindparam("today"),
            consents.c.until >= bindparam("today"),
        )
    )
    .order_by(consents.c.until.desc(), consents.c.id.desc())
    .limit(1)
)


def live_consent(
    store: AccessStore, person: str, partner: str, policy_id: str, purpose: str, today: dt.date
) -> Consent | None:
    """The live consent (the one lasting longest, if several) for exactly this read, or None."""
    person, partner = person_id(person), org_code(partner)
    params = dict(person=person, partner=partner, policy_id=policy_id, purpose=purpose, today=today)
    row = store.fetch_one(store.prepare(_LIVE), params)
    return None if row is None else _consent(row)
