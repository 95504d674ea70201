"""Group commit of the inquiry log: concurrent inserts share transactions, none is lost or
written twice, each caller gets its own row's id only after the commit, and one bad row fails
only its own caller. Also: writers in several processes on one SQLite file."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from access_helpers import PARTNER, PEOPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, func, select

import opencredit.access.store as store_module
from opencredit.access import AccessStore, inquiries_for, inquiry_values, write_inquiry
from opencredit.access.group import GroupCommit
from opencredit.access.tables import inquiries

AT = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
COLUMNS = ("person", "partner", "policy_key", "purpose", "granted", "at", "reason")
INSERT = (  # as write_inquiry's
    inquiries.insert()
    .values({c: bindparam(c, type_=inquiries.c[c].type) for c in COLUMNS})
    .returning(inquiries.c.id)
)


def inquiry(i: int, person: str | None) -> dict:
    """Row ``i`` of an inquiry insert (``purpose`` names it; a None person is refused)."""
    return dict(
        person=person,
        partner=PARTNER,
        policy_key="lending",
        purpose=f"p{i}",
        granted=True,
        at=AT,
        reason="",
    )


def rows(store: AccessStore) -> list[tuple[int, str]]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(select(inquiries.c.id, inquiries.c.purpose))]


def test_concurrent_inserts_share_commits_and_each_gets_its_own_row(access_store):
    slow_commits = []
    original = access_store._group_write

    @contextmanager
    def slow_write(rows: int):
        with original(rows) as cursor:
            yield cursor
            time.sleep(0.01)  # a slow fsync: callers pile up behind it
        slow_commits.append(1)

    group = GroupCommit(slow_write)
    access_store.group = group
    n = 60

    def one(i: int):
        inquiry = write_inquiry(
            access_store, inquiry_values(PEOPLE[i % 3], PARTNER, "lending", f"p{i}", True, AT)
        )
        # Returned only after the commit that holds it: another connection sees it now.
        with access_store.read() as conn:
            seen = conn.execute(
                select(inquiries.c.purpose).where(inquiries.c.id == inquiry.id)
            ).scalar_one()
        return inquiry.id, inquiry.purpose, seen

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(n)))
    assert all(purpose == seen for _, purpose, seen in results)
    assert sorted(rows(access_store)) == sorted((i, p) for i, p, _ in results)
    assert len({i for i, _, _ in results}) == n
    assert group.rows == n and group.groups == len(slow_commits)
    assert group.groups < n / 2  # they did share commits


def test_a_bad_row_fails_only_its_own_caller(access_store):
    barrier = threading.Barrier(8)

    def one(i: int):
        barrier.wait()
        values = inquiry(i, PEOPLE[0] if i != 5 else None)  # NOT NULL: refused
        return access_store.group.insert(access_store.prepare(INSERT), values)

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one, i) for i in range(8)]
    outcomes = {i: f.exception() for i, f in enumerate(futures)}
    assert outcomes[5] is not None
    assert all(outcomes[i] is None for i in range(8) if i != 5)
    assert sorted(p for _, p in rows(access_store)) == sorted(f"p{i}" for i in range(8) if i != 5)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bad=st.lists(st.booleans(), min_size=1, max_size=40),
    threads=st.integers(1, 12),
)
def test_never_lost_never_twice(tmp_path_factory, bad, threads):
    store = AccessStore(f"sqlite:///{tmp_path_factory.mktemp('g') / 'ledger.sqlite'}")
    try:

        def one(i: int):
            values = inquiry(i, None if bad[i] else PEOPLE[i % 3])
            try:
                return store.group.insert(store.prepare(INSERT), values)
            except Exception:
                return None

        with ThreadPoolExecutor(threads) as pool:
            keys = list(pool.map(one, range(len(bad))))
        written = dict(rows(store))
        assert [k is None for k in keys] == bad
        assert {k: f"p{i}" for i, k in enumerate(keys) if k is not None} == written
    finally:
        store.close()


def _log_many(url: str, worker: int, n: int) -> None:
    store = AccessStore(url)
    try:
        for i in range(n):
            write_inquiry(
                store, inquiry_values(PEOPLE[0], PARTNER, "lending", f"w{worker}-{i}", True, AT)
            )
    finally:
        store.close()


def test_processes_writing_one_sqlite_file_lose_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    AccessStore(url).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_log_many, args=(url, w, 40)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    store = AccessStore(url)
    try:
        purposes = [i.purpose for i in inquiries_for(store, PEOPLE[0])]
        assert sorted(purposes) == sorted(f"w{w}-{i}" for w in range(3) for i in range(40))
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(inquiries)).scalar() == 120
    finally:
        store.close()


def test_the_writer_lock_is_reentrant_and_shared_across_stores(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    a, b = AccessStore(url), AccessStore(url)
    try:
        with a._writer, a._writer:  # re-entrant in one thread
            pass
        held = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with a.write():
                held.set()
                release.wait(10)

        t = threading.Thread(target=hold)
        t.start()
        assert held.wait(10)
        started = time.monotonic()
        threading.Timer(0.2, release.set).start()
        with b.write():  # another store (as another process would): waits for the file lock
            waited = time.monotonic() - started
        t.join(10)
        assert waited >= 0.15
    finally:
        a.close()
        b.close()


def test_one_caller_at_a_time_is_one_transaction_each(access_store):
    before = access_store.group.groups
    for _ in range(3):
        write_inquiry(
            access_store, inquiry_values(PEOPLE[0], PARTNER, "lending", "lending", True, AT)
        )
    assert access_store.group.groups == before + 3


def test_postgres_group_writes_on_its_own_connection_and_replaces_a_broken_one(
    postgres_access_store, monkeypatch
):
    """On PostgreSQL the group writes on a connection of its own in autocommit (no pool
    ping, no BEGIN for one insert); if the server ended it while idle, the next read pings
    it, replaces it and logs."""
    store = postgres_access_store
    monkeypatch.setattr(store_module, "GROUP_IDLE_PING_SECONDS", 0.0)  # idle: any pause
    first = write_inquiry(store, inquiry_values(PEOPLE[0], PARTNER, "lending", "one", True, AT))
    conn = store._group_connection
    assert conn is not None and conn.autocommit
    with store.write() as other:  # the server ends the group's session (a restart, say)
        other.exec_driver_sql(f"SELECT pg_terminate_backend({conn.info.backend_pid})")
    second = write_inquiry(store, inquiry_values(PEOPLE[0], PARTNER, "lending", "two", True, AT))
    assert store._group_connection is not conn  # replaced
    logged = {i.id: i.purpose for i in inquiries_for(store, PEOPLE[0])}
    assert logged[first.id] == "one" and logged[second.id] == "two"
