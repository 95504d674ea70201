"""``Idempotency-Key`` for HTTP writes: a retried request gets the first one's response.

Per caller (API key) and key:

- a new key is reserved atomically (the table's primary key), and the request proceeds;
- the same key with the same body hash returns the stored (status, body) once finished;
- the same key with a different body hash raises :class:`IdempotencyConflict` (HTTP 422);
- while the first request with the key is still running, a duplicate polls briefly, then
  returns the stored response or raises :class:`IdempotencyInProgress` (HTTP 409).

The API hashes what identifies the request (method, path and body) into ``body_hash``, calls
:func:`finish` with the response it sends, and :func:`abandon` if the handler fails without
one, so that a retry can proceed.

A key lives :data:`TTL` (24 hours, as Stripe keeps them): after that a request with the same
key is a new request, and :func:`begin` purges expired keys of every caller at most every
:data:`PURGE_EVERY`, so the table holds about a day of writes. Times come from the ``now``
arguments (the current UTC time when omitted), so tests control the clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError

from opencredit.access.errors import IdempotencyConflict, IdempotencyInProgress, InvalidRequest
from opencredit.access.store import AccessStore
from opencredit.access.tables import idempotency_keys

MAX_KEY_CHARS = 255
#: Seconds a duplicate waits for the first request to finish, and how often it looks.
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05
#: How long a key is remembered: a retry within it replays, one after it is a new request.
TTL = dt.timedelta(hours=24)
#: How often, at most, :func:`begin` purges expired keys (per store).
PURGE_EVERY = dt.timedelta(minutes=10)

_last_purge: weakref.WeakKeyDictionary[AccessStore, dt.datetime] = weakref.WeakKeyDictionary()
_purge_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The stored response of a finished request."""

    status: int
    body: str


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters")
    if not key.isascii() or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be printable ASCII")


def _where(caller_key_id: str, key: str):
    return and_(idempotency_keys.c.caller == caller_key_id, idempotency_keys.c.key == key)


def begin(
    store: AccessStore,
    caller_key_id: str,
    key: str,
    body_hash: str,
    *,
    wait: float = WAIT_SECONDS,
    now: dt.datetime | None = None,
) -> IdempotencyRecord | None:
    """None if this request should proceed (the key is now reserved), else the stored
    response of the earlier request with the same key and body. A key older than
    :data:`TTL` is forgotten: the request proceeds as a new one."""
    _check_key(key)
    now = now or dt.datetime.now(dt.UTC)
    _purge_now_and_then(store, now)
    try:
        with store.write() as conn:
            conn.execute(
                idempotency_keys.insert().values(
                    caller=caller_key_id,
                    key=key,
                    body_hash=body_hash,
                    created_at=now,
                )
            )
        return None
    except IntegrityError:
        pass
    deadline = time.monotonic() + wait
    while True:
        with store.read() as conn:
            row = conn.execute(select(idempotency_keys).where(_where(caller_key_id, key))).first()
        if row is not None and row.created_at <= now - TTL:  # expired: forget it
            with store.write() as conn:
                conn.execute(
                    delete(idempotency_keys).where(
                        and_(
                            _where(caller_key_id, key),
                            idempotency_keys.c.created_at == row.created_at,
                        )
                    )
                )
            row = None
        if row is None:  # abandoned or expired: try to take the key over
            return begin(
                store,
                caller_key_id,
                key,
                body_hash,
                wait=max(0.0, deadline - time.monotonic()),
                now=now,
            )
        if row.body_hash != body_hash:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was already used with a different request body; "
                "use a new key for a new request"
            )
        if row.status is not None:
            return IdempotencyRecord(row.status, row.body or "")
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress(
                f"a request with Idempotency-Key {key!r} is still in progress; retry shortly"
            )
        time.sleep(POLL_SECONDS)


def finish(
    store: AccessStore,
    caller_key_id: str,
    key: str,
    status: int,
    body: str,
    *,
    now: dt.datetime | None = None,
) -> None:
    """Store the response of the request that reserved ``key``."""
    with store.write() as conn:
        conn.execute(
            update(idempotency_keys)
            .where(_where(caller_key_id, key))
            .values(status=status, body=body, finished_at=now or dt.datetime.now(dt.UTC))
        )


def abandon(store: AccessStore, caller_key_id: str, key: str) -> None:
    """Release a reservation whose request failed without a response."""
    with store.write() as conn:
        conn.execute(
            delete(idempotency_keys).where(
                and_(_where(caller_key_id, key), idempotency_keys.c.status.is_(None))
            )
        )


def purge_expired(store: AccessStore, now: dt.datetime | None = None) -> int:
    """Forget every key older than :data:`TTL` (finished, or a request that died running);
    returns how many."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - TTL
    with store.write() as conn:
        return conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at <= cutoff)
        ).rowcount


def _purge_now_and_then(store: AccessStore, now: dt.datetime) -> None:
    """:func:`purge_expired`, at most every :data:`PURGE_EVERY` per store."""
    with _purge_lock:
        last = _last_purge.get(store)
        if last is not None and last <= now < last + PURGE_EVERY:
            return
        _last_purge[store] = now
    purge_expired(store, now)
