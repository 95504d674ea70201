"""API keys: created once, stored hashed, bound to a role and a subject.

A token reads ``oc_<key_id>_<secret>``: ``key_id`` (16 hex digits) finds the row, ``secret``
(``secrets.token_urlsafe(32)``, 256 random bits) proves possession. Only SHA-256 of the secret
is stored; with that much entropy a slow hash adds nothing. The token is shown once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from opencredit.access import validate
from opencredit.access.errors import InvalidRequest, NotFound
from opencredit.access.roles import ORG_ROLES, Caller, Role
from opencredit.access.store import AccessStore
from opencredit.access.tables import api_keys
from opencredit.access.validate import org_code, person_id
from opencredit.errors import UnknownName
from opencredit.ledger.store import Store

TOKEN_PREFIX = "oc"
#: Longest key label, in characters (one line, no control characters).
MAX_LABEL = 200
#: Built once: every request authenticates.
_KEY_BY_ID = select(api_keys).where(api_keys.c.key_id == bindparam("key_id"))


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listed: never its secret."""

    key_id: str
    role: Role
    subject: str | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        """True unless revoked."""
        return self.revoked_at is None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _subject(role: Role, subject: str | None, ledger: Store | None) -> str | None:
    if role is Role.PERSON:
        if subject is None:
            raise InvalidRequest("a person's key needs the person's resident ID as subject")
        pid = person_id(subject)
        if ledger is not None and ledger.person(pid) is None:
            raise UnknownName(f"no person {pid} in the registry; register them first")
        return pid
    if role in ORG_ROLES:
        if subject is None:
            raise InvalidRequest(f"a {role} key needs an organisation code as subject")
        code = org_code(subject)
        if role is Role.DATA_PROVIDER and ledger is not None and ledger.organisation(code) is None:
            raise UnknownName(
                f"no organisation {code} in the registry; register the data provider "
                "with its licensed domains first"
            )
        return code
    if subject is not None:
        raise InvalidRequest(f"a {role} key is not bound to a subject; give none (got {subject!r})")
    return None


def create_key(
    store: AccessStore,
    role: Role | str,
    subject: str | None,
    label: str = "",
    *,
    ledger: Store | None = None,
    now: dt.datetime | None = None,
) -> tuple[Caller, str]:
    """Create a key; returns the caller and the token, which is never shown again.

    With ``ledger``, a person must be registered and a data provider's organisation too.
    """
    try:
        role = Role(role)
    except ValueError:
        raise InvalidRequest(
            f"unknown role {role!r}; expected one of {', '.join(r.value for r in Role)}"
        ) from None
    subject = _subject(role, subject, ledger)
    label = validate.label(label, "the key's label", MAX_LABEL)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with store.write() as conn:
        conn.execute(
            api_keys.insert().values(
                key_id=key_id,
                role=role.value,
                subject=subject,
                label=label,
                secret_hash=_hash(secret),
                created_at=now or dt.datetime.now(dt.UTC),
            )
        )
    domains = _domains(role, subject, ledger)
    return Caller(key_id, role, subject, domains), f"{TOKEN_PREFIX}_{key_id}_{secret}"


def _domains(role: Role, subject: str | None, ledger: Store | None) -> tuple[str, ...]:
    if role is not Role.DATA_PROVIDER or ledger is None or subject is None:
        return ()
    org = ledger.organisation(subject)
    return tuple(org.domains) if org else ()


def authenticate(store: AccessStore, token: str, *, ledger: Store | None = None) -> Caller | None:
    """The caller a token belongs to; None if it is malformed, unknown or revoked.

    A data provider's ``domains`` are read from ``ledger``'s registry at every call, so a
    re-licensing takes effect at once; without ``ledger`` they are empty.
    """
    if not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[2]:
        return None
    _, key_id, secret = parts
    if len(key_id) != 16:
        return None
    row = store.fetch_one(store.prepare(_KEY_BY_ID), {"key_id": key_id})
    # Compare even when the key is unknown, so timing does not tell which ids exist.
    stored = row.secret_hash if row is not None else _hash("")
    matches = hmac.compare_digest(stored, _hash(secret))
    if row is None or not matches or row.revoked_at is not None:
        return None
    role = Role(row.role)
    return Caller(row.key_id, role, row.subject, _domains(role, row.subject, ledger))


def revoke_key(store: AccessStore, key_id: str, *, now: dt.datetime | None = None) -> None:
    """Revoke a key at once; revoking a revoked key is a no-op, an unknown one is NotFound."""
    with store.write() as conn:
        row = conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise NotFound(f"no key {key_id!r}")
        if row.revoked_at is None:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id)
                .values(revoked_at=now or dt.datetime.now(dt.UTC))
            )


def list_keys(store: AccessStore) -> list[KeyInfo]:
    """Every key, oldest first, without secrets."""
    with store.read() as conn:
        rows = conn.execute(
            select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        ).all()
    return [
        KeyInfo(r.key_id, Role(r.role), r.subject, r.label, r.created_at, r.revoked_at)
        for r in rows
    ]
