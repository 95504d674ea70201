"""Where the access layer keeps its tables: the ledger's own database, through SQLAlchemy.

On SQLite the tables live in the ledger file itself (``sqlite:///DATA/ledger.sqlite``) on a
second set of connections, in WAL mode with a busy timeout so they wait for the ledger's
writer instead of failing. On PostgreSQL they live under the same URL in the ledger's schema
(``opencredit``, or the URL's ``?schema=NAME``, so a test can use a throwaway schema).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement

from opencredit.access.group import GroupCommit
from opencredit.access.prepared import Prepared
from opencredit.access.tables import metadata
from opencredit.ledger.backends import DEFAULT_SCHEMA, lock_key, split_schema
from opencredit.perthread import PerThread

try:
    import fcntl
except ImportError:  # Windows: writers of one process still queue on the thread lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Milliseconds a SQLite connection waits for another writer (the ledger's) before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: PostgreSQL: the group commit's connection, idle longer than this, is pinged before use.
GROUP_IDLE_PING_SECONDS = 1.0
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def access_url(data_dir: str | Path) -> str:
    """The URL of the ledger file in a data directory, for :class:`AccessStore`."""
    return f"sqlite:///{Path(data_dir) / 'ledger.sqlite'}"


def normalise_url(url: str) -> str:
    """``postgresql://`` URLs use psycopg 3 (installed), not SQLAlchemy's default psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_listeners(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # We issue BEGIN ourselves (below); pysqlite's own handling delays it past reads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writes take the lock up front so a read-then-write never fails on an upgrade;
        # reads stay deferred so they never wait for the ledger's writer.
        write = connection.get_execution_options().get("opencredit_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class _WriterLock:
    """One writer at a time: a re-entrant thread lock, and across processes an exclusive
    ``flock`` on ``DATABASE.writer`` (where the platform has one; an in-memory database has
    no other process). Waiters wake the moment it is released."""

    def __init__(self, database: str | None) -> None:
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        if database and database != ":memory:" and fcntl is not None:
            self._fd = os.open(f"{database}.writer", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._thread.acquire()
        if self._depth == 0 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread.release()
                raise
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def close(self) -> None:
        """Release the file (the lock goes with it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _move_from_default_schema(conn: Connection, schema: str) -> None:
    """Move the access tables that earlier versions made in the connection's default schema
    (``public``) when the URL named no schema, to ``schema``, where the ledger is: only if
    ``schema`` has none of them yet and the default schema has ``api_keys`` and
    ``inquiries`` (so another application's tables of a common name are left alone)."""
    current = conn.execute(text("SELECT current_schema()")).scalar()
    if current is None or current == schema:
        return
    names = [t.name for t in metadata.sorted_tables]

    def present(where: str) -> set[str]:
        rows = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename = ANY(:n)"),
            {"s": where, "n": names},
        )
        return set(rows.scalars())

    old = present(current)
    if present(schema) or not {"api_keys", "inquiries"} <= old:
        return
    for name in names:
        if name in old:
            conn.execute(text(f'ALTER TABLE "{current}"."{name}" SET SCHEMA "{schema}"'))
    log.warning("moved the access tables from schema %s to %s, the ledger's", current, schema)


class AccessStore:
    """The access layer's tables on one database. Creates them if absent; on PostgreSQL in
    ``schema``, or the URL's ``?schema=NAME`` (as the ledger's URL takes it), else in the
    ledger's default schema ``opencredit`` (moving them there from ``public``, where versions
    before the fourth session made them).

    ``engine`` is the SQLAlchemy engine (with the schema mapping applied); use :meth:`write`
    for a write transaction and :meth:`read` for a read-only one.
    """

    def __init__(self, url: str, schema: str | None = None) -> None:
        url, in_url = split_schema(url)  # ?schema=NAME, as the ledger's URL takes it
        if in_url is not None and schema not in (None, in_url):
            raise ValueError(f"two schemas: {in_url!r} in the URL and {schema!r}")
        schema = schema or in_url
        url = normalise_url(url)
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        named = schema is not None
        if self.dialect == "postgresql":
            schema = schema or DEFAULT_SCHEMA  # the ledger's: one deployment, one schema
        self.schema = schema
        if self.dialect == "sqlite":
            if schema is not None:
                raise ValueError("a SQLite access store has no schema: give schema=None")
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            base = create_engine(url)
            _sqlite_listeners(base)
        else:
            base = create_engine(url, pool_pre_ping=True)
        self._base = base
        # SQLite has one writer at a time. Writers of this process queue on a lock, woken the
        # moment it is free; without it they poll in SQLite's busy handler, which sleeps up to
        # 100 ms between tries, and a burst of inquiries piles up behind the sleeps.
        # Writers of other processes (``serve --workers``) queue on a file lock beside the
        # database for the same reason.
        self._writer: AbstractContextManager = (
            _WriterLock(self.url.database) if self.dialect == "sqlite" else nullcontext()
        )
        #: Inserts that must be durable before the caller goes on (the inquiry log), grouped
        #: into one transaction when callers come at once (see ``access.group``).
        self.group = GroupCommit(self._group_write)
        self._group_connection: Any = None
        self._group_used_at = 0.0
        self._prepared: dict[int, tuple[ClauseElement, Prepared]] = {}
        in_memory = self.dialect == "sqlite" and self.url.database in (None, "", ":memory:")
        self._readers: PerThread | None = (
            None if in_memory else PerThread(self._open_reader, lambda c: c.close())
        )
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise ValueError(
                    f"schema {schema!r}: expected lower-case letters, digits and _ (max 63)"
                )
            self.engine: Engine = base.execution_options(schema_translate_map={None: schema})
        else:
            self.engine = base
        with self.engine.execution_options(opencredit_write=True).begin() as conn:
            if schema is not None:
                # as the ledger's store does: one at a time (concurrent CREATE ... IF NOT
                # EXISTS can collide), and the workers of one server start at once
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("schema", schema)}
                )
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                if not named:
                    _move_from_default_schema(conn, schema)
            metadata.create_all(conn, checkfirst=True)
            # create_all skips tables that exist; give them indexes added since.
            for table in metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
        if self.dialect == "postgresql":
            self.analyze(only_never_analyzed=True)

    def analyze(self, *, only_never_analyzed: bool = False) -> list[str]:
        """Refresh PostgreSQL's planner statistics of the access tables (SQLite: nothing).

        Without statistics PostgreSQL guesses, and for the partner read it guessed the
        partner's index, scanning every consent the partner holds (3-6 ms at 20,000) instead
        of the person's (0.07 ms). Autovacuum keeps statistics fresh where it runs; a store
        opened on tables never analysed (autovacuum off, or right after a bulk load) analyses
        them itself. Returns the tables analysed."""
        if self.dialect != "postgresql":
            return []
        schema = self.schema
        with self.engine.connect() as conn:
            names = [t.name for t in metadata.sorted_tables]
            if only_never_analyzed:
                rows = conn.execute(
                    text(
                        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = :schema "
                        "AND last_analyze IS NULL AND last_autoanalyze IS NULL"
                    ),
                    {"schema": schema},
                )
                stale = {r.relname for r in rows}
                names = [n for n in names if n in stale]
            for name in names:
                conn.execute(text(f'ANALYZE "{schema}"."{name}"'))
            conn.commit()
        return names

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        with self._writer, self.engine.execution_options(opencredit_write=True).begin() as conn:
            yield conn

    @contextmanager
    def raw_write(self) -> Iterator[Any]:
        """A write transaction on a pooled DB-API connection, for :class:`Prepared`
        statements: yields a cursor; committed on success, rolled back on any error."""
        with self._writer:
            dbapi = self._base.raw_connection()
            try:
                cursor = dbapi.cursor()
                if self.dialect == "sqlite":  # autocommit mode (see _sqlite_listeners)
                    cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                except BaseException:
                    dbapi.rollback()
                    raise
                dbapi.commit()
                cursor.close()
            finally:
                dbapi.close()  # back to the pool

    @contextmanager
    def _group_write(self, rows: int) -> Iterator[Any]:
        """The group commit's transaction for ``rows`` inserts (see ``access.group``).

        SQLite: :meth:`raw_write`. PostgreSQL: a connection of the group's own (only the
        group's leader writes, one at a time), in autocommit, so one insert is one round trip
        and its own transaction; a group of several is one transaction. Through the pool it
        was a liveness ping, BEGIN, the insert and COMMIT, four round trips on every read.
        After :data:`GROUP_IDLE_PING_SECONDS` idle the connection is pinged first and, if the
        server ended the session, replaced; one that breaks in use is replaced by the next
        group (its own callers get the error, and no answer)."""
        if self.dialect == "sqlite":
            with self.raw_write() as cursor:
                yield cursor
            return
        import psycopg

        conn = self._group_connection
        now = time.monotonic()
        if conn is not None and now - self._group_used_at > GROUP_IDLE_PING_SECONDS:
            try:  # idle a while: the server may have ended the session (a restart, say)
                conn.execute("SELECT 1")
            except psycopg.OperationalError:
                conn.close()
        if conn is None or conn.closed:
            conn = self._group_connection = self._open_reader()  # autocommit, no pool
        self._group_used_at = now
        try:
            if rows == 1:
                yield conn.cursor()
            else:
                with conn.transaction():
                    yield conn.cursor()
        except Exception:
            if conn.broken:
                self._group_connection = None
                conn.close()
            raise

    def fetch_one(self, statement: Prepared, values: Mapping[str, Any]) -> Any:
        """The first row of a :class:`Prepared` select (a named tuple), or None.

        Runs on a reader connection of this thread's own, in autocommit (each read sees what
        is committed), without the pool: its checkout, return and, on PostgreSQL, the
        liveness ping and the rollback were three round trips more than the read itself. A
        PostgreSQL reader whose connection broke (a server restart) is replaced once."""
        if self._readers is None:  # an in-memory SQLite database: one connection, the pool's
            with self._base.connect() as conn:
                raw = conn.connection.driver_connection
                return statement.row(
                    raw.execute(statement.sql, statement.params(values)).fetchone()
                )
        reader = self._readers.get()
        try:
            row = reader.execute(statement.sql, statement.params(values)).fetchone()
        except Exception:
            if self.dialect == "sqlite" or not reader.closed:
                raise
            self._readers.discard()  # the server went away: reconnect, once
            row = self._readers.get().execute(statement.sql, statement.params(values)).fetchone()
        return statement.row(row)

    def _open_reader(self) -> Any:
        if self.dialect == "sqlite":
            reader = sqlite3.connect(
                self.url.database, isolation_level=None, check_same_thread=False
            )
            reader.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            return reader
        import psycopg

        libpq = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(libpq, autocommit=True)

    def prepare(self, statement: ClauseElement) -> Prepared:
        """``statement`` compiled once for this store (cached by identity)."""
        found = self._prepared.get(id(statement))
        if found is None or found[0] is not statement:
            found = self._prepared[id(statement)] = (statement, Prepared(self, statement))
        return found[1]

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (never blocks on a writer under SQLite WAL or PostgreSQL)."""
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection and every thread's reader."""
        self.group.close()
        if self._group_connection is not None:
            self._group_connection.close()
            self._group_connection = None
        self._base.dispose()
        if self._readers is not None:
            self._readers.close_all()
        if isinstance(self._writer, _WriterLock):
            self._writer.close()

    def __enter__(self) -> AccessStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
