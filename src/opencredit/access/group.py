"""Group commit: concurrent small inserts share one transaction, and so one durable commit.

Every partner read is logged before the score is shown, so each read waits for a commit;
on SQLite with ``synchronous=FULL`` (or PostgreSQL with ``synchronous_commit``) that is an
fsync, and one fsync per read caps a server at the disk's fsync rate and puts the disk's
tail latency into every read. Here the first caller to arrive becomes the *leader*: it
takes every insert queued so far, writes them in one transaction and commits once, then
hands each caller its row's id. Callers that arrive meanwhile queue for the next group. No
caller returns before the commit that holds its row, so durability is unchanged; with one
caller at a time it is exactly one transaction per insert, as before.

If a group's transaction fails, each of its inserts is retried in a transaction of its own,
so one bad row fails only its own caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opencredit.access.prepared import Prepared

#: Most inserts in one group (bounds the transaction, and the wait of the first in it).
MAX_GROUP = 256


@dataclass(slots=True, eq=False)
class _Entry:
    statement: Prepared
    values: Mapping[str, Any]
    done: bool = False
    key: Any = None
    error: BaseException | None = None
    #: Set when the entry is done, for the caller waiting on it.
    ready: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    """Insert rows through ``transaction`` (a factory of write transactions that yield a
    DB-API cursor), grouping the inserts of concurrent callers into one transaction.

    The leader writes one group (everything queued when it starts, itself first), then hands
    the lead to the first caller queued meanwhile, so no caller leads for longer than one
    group however busy the server is.
    """

    def __init__(self, transaction: Callable[[], Any]) -> None:
        self._transaction = transaction
        self._lock = threading.Lock()
        self._queue: list[_Entry] = []
        self._leading = False
        #: Groups written and the rows in them (for tests, and curiosity).
        self.groups = 0
        self.rows = 0

    def insert(self, statement: Prepared, values: Mapping[str, Any]) -> Any:
        """Insert one row with ``statement`` (an insert ``RETURNING`` its key), committed
        before this returns; the key."""
        entry = _Entry(statement, values)
        with self._lock:
            self._queue.append(entry)
            follow = self._leading
            self._leading = True
        if follow:
            entry.ready.wait()  # done by a leader, or made the leader
        if not entry.done:
            self._lead()
        if entry.error is not None:
            raise entry.error
        return entry.key

    def _lead(self) -> None:
        with self._lock:  # the leader is the first queued, so it is in its own group
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        try:
            self._write(group)
        except BaseException as exc:  # interrupted: nobody in the group may think it is written
            for entry in group:
                if entry.error is None:
                    entry.error = exc
            raise
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            for entry in group:
                entry.done = True
                entry.ready.set()
            if successor is not None:
                successor.ready.set()

    def _write(self, group: list[_Entry]) -> None:
        try:
            with self._transaction() as conn:
                keys = [_execute(conn, e) for e in group]
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for entry in group:  # one bad row fails only its own caller: each alone
                try:
                    with self._transaction() as conn:
                        entry.key = _execute(conn, entry)
                except Exception as alone:
                    entry.error = alone
            return
        for entry, key in zip(group, keys, strict=True):
            entry.key = key
        self.groups += 1
        self.rows += len(group)


def _execute(cursor: Any, entry: _Entry) -> Any:
    cursor.execute(entry.statement.sql, entry.statement.params(entry.values))
    return entry.statement.row(cursor.fetchone())[0]
