"""A partner's score read: the one path by which a partner ever sees a score.

The read is granted only under a consent that is live today, from this person to this partner,
for this policy and purpose, and only while the version in force still allows the purpose (a
named older version only for purposes both allow: :mod:`~opencredit.access.versions`). Every
attempt naming a valid resident ID is logged in the person's inquiry log, granted or refused,
before anything is returned; a refused read raises :class:`AccessDenied` and shows no score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

from opencredit.access.consents import live_consent
from opencredit.access.errors import AccessDenied
from opencredit.access.inquiries import inquiry_values, write_inquiry, write_inquiry_async
from opencredit.access.roles import Caller, Role
from opencredit.access.store import AccessStore
from opencredit.access.validate import person_id
from opencredit.access.versions import choose_policy
from opencredit.errors import OpenCreditError
from opencredit.policies.model import Policy


class Scorer(Protocol):
    """What a lookup needs to compute a score; :class:`opencredit.workspace.Workspace` is one."""

    def policy(self, name: str) -> Policy:
        """The installed policy ``id@version``, or the latest version of ``id``."""
        ...

    def score(self, person: str, policy: str, as_of: dt.date | None = None) -> tuple[float, int]:
        """(unrounded, rounded) score of ``person`` under policy key ``policy``."""
        ...


@dataclass(frozen=True, slots=True)
class PartnerScore:
    """What a partner is shown: the score, its band and what it was computed under."""

    person: str
    policy_key: str
    purpose: str
    score: int
    band: str
    as_of: dt.date
    consent_id: int
    inquiry_id: int


def partner_lookup(
    store: AccessStore,
    scorer: Scorer,
    caller: Caller,
    person: str,
    policy_id: str,
    purpose: str,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> PartnerScore:
    """Read ``person``'s score under ``policy_id`` for ``purpose`` as partner ``caller``.

    ``policy_id`` may be ``id`` (the version in force) or ``id@version``, read only for a
    purpose that version and the version in force both allow. Raises
    :class:`AccessDenied` (no score) unless a live consent covers the read; an unknown policy
    raises ``UnknownName``. Both are logged; a malformed resident ID is not (there is no
    person to show it to) and raises ``InvalidIdentifier``.
    """
    steps = _lookup(store, scorer, caller, person, policy_id, purpose, today, now)
    inquiry = next(steps)
    while True:  # each step hands over an inquiry to log, durably, before it goes on
        logged = write_inquiry(store, inquiry)
        try:
            inquiry = steps.send(logged.id)
        except StopIteration as finished:
            return finished.value


async def partner_lookup_async(
    store: AccessStore,
    scorer: Scorer,
    caller: Caller,
    person: str,
    policy_id: str,
    purpose: str,
    today: dt.date,
    *,
    now: dt.datetime | None = None,
) -> PartnerScore:
    """:func:`partner_lookup` for a caller on an event loop, with the same checks and answers:
    the reads run on the loop and the inquiry's commit is awaited, not blocked on. Only for
    stores on this machine whose reads never wait for a writer (SQLite in WAL mode,
    PostgreSQL on loopback); over a network, run :func:`partner_lookup` in a worker thread
    instead."""
    steps = _lookup(store, scorer, caller, person, policy_id, purpose, today, now)
    inquiry = next(steps)
    while True:
        logged = await write_inquiry_async(store, inquiry)
        try:
            inquiry = steps.send(logged.id)
        except StopIteration as finished:
            return finished.value


def _lookup(
    store: AccessStore,
    scorer: Scorer,
    caller: Caller,
    person: str,
    policy_id: str,
    purpose: str,
    today: dt.date,
    now: dt.datetime | None,
) -> Generator[dict[str, Any], int, PartnerScore]:
    """The read as steps, written once for both drivers: yields each inquiry to log (its
    :func:`inquiry_values`; the driver writes it and sends back its id), then raises the
    refusal or returns the answer."""
    if caller.role is not Role.PARTNER or caller.subject is None:
        raise AccessDenied(f"only partners read scores through a consent; you are {caller.role}")
    person = person_id(person)
    partner = caller.subject
    at = now or dt.datetime.now(dt.UTC)

    def inquiry(policy_key: str, granted: bool, reason: str = "") -> dict[str, Any]:
        return inquiry_values(person, partner, policy_key, purpose, granted, at, reason)

    try:
        chosen = choose_policy(scorer, policy_id)
    except OpenCreditError:
        yield inquiry(policy_id, False, "no such policy")
        raise
    policy = chosen.named
    if not chosen.allows(purpose):  # judged against the version in force, too
        yield inquiry(policy.key, False, "purpose not allowed by the policy")
        raise AccessDenied(chosen.refusal(purpose))
    consent = live_consent(store, person, partner, policy.id, purpose, today)
    if consent is None:
        yield inquiry(policy.key, False, "no live consent")
        raise AccessDenied(
            f"no live consent from this person lets {partner} read {policy.id} for {purpose!r}; "
            "the person must grant one"
        )
    try:
        _, score = scorer.score(person, policy.key, today)
        band = policy.band_of(score).name
    except OpenCreditError:
        yield inquiry(policy.key, False, "score unavailable")
        raise
    inquiry_id = yield inquiry(policy.key, True)
    return PartnerScore(person, policy.key, purpose, score, band, today, consent.id, inquiry_id)
