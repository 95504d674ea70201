"""One connection per live thread: those of ended threads are closed, none is shared by two
live threads, and the stores use it (a server's worker threads come and go)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from opencredit.ledger.postgres_store import PostgresStore
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.perthread import PerThread


class Conn:
    def __init__(self) -> None:
        self.closed = False
        self.owner = threading.get_ident()


def run_in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_each_live_thread_has_its_own_and_ended_threads_are_closed():
    made: list[Conn] = []
    per = PerThread(lambda: made.append(Conn()) or made[-1], lambda c: setattr(c, "closed", True))
    mine = per.get()
    assert per.get() is mine
    others = [run_in_thread(per.get) for _ in range(20)]  # each thread ends after its call
    assert len({id(c) for c in others}) >= 1 and mine not in others
    assert len(per) <= 2  # this thread's, and the last ended thread's (closed at the next)
    assert not mine.closed
    assert sum(not c.closed for c in made) <= 2
    with ThreadPoolExecutor(8) as pool:  # live at once: never one connection for two
        barrier = threading.Barrier(8)

        def hold():
            c = per.get()
            barrier.wait()
            return c

        held = list(pool.map(lambda _: hold(), range(8)))
    assert len({id(c) for c in held}) == 8
    per.close_all()
    assert all(c.closed for c in made) and len(per) == 0


def test_the_stores_do_not_keep_connections_of_ended_threads(tmp_path, pg_url):

    stores = [
        SQLiteStore(tmp_path / "ledger.sqlite"),
        PostgresStore(pg_url, schema=f"oc_perthread_{uuid.uuid4().hex[:8]}"),
    ]
    try:
        for store in stores:
            for _ in range(30):
                run_in_thread(store.max_seq)
            assert len(store._connections) <= 2, type(store).__name__
    finally:
        pg = stores[1]
        pg.db.execute(f'DROP SCHEMA "{pg.schema}" CASCADE')
        for store in stores:
            store.close()
