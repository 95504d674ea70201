"""Idempotency keys: same key and body replays, a different body conflicts, duplicates wait."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from access_helpers import NOW
from sqlalchemy import select

from opencredit.access import IdempotencyConflict, IdempotencyInProgress, InvalidRequest
from opencredit.access.idempotency import (
    PURGE_EVERY,
    TTL,
    IdempotencyRecord,
    abandon,
    begin,
    finish,
    purge_expired,
)
from opencredit.access.tables import idempotency_keys

KEY = "0f8e2c4a-retry-me"


def test_a_new_key_proceeds_and_a_replay_gets_the_stored_response(access_store):
    assert begin(access_store, "caller1", KEY, "h1") is None
    finish(access_store, "caller1", KEY, 201, '{"batch": 7}')
    assert begin(access_store, "caller1", KEY, "h1") == IdempotencyRecord(201, '{"batch": 7}')


def test_the_same_key_with_another_body_conflicts(access_store):
    begin(access_store, "caller1", KEY, "h1")
    finish(access_store, "caller1", KEY, 201, "{}")
    with pytest.raises(IdempotencyConflict, match="different request body") as info:
        begin(access_store, "caller1", KEY, "h2")
    assert info.value.status == 422


def test_keys_are_per_caller(access_store):
    assert begin(access_store, "caller1", KEY, "h1") is None
    assert begin(access_store, "caller2", KEY, "h2") is None


def test_a_duplicate_of_a_running_request_waits_then_reports_in_progress(access_store):
    begin(access_store, "caller1", KEY, "h1")
    started = time.monotonic()
    with pytest.raises(IdempotencyInProgress, match="still in progress") as info:
        begin(access_store, "caller1", KEY, "h1", wait=0.2)
    assert time.monotonic() - started >= 0.2 and info.value.status == 409
    with pytest.raises(IdempotencyConflict):  # a different body conflicts even while running
        begin(access_store, "caller1", KEY, "h2", wait=0.2)


def test_an_abandoned_key_can_be_used_again(access_store):
    begin(access_store, "caller1", KEY, "h1")
    abandon(access_store, "caller1", KEY)
    assert begin(access_store, "caller1", KEY, "h1") is None
    finish(access_store, "caller1", KEY, 200, "ok")
    abandon(access_store, "caller1", KEY)  # a finished request is kept
    assert begin(access_store, "caller1", KEY, "h1") == IdempotencyRecord(200, "ok")


def test_concurrent_duplicates_run_once(access_store):
    barrier = threading.Barrier(5)
    ran: list[int] = []
    responses: list[IdempotencyRecord] = []

    def request(n: int) -> None:
        barrier.wait()
        stored = begin(access_store, "caller1", KEY, "h1")
        if stored is None:
            ran.append(n)
            time.sleep(0.2)  # the work, while the duplicates poll
            finish(access_store, "caller1", KEY, 201, f"made by {n}")
            responses.append(IdempotencyRecord(201, f"made by {n}"))
        else:
            responses.append(stored)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ran) == 1
    assert responses == [IdempotencyRecord(201, f"made by {ran[0]}")] * 5


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_malformed_keys(access_store, key):
    with pytest.raises(InvalidRequest, match="Idempotency-Key"):
        begin(access_store, "caller1", key, "h1")


def test_a_key_expires_after_a_day_and_is_then_a_new_request(access_store):
    assert begin(access_store, "caller1", KEY, "h1", now=NOW) is None
    finish(access_store, "caller1", KEY, 201, "first", now=NOW)
    just_before = NOW + TTL - dt.timedelta(seconds=1)
    assert begin(access_store, "caller1", KEY, "h1", now=just_before) == IdempotencyRecord(
        201, "first"
    )
    with pytest.raises(IdempotencyConflict):  # still remembered: another body conflicts
        begin(access_store, "caller1", KEY, "h2", now=just_before)
    # a day later the key is forgotten: even another body is simply a new request
    assert begin(access_store, "caller1", KEY, "h2", now=NOW + TTL) is None
    finish(access_store, "caller1", KEY, 200, "second", now=NOW + TTL)
    assert begin(access_store, "caller1", KEY, "h2", now=NOW + TTL) == IdempotencyRecord(
        200, "second"
    )


def _keys(access_store) -> set[tuple[str, str]]:
    with access_store.read() as conn:
        return {(r.caller, r.key) for r in conn.execute(select(idempotency_keys))}


def test_expired_keys_are_purged(access_store):
    old = NOW - TTL - dt.timedelta(hours=1)
    begin(access_store, "caller1", "old", "h", now=old)
    finish(access_store, "caller1", "old", 200, "ok", now=old)
    begin(access_store, "caller2", "died-running", "h", now=old)
    begin(access_store, "caller1", "recent", "h", now=NOW - dt.timedelta(hours=23))
    assert purge_expired(access_store, NOW) == 2
    assert _keys(access_store) == {("caller1", "recent")}


def test_begin_purges_every_caller_s_expired_keys_now_and_then(access_store):
    minute = dt.timedelta(minutes=1)
    begin(access_store, "caller1", "a", "h", now=NOW)
    begin(access_store, "caller2", "b", "h", now=NOW + minute)
    begin(access_store, "caller3", "c", "h", now=NOW + TTL - minute)  # purges; none expired
    # a and b have expired, but the last purge was less than PURGE_EVERY ago
    begin(access_store, "caller3", "d", "h", now=NOW + TTL + minute)
    assert _keys(access_store) == {
        (f"caller{n}", k) for n, k in ((1, "a"), (2, "b"), (3, "c"), (3, "d"))
    }
    begin(access_store, "caller3", "e", "h", now=NOW + TTL + PURGE_EVERY)  # purges again
    assert _keys(access_store) == {("caller3", "c"), ("caller3", "d"), ("caller3", "e")}
