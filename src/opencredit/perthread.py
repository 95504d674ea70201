"""One database connection per thread, without leaking those of threads that have ended.

The stores give each thread a connection of its own (SQLite and psycopg connections are not
for sharing between threads mid-statement). A server's worker threads come and go (anyio
retires a thread idle for 10 s and starts another when needed), so a connection kept per
thread for the life of the store piles up: on PostgreSQL, two server workers under load ran
the server out of connections (``too many clients``) within seconds. Here each new
connection first closes those whose thread has ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerThread(Generic[T]):
    """A connection per live thread: ``open()`` makes one, ``close(c)`` releases one."""

    def __init__(self, open: Callable[[], T], close: Callable[[T], None]) -> None:
        self._open = open
        self._close = close
        self._lock = threading.Lock()
        self._by_thread: dict[int, T] = {}

    def get(self) -> T:
        """This thread's connection, opened on first use."""
        ident = threading.get_ident()
        conn = self._by_thread.get(ident)
        if conn is None:
            conn = self._open()
            with self._lock:
                self._close_ended()
                self._by_thread[ident] = conn
        return conn

    def discard(self) -> None:
        """Close this thread's connection (broken); the next :meth:`get` opens another."""
        with self._lock:
            conn = self._by_thread.pop(threading.get_ident(), None)
        if conn is not None:
            self._close(conn)

    def __len__(self) -> int:
        return len(self._by_thread)

    def _close_ended(self) -> None:
        alive = {t.ident for t in threading.enumerate()}
        for ident in [i for i in self._by_thread if i not in alive]:
            self._close(self._by_thread.pop(ident))

    def close_all(self) -> None:
        """Close every thread's connection (the store is being closed)."""
        with self._lock:
            conns, self._by_thread = list(self._by_thread.values()), {}
        for conn in conns:
            self._close(conn)
