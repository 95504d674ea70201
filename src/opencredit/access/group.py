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

import asyncio
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
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
    #: A thread's caller: set when the entry is done, or when the caller is to lead.
    ready: threading.Event = field(default_factory=threading.Event)
    #: An event loop's caller: resolved on its loop when the entry is done.
    future: asyncio.Future | None = None

    def settle(self) -> None:
        """Tell the caller the entry is done."""
        if self.future is None:
            self.ready.set()
        else:
            with suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                self.future.get_loop().call_soon_threadsafe(_resolve, self)


def _resolve(entry: _Entry) -> None:
    if entry.future is not None and not entry.future.done():
        entry.future.set_result(None)


class GroupCommit:
    """Insert rows through ``transaction`` (a factory of write transactions that yield a
    DB-API cursor, given how many inserts the transaction will hold), grouping the inserts of
    concurrent callers into one transaction.

    The leader writes one group (everything queued when it starts, itself first), then hands
    the lead to the first caller queued meanwhile, so no caller leads for longer than one
    group however busy the server is. A caller on an event loop (:meth:`insert_async`) never
    blocks its loop: groups it would lead are written by one helper thread, which leads for
    as long as such callers come first, and each caller is woken on its own loop.
    """

    def __init__(self, transaction: Callable[[int], Any]) -> None:
        self._transaction = transaction
        self._lock = threading.Lock()
        self._queue: list[_Entry] = []
        self._leading = False
        #: Groups written and the rows in them (for tests, and curiosity).
        self.groups = 0
        self.rows = 0
        self._helper: ThreadPoolExecutor | None = None

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

    async def insert_async(self, statement: Prepared, values: Mapping[str, Any]) -> Any:
        """:meth:`insert` for a caller on an event loop: awaits the commit without blocking
        the loop."""
        entry = _Entry(statement, values, future=asyncio.get_running_loop().create_future())
        with self._lock:
            self._queue.append(entry)
            follow = self._leading
            self._leading = True
        if not follow:
            self._lead_in_helper()
        await entry.future
        if entry.error is not None:
            raise entry.error
        return entry.key

    def close(self) -> None:
        """Stop the helper thread once its work is done (the store is being closed)."""
        with self._lock:
            helper, self._helper = self._helper, None
        if helper is not None:
            helper.shutdown(wait=True)

    def _lead_in_helper(self) -> None:
        with self._lock:
            if self._helper is None:
                self._helper = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        self._helper.submit(self._lead, True)

    def _lead(self, helper: bool = False) -> None:
        """Write groups while leading: the helper thread goes on while the next caller is on
        an event loop; a caller's own thread writes one group and hands the lead on."""
        while True:
            with self._lock:  # the leader's entry is the first queued, so in this group
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            interrupted: BaseException | None = None
            try:
                self._write(group)
            except BaseException as exc:  # interrupted: none in the group may think it written
                interrupted = exc
                for entry in group:
                    if entry.error is None:
                        entry.error = exc
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            for entry in group:
                entry.done = True
                entry.settle()
            if successor is not None and successor.future is None:
                successor.ready.set()  # it leads, in its own thread
            elif successor is not None and (not helper or interrupted is not None):
                self._lead_in_helper()
            elif successor is not None:
                continue  # the helper leads on for the next caller on a loop
            if interrupted is not None:
                raise interrupted
            return

    def _write(self, group: list[_Entry]) -> None:
        try:
            with self._transaction(len(group)) as conn:
                keys = [_execute(conn, e) for e in group]
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for entry in group:  # one bad row fails only its own caller: each alone
                try:
                    with self._transaction(1) as conn:
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
