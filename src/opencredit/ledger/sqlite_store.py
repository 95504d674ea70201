"""The embedded store: one SQLite file in WAL mode with durable (``synchronous=FULL``) commits."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from opencredit.clock import from_days, to_days
from opencredit.errors import ConcurrentFiling, LedgerError
from opencredit.ledger.records import Record
from opencredit.ledger.sql_store import (
    MOVE_OLD_TERMS,
    RECORD_COLUMNS,
    RECORD_COLUMNS_R,
    STORED_TERM_COLUMNS,
    SQLStore,
    json_list,
    now_text,
    record_of,
)
from opencredit.ledger.store import (
    PERSON_SCHEMA,
    RECORD_SCHEMA,
    SCORE_SCHEMA,
    BatchReceipt,
    Organisation,
    TermMaker,
    records_table,
    terms_in_key_order,
)
from opencredit.perthread import PerThread
from opencredit.registry.organisations import check_org_name
from opencredit.registry.persons import check_persons

#: Run one statement at a time, split at ";" (see _create_tables): no ";" inside one.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY, region TEXT NOT NULL, birth_date INTEGER NOT NULL, sex TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS organisations (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, domains TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY, org TEXT NOT NULL, source TEXT NOT NULL, filed_at TEXT NOT NULL,
    accepted INTEGER NOT NULL, duplicates INTEGER NOT NULL, rejected INTEGER NOT NULL,
    first_seq INTEGER, last_seq INTEGER
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    person TEXT NOT NULL REFERENCES persons(id),
    kind TEXT NOT NULL,
    occurred INTEGER NOT NULL,
    value REAL,
    category TEXT,
    org TEXT NOT NULL REFERENCES organisations(code),
    ref TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('file', 'amend', 'retract')),
    target INTEGER REFERENCES records(seq),
    batch INTEGER NOT NULL REFERENCES batches(id),
    UNIQUE (org, ref)
);
CREATE INDEX IF NOT EXISTS records_person ON records (person, seq);
CREATE UNIQUE INDEX IF NOT EXISTS records_target ON records (target) WHERE target IS NOT NULL;
CREATE TABLE IF NOT EXISTS disputes (
    id INTEGER PRIMARY KEY, seq INTEGER NOT NULL REFERENCES records(seq),
    person TEXT NOT NULL, opened INTEGER NOT NULL, reason TEXT NOT NULL,
    resolved INTEGER, outcome TEXT
);
CREATE INDEX IF NOT EXISTS disputes_person ON disputes (person);
CREATE TABLE IF NOT EXISTS policies (
    key TEXT PRIMARY KEY, document TEXT NOT NULL, installed_at TEXT NOT NULL
) WITHOUT ROWID;
-- a record's terms (a person's are found through records_person, see sql_store)
CREATE TABLE IF NOT EXISTS factor_terms (
    seq INTEGER NOT NULL, policy TEXT NOT NULL, factor TEXT NOT NULL,
    occurred INTEGER NOT NULL, expires INTEGER, points REAL NOT NULL,
    PRIMARY KEY (seq, policy, factor)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scores (
    policy TEXT NOT NULL, person TEXT NOT NULL, raw REAL NOT NULL, score INTEGER NOT NULL,
    band TEXT NOT NULL, PRIMARY KEY (policy, person)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS score_runs (
    policy TEXT PRIMARY KEY, as_of INTEGER NOT NULL, up_to INTEGER NOT NULL,
    computed_at TEXT NOT NULL
) WITHOUT ROWID;
"""


#: json_each is built in from 3.38 (the batch checks read their ids from a JSON parameter).
MIN_SQLITE = (3, 38, 0)


class SQLiteStore(SQLStore):
    """The embedded store in one file. One writer at a time; readers never block."""

    marker = "?"

    def __init__(self, path: str | Path) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise LedgerError(
                f"SQLite {sqlite3.sqlite_version} is too old: the embedded store needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer (JSON functions built in); use a "
                "newer Python, or PostgreSQL with --database-url"
            )
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per thread (a server calls from a thread pool); SQLite in WAL mode
        # lets them read at once and queues their writes (busy_timeout).
        self._connections = PerThread(self._connect, sqlite3.Connection.close)
        self._create_tables()

    def _create_tables(self) -> None:
        """The tables, in one transaction with the move of factor state kept in the first
        layout (a key led by the person) to the current one."""
        with self._transaction():
            columns = self.db.execute("PRAGMA table_info(factor_terms)").fetchall()
            old = "person" in {row[1] for row in columns}
            if old:
                self.db.execute("ALTER TABLE factor_terms RENAME TO factor_terms_old")
            for statement in SCHEMA.split(";"):
                self.db.execute(statement)
            for statement in MOVE_OLD_TERMS if old else ():
                self.db.execute(statement)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        return self._connections.get()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves so each batch is one transaction.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-200000")
        return conn

    # helpers ---------------------------------------------------------------------------------
    def _write_transaction(self) -> _Transaction:
        return self._transaction()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # registry --------------------------------------------------------------------------------
    def add_persons(self, persons: pa.Table) -> int:
        persons = check_persons(persons)
        before = self.count_persons()
        birth = persons.column("birth_date").cast(pa.int32()).to_pylist()
        rows = zip(
            persons.column("id").to_pylist(),
            persons.column("region").to_pylist(),
            birth,
            persons.column("sex").to_pylist(),
            strict=True,
        )
        with self._transaction():
            self.db.executemany("INSERT OR IGNORE INTO persons VALUES (?, ?, ?, ?)", rows)
        return self.count_persons() - before

    def unknown_persons(self, ids: Iterable[str]) -> set[str]:
        wanted = set(ids)
        if not wanted:
            return set()
        # one primary-key probe per id, read from a JSON parameter: no temporary table to
        # fill (and no write transaction), a third of the time
        rows = self.db.execute(
            "SELECT w.value FROM json_each(?) w "
            "WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = w.value)",
            (json_list(wanted),),
        ).fetchall()
        return {u for (u,) in rows}

    def count_persons(self) -> int:
        return self.db.execute("SELECT count(*) FROM persons").fetchone()[0]

    def export_persons(self) -> pa.Table:
        rows = self.db.execute("SELECT id, region, birth_date, sex FROM persons").fetchall()
        ids, regions, births, sexes = zip(*rows, strict=True) if rows else ([], [], [], [])
        return pa.table(
            [
                pa.array(ids, pa.string()),
                pa.array(regions, pa.string()),
                pa.array(births, pa.int32()).cast(pa.date32()),
                pa.array(sexes, pa.string()),
            ],
            schema=PERSON_SCHEMA,
        )

    def add_organisation(self, org: Organisation) -> None:
        org = Organisation(org.code, check_org_name(org.name), org.domains)
        with self._transaction():
            self.db.execute(
                "INSERT INTO organisations VALUES (?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
                "name = excluded.name, domains = excluded.domains",
                (org.code, org.name, ",".join(org.domains)),
            )

    # ledger ----------------------------------------------------------------------------------
    def existing_refs(self, org: str, refs: Iterable[str]) -> dict[str, Record]:
        wanted = list(dict.fromkeys(refs))
        if (
            not wanted
            or self.db.execute("SELECT 1 FROM records WHERE org = ? LIMIT 1", (org,)).fetchone()
            is None
        ):
            return {}  # the organisation's first filing: nothing to look up
        # CROSS JOIN keeps the wanted refs as the outer loop, one (org, ref) index probe
        # each; left to itself SQLite walks every record the organisation ever filed.
        rows = self.db.execute(
            f"SELECT {RECORD_COLUMNS_R} FROM json_each(?) w CROSS JOIN records r "
            "WHERE r.org = ? AND r.ref = w.value",
            (json_list(wanted), org),
        ).fetchall()
        return {record.ref: record for record in map(record_of, rows)}

    def append(
        self,
        org: str,
        source: str,
        rows: pa.Table,
        duplicates: int = 0,
        rejected: int = 0,
        terms: TermMaker | None = None,
    ) -> BatchReceipt:
        n = rows.num_rows
        with self._transaction():
            first = self.max_seq() + 1
            cur = self.db.execute(
                "INSERT INTO batches (org, source, filed_at, accepted, duplicates, rejected, "
                "first_seq, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    org,
                    source,
                    now_text(),
                    n,
                    duplicates,
                    rejected,
                    first if n else None,
                    first + n - 1 if n else None,
                ),
            )
            batch = cur.lastrowid
            if n:
                self._write_rows(org, batch, first, rows, terms)
        return BatchReceipt(
            batch,
            org,
            source,
            n,
            duplicates,
            rejected,
            first if n else None,
            first + n - 1 if n else None,
        )

    def _append_transaction(self) -> _Transaction:
        return self._transaction()

    def _new_batch(self, org: str, source: str) -> int:
        return self.db.execute(
            "INSERT INTO batches (org, source, filed_at, accepted, duplicates, rejected) "
            "VALUES (?, ?, ?, 0, 0, 0)",
            (org, source, now_text()),
        ).lastrowid

    def _write_rows(
        self, org: str, batch: int, first: int, rows: pa.Table, terms: TermMaker | None
    ) -> None:
        """Rows as records from ``first`` on, their corrections' old factor state dropped
        and their own added; inside the caller's transaction."""
        full = records_table(rows, org, first)
        try:
            self._insert_records(full, batch)
        except sqlite3.IntegrityError as exc:
            # (org, ref), or a correction's target: filed by a batch since checked
            if not str(exc).startswith("UNIQUE constraint failed: records."):
                raise
            raise ConcurrentFiling(f"cannot append: {exc}") from exc
        targets = full.column("target").drop_null().to_pylist()
        if targets:
            self.db.executemany("DELETE FROM factor_terms WHERE seq = ?", ((t,) for t in targets))
        if terms is not None:
            self._insert_all_terms(terms(full))

    def _insert_records(self, full: pa.Table, batch: int) -> None:
        cols = [full.column(name) for name in RECORD_SCHEMA.names]
        cols[3] = cols[3].cast(pa.int32())  # occurred as days since epoch
        values = [c.to_pylist() for c in cols]
        values.append([batch] * full.num_rows)
        self.db.executemany(
            f"INSERT INTO records ({RECORD_COLUMNS}, batch) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            zip(*values, strict=True),
        )

    def _insert_terms(self, policy_key: str, terms: pa.Table) -> None:
        self._insert_all_terms({policy_key: terms})

    def _insert_all_terms(self, by_policy: dict[str, pa.Table]) -> None:
        """Every policy's new factor state in one statement, in primary-key order: after
        the table's last key, so the pages written are new ones, one after another."""
        table = terms_in_key_order(by_policy)
        if table is None:
            return
        self.db.executemany(
            f"INSERT OR REPLACE INTO factor_terms ({', '.join(STORED_TERM_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            zip(*(table.column(name).to_pylist() for name in STORED_TERM_COLUMNS), strict=True),
        )

    def export_records(
        self, up_to: int | None = None, batch_rows: int = 1_000_000, after: int = 0
    ) -> Iterator[pa.RecordBatch]:
        limit = self.max_seq() if up_to is None else up_to
        start = after
        while start < limit:
            end = min(start + batch_rows, limit)
            rows = self.db.execute(
                f"SELECT {RECORD_COLUMNS} FROM records WHERE seq > ? AND seq <= ? ORDER BY seq",
                (start, end),
            ).fetchall()
            start = end
            if not rows:
                continue
            cols = list(zip(*rows, strict=True))
            arrays = []
            for field, col in zip(RECORD_SCHEMA, cols, strict=True):
                if field.name == "occurred":
                    arrays.append(pa.array(col, pa.int32()).cast(pa.date32()))
                else:
                    arrays.append(pa.array(col, field.type))
            yield pa.RecordBatch.from_arrays(arrays, schema=RECORD_SCHEMA)

    # disputes --------------------------------------------------------------------------------
    def add_dispute(self, seq: int, opened: dt.date, reason: str) -> int:
        with self._transaction():
            row = self.db.execute("SELECT person FROM records WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                raise ValueError(f"no record with sequence number {seq}")
            cur = self.db.execute(
                "INSERT INTO disputes (seq, person, opened, reason) VALUES (?, ?, ?, ?)",
                (seq, row[0], to_days(opened), reason),
            )
            return cur.lastrowid

    def resolve_dispute(self, dispute_id: int, resolved: dt.date, outcome: str) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE disputes SET resolved = ?, outcome = ? WHERE id = ? AND resolved IS NULL",
                (to_days(resolved), outcome, dispute_id),
            )

    # policies and scores -----------------------------------------------------------------------
    def install_policy(
        self,
        key: str,
        document: str,
        terms: Callable[[], pa.Table] | None = None,
        *,
        admit: Callable[[dict[str, str]], None] | None = None,
    ) -> bool:
        with self._transaction():  # BEGIN IMMEDIATE: filings (and installs) wait
            if admit is not None:
                admit(self.policy_documents())
            cur = self.db.execute(
                "INSERT OR IGNORE INTO policies VALUES (?, ?, ?)", (key, document, now_text())
            )
            new = cur.rowcount == 1
            if new and terms is not None:
                self.db.execute("DELETE FROM factor_terms WHERE policy = ?", (key,))
                self._insert_terms(key, terms())
        return new

    def replace_terms(self, policy_key: str, terms: pa.Table) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM factor_terms WHERE policy = ?", (policy_key,))
            self._insert_terms(policy_key, terms)

    def write_scores(self, policy_key: str, as_of: dt.date, up_to: int, scores: pa.Table) -> None:
        scores = scores.select(SCORE_SCHEMA.names).cast(SCORE_SCHEMA)
        cols = [scores.column(n).to_pylist() for n in SCORE_SCHEMA.names]
        with self._transaction():
            self._forget_score_file(policy_key)
            self.db.execute("DELETE FROM scores WHERE policy = ?", (policy_key,))
            self.db.executemany(
                "INSERT INTO scores (policy, person, raw, score, band) VALUES (?, ?, ?, ?, ?)",
                zip([policy_key] * scores.num_rows, *cols, strict=True),
            )
            self.db.execute(
                "INSERT OR REPLACE INTO score_runs VALUES (?, ?, ?, ?)",
                (policy_key, to_days(as_of), up_to, now_text()),
            )

    def scores(self, policy_key: str) -> tuple[pa.Table, dt.date | None, int | None]:
        from_file = self._scores_from_file(policy_key)
        if from_file is not None:
            return from_file
        run = self.db.execute(
            "SELECT as_of, up_to FROM score_runs WHERE policy = ?", (policy_key,)
        ).fetchone()
        rows = self.db.execute(
            "SELECT person, raw, score, band FROM scores WHERE policy = ? ORDER BY person",
            (policy_key,),
        ).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [[]] * len(SCORE_SCHEMA)
        table = pa.table(
            [pa.array(c, f.type) for c, f in zip(cols, SCORE_SCHEMA, strict=True)],
            schema=SCORE_SCHEMA,
        )
        if run is None:
            return table, None, None
        return table, from_days(run[0]), run[1]

    def close(self) -> None:
        self._connections.close_all()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any error. Re-entrant."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> _Transaction:
        self.outer = not self.db.in_transaction
        if self.outer:
            self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
