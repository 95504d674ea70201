"""Share links: a signed, expiring, revocable link that shows one policy's score and band.

The token is ``<share_id>.<signature>``: ``share_id`` is random and finds the link,
``signature`` is base64url(HMAC-SHA256(secret, "share_id|person|policy_key|until")), so a
link cannot be altered or forged without the server's secret. A link works through ``until``
(inclusive) unless revoked. What it shows (:class:`SharedScore`) names neither the person nor
anything else from their file. A link is for a policy's version in force: it is made only for
that version and shows the version in force when it is opened (docs/access.md, "Policy
versions").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Row, and_, select, update

from opencredit.access import validate
from opencredit.access.errors import Conflict, InvalidRequest, NotFound, ShareInvalid
from opencredit.access.lookup import Scorer
from opencredit.access.store import AccessStore
from opencredit.access.tables import share_links
from opencredit.access.versions import Policies, choose_policy
from opencredit.clock import today as clock_today

#: Shortest server secret accepted for signing links.
MIN_SECRET_BYTES = 32
_SHARE_ID = re.compile(r"^[A-Za-z0-9_\-]{16,32}$")


@dataclass(frozen=True, slots=True)
class Share:
    """A share link as its owner sees it; ``token`` is what goes in the URL."""

    id: str
    person: str
    policy_key: str
    until: dt.date
    created_on: dt.date
    revoked_on: dt.date | None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class SharedScore:
    """What a share link shows: one policy's score and band, nothing else."""

    policy_key: str
    score: int
    band: str
    as_of: dt.date
    until: dt.date


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the share-link secret must be at least {MIN_SECRET_BYTES} bytes")


def sign(secret: bytes, share_id: str, person: str, policy: str, until: dt.date) -> str:
    """The base64url (unpadded) HMAC-SHA256 signature of a link's content."""
    _check_secret(secret)
    message = f"{share_id}|{person}|{policy}|{until.isoformat()}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _share(row: Row, secret: bytes | None) -> Share:
    token = None
    if secret is not None:
        token = f"{row.id}.{sign(secret, row.id, row.person, row.policy_key, row.until)}"
    return Share(
        row.id, row.person, row.policy_key, row.until, row.created_on, row.revoked_on, token
    )


def create_share(
    store: AccessStore,
    secret: bytes,
    policies: Policies,
    person: str,
    policy: str,
    until: dt.date,
    today: dt.date,
) -> Share:
    """Create a link showing ``person``'s score under ``policy`` until ``until``.

    ``policy`` is an id (its version in force) or the key of the version in force; a link is
    never made for a superseded version (:class:`InvalidRequest`), and it shows whatever
    version is in force when it is opened (:func:`shared_score`)."""
    _check_secret(secret)
    person = validate.person_id(person)
    chosen = choose_policy(policies, policy)
    if not chosen.current:
        raise InvalidRequest(
            f"policy {chosen.named.key} is no longer in force ({chosen.in_force.key} is): a "
            f"share link shows the version in force; share {chosen.in_force.id!r} instead"
        )
    policy = validate.policy_key(chosen.in_force.key)
    validate.future(until, today, "a share link")
    share_id = secrets.token_urlsafe(16)
    values = dict(
        id=share_id,
        person=person,
        policy_key=policy,
        until=until,
        created_on=today,
        revoked_on=None,
    )
    with store.write() as conn:
        conn.execute(share_links.insert().values(**values))
        row = conn.execute(select(share_links).where(share_links.c.id == share_id)).one()
    return _share(row, secret)


def resolve_share(store: AccessStore, secret: bytes, token: str, today: dt.date) -> Share:
    """The link behind ``token``, or :class:`ShareInvalid` saying why it cannot be shown."""
    _check_secret(secret)
    share_id, dot, signature = token.partition(".") if isinstance(token, str) else ("", "", "")
    if not dot or not _SHARE_ID.match(share_id) or not signature:
        raise ShareInvalid("malformed share link: expected <id>.<signature>", "malformed")
    with store.read() as conn:
        row = conn.execute(select(share_links).where(share_links.c.id == share_id)).first()
    if row is None:
        raise ShareInvalid("unknown share link: it does not exist", "unknown")
    expected = sign(secret, row.id, row.person, row.policy_key, row.until)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise ShareInvalid("share link signature does not match: the link was altered", "signature")
    if row.revoked_on is not None:
        raise ShareInvalid(f"share link was revoked on {row.revoked_on.isoformat()}", "revoked")
    if today > row.until:
        raise ShareInvalid(f"share link expired after {row.until.isoformat()}", "expired")
    return _share(row, secret)


def shared_score(
    store: AccessStore, secret: bytes, token: str, scorer: Scorer, today: dt.date
) -> SharedScore:
    """What a valid link shows today: the score and band under the version of the link's
    policy in force today (a link made before a new version shows the new one, as a consent
    carries over to it)."""
    share = resolve_share(store, secret, token, today)
    policy = choose_policy(scorer, share.policy_key.rpartition("@")[0]).in_force
    _, score = scorer.score(share.person, policy.key, today)
    return SharedScore(policy.key, score, policy.band_of(score).name, today, share.until)


def revoke_share(
    store: AccessStore,
    person: str,
    share_id: str,
    today: dt.date | None = None,
    *,
    secret: bytes | None = None,
) -> Share:
    """Revoke one of ``person``'s own links; it stays listed as revoked."""
    person = validate.person_id(person)
    today = today or clock_today()
    where = and_(share_links.c.id == share_id, share_links.c.person == person)
    with store.write() as conn:
        row = conn.execute(select(share_links).where(where)).first()
        if row is None:
            raise NotFound(f"you have no share link {share_id!r}")
        if row.revoked_on is not None:
            raise Conflict(f"share link {share_id} was already revoked on {row.revoked_on}")
        conn.execute(update(share_links).where(where).values(revoked_on=today))
        row = conn.execute(select(share_links).where(where)).one()
    return _share(row, secret)


def shares_for(store: AccessStore, person: str, *, secret: bytes | None = None) -> list[Share]:
    """Every link ``person`` created, newest first; with ``secret``, with their tokens."""
    person = validate.person_id(person)
    with store.read() as conn:
        rows = conn.execute(
            select(share_links)
            .where(share_links.c.person == person)
            .order_by(share_links.c.created_on.desc(), share_links.c.id)
        ).all()
    return [_share(r, secret) for r in rows]
