"""Idempotency keys: same key and body replays, a different body conflicts, duplicates wait."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from access_helpers import NOW

from opencredit.access import IdempotencyConflict, IdempotencyInProgress, InvalidRequest
from opencredit.access.idempotency import IdempotencyRecord, abandon, begin, finish, purge

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


def test_purge_forgets_old_finished_requests(access_store):
    begin(access_store, "caller1", "old", "h", now=NOW - dt.timedelta(days=2))
    finish(access_store, "caller1", "old", 200, "ok")
    begin(access_store, "caller1", "running", "h", now=NOW - dt.timedelta(days=2))
    begin(access_store, "caller1", "new", "h", now=NOW)
    finish(access_store, "caller1", "new", 200, "ok")
    assert purge(access_store, NOW - dt.timedelta(days=1)) == 1
    assert begin(access_store, "caller1", "old", "other") is None
    assert begin(access_store, "caller1", "new", "h") == IdempotencyRecord(200, "ok")
