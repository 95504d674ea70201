"""What the two SQL stores share: the reads whose SQL differs only in the parameter marker.

:class:`~opencredit.ledger.sqlite_store.SQLiteStore` (sqlite3, ``?``) and
:class:`~opencredit.ledger.postgres_store.PostgresStore` (psycopg, ``%s``) keep the same
tables with the same columns (dates as days since the epoch), so a person, an organisation,
a record, a person's records and disputes, the policies and a person's factor state are read
by the same statements. Each store keeps what differs: writes, bulk transfer, transactions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import pyarrow as pa

from opencredit.clock import from_days, to_days
from opencredit.errors import LedgerError
from opencredit.ledger.records import Action, Dispute, Record
from opencredit.ledger.store import (
    TERM_SCHEMA,
    BatchReceipt,
    Organisation,
    Person,
    Store,
    TermMaker,
)

RECORD_COLUMNS = "seq, person, kind, occurred, value, category, org, ref, action, target"
#: The same, of ``records r`` in a join.
RECORD_COLUMNS_R = ", ".join(f"r.{c}" for c in RECORD_COLUMNS.split(", "))

#: ``factor_terms`` as stored: a record's terms, keyed by (seq, policy, factor); the person is
#: the record's. The first layout kept the person and led the key with it.
STORED_TERM_COLUMNS = ("seq", "policy", "factor", "occurred", "expires", "points")
#: Moving the first layout's terms (renamed ``factor_terms_old``) into the new table.
MOVE_OLD_TERMS = (
    f"INSERT INTO factor_terms ({', '.join(STORED_TERM_COLUMNS)}) "
    f"SELECT {', '.join(STORED_TERM_COLUMNS)} FROM factor_terms_old ORDER BY seq, policy, factor",
    "DROP TABLE factor_terms_old",
)

#: A person's (first parameter) terms under a policy (second), as ``t``: their records (the
#: person index), then each record's terms (the key of factor_terms is led by seq, so that
#: filings append to it). A store may phrase it otherwise (see ``PostgresStore``).
PERSON_TERMS = "records r JOIN factor_terms t ON t.seq = r.seq WHERE r.person = ? AND t.policy = ?"

#: The shared reads, with ``?`` for parameters (replaced by each store's marker).
_QUERIES = {
    "person": "SELECT * FROM persons WHERE id = ?",
    "organisation": "SELECT * FROM organisations WHERE code = ?",
    "organisations": "SELECT * FROM organisations ORDER BY name",
    "record": f"SELECT {RECORD_COLUMNS} FROM records WHERE seq = ?",
    "corrected_by": "SELECT seq FROM records WHERE target = ?",
    "records_for": f"SELECT {RECORD_COLUMNS} FROM records WHERE person = ? ORDER BY seq",
    "max_seq": "SELECT coalesce(max(seq), 0) FROM records",
    "disputes": "SELECT seq, opened, resolved FROM disputes",
    "disputes_of": "SELECT seq, opened, resolved FROM disputes WHERE person = ?",
    "policy_documents": "SELECT key, document FROM policies ORDER BY key",
    "policy_keys": "SELECT key FROM policies",
    "meta": "SELECT value FROM meta WHERE key = ?",
    "set_meta": "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    "drop_meta": "DELETE FROM meta WHERE key = ?",
    "drop_scores": "DELETE FROM scores WHERE policy = ?",
    "score_run": "SELECT as_of, up_to FROM score_runs WHERE policy = ?",
    "set_score_run": "INSERT INTO score_runs VALUES (?, ?, ?, ?) ON CONFLICT (policy) DO UPDATE "
    "SET as_of = excluded.as_of, up_to = excluded.up_to, computed_at = excluded.computed_at",
    "term_rows": "SELECT t.factor, t.seq, t.occurred, t.expires, t.points "
    "FROM {person_terms} ORDER BY t.factor, t.seq",
    # a person's registration (tag 0), factor state (1) and disputes (2) in one round trip
    "score_inputs": "SELECT 0, NULL, NULL, NULL, NULL, NULL FROM persons WHERE id = ? "
    "UNION ALL SELECT 1, t.factor, t.seq, t.occurred, t.expires, t.points "
    "FROM {person_terms} "
    "UNION ALL SELECT 2, NULL, seq, opened, resolved, NULL FROM disputes WHERE person = ? "
    "ORDER BY 1, 2, 3",
}


#: ``meta`` key (followed by the policy key) of the file holding a policy's latest scores.
SCORE_FILE = "scores-file:"


def dispute_of(seq: int, opened: int, resolved: int | None) -> Dispute:
    """A ``disputes`` row's (seq, opened, resolved), days since the epoch, as a :class:`Dispute`."""
    return Dispute(seq, from_days(opened), None if resolved is None else from_days(resolved))


def record_of(row: tuple) -> Record:
    """A ``records`` row (``RECORD_COLUMNS``) as a :class:`Record`."""
    seq, person, kind, occurred, value, category, org, ref, action, target = row
    return Record(
        seq, person, kind, from_days(occurred), value, category, org, ref, Action(action), target
    )


def json_list(values: Iterable[str]) -> str:
    """Many strings as one JSON parameter, sorted so that the probes go in key order (the
    drivers would otherwise bind a list element by element in Python: ~10 ms per 10,000)."""
    return json.dumps(sorted(values), ensure_ascii=False)


def now_text() -> str:
    """The time of a write, as stored (UTC, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class SQLStore(Store):
    """A store on a DB-API connection per thread (``db``) whose parameter marker is
    ``marker``; implements the reads both SQL stores share."""

    marker: ClassVar[str] = "?"
    person_terms: ClassVar[str] = PERSON_TERMS
    _sql: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._sql = {
            name: sql.replace("{person_terms}", cls.person_terms).replace("?", cls.marker)
            for name, sql in _QUERIES.items()
        }

    @property
    def db(self) -> Any:  # pragma: no cover - each store opens its own
        """This thread's connection."""
        raise NotImplementedError

    # filing in chunks: one implementation, the stores' differences as the hooks below ------
    def append_stream(
        self,
        org: str,
        source: str,
        chunks: Callable[[int], Iterable[pa.Table]],
        counts: Callable[[], tuple[int, int]],
        terms: TermMaker | None = None,
    ) -> BatchReceipt | None:
        m = self.marker
        try:
            with self._append_transaction():
                first = self.max_seq() + 1
                batch = self._new_batch(org, source)
                seq = first
                for rows in chunks(first):
                    if rows.num_rows:
                        self._check_chunk(org, rows)
                        self._write_rows(org, batch, seq, rows, terms)
                        seq += rows.num_rows
                if seq == first:
                    raise _NothingFiled
                duplicates, rejected = counts()
                self.db.execute(
                    f"UPDATE batches SET accepted = {m}, duplicates = {m}, rejected = {m}, "
                    f"first_seq = {m}, last_seq = {m} WHERE id = {m}",
                    (seq - first, duplicates, rejected, first, seq - 1, batch),
                )
        except _NothingFiled:
            return None
        return BatchReceipt(batch, org, source, seq - first, duplicates, rejected, first, seq - 1)

    def _append_transaction(self) -> AbstractContextManager[Any]:  # pragma: no cover
        """The write transaction of a filing, holding the ledger's append lock."""
        raise NotImplementedError

    def _new_batch(self, org: str, source: str) -> int:  # pragma: no cover
        """Insert an empty batch row inside the filing's transaction; its id."""
        raise NotImplementedError

    def _check_chunk(self, org: str, rows: pa.Table) -> None:
        """Checks a store makes of each chunk before writing it (none by default)."""

    def _write_rows(
        self, org: str, batch: int, first: int, rows: pa.Table, terms: TermMaker | None
    ) -> None:  # pragma: no cover
        """Rows as records from ``first`` on, their corrections' old factor state dropped
        and their own added; inside the caller's transaction."""
        raise NotImplementedError

    def person(self, person_id: str) -> Person | None:
        row = self.db.execute(self._sql["person"], (person_id,)).fetchone()
        return Person(row[0], row[1], from_days(row[2]), row[3]) if row else None

    def organisation(self, code: str) -> Organisation | None:
        row = self.db.execute(self._sql["organisation"], (code,)).fetchone()
        return Organisation(row[0], row[1], tuple(filter(None, row[2].split(",")))) if row else None

    def organisations(self) -> list[Organisation]:
        rows = self.db.execute(self._sql["organisations"]).fetchall()
        return [Organisation(r[0], r[1], tuple(filter(None, r[2].split(",")))) for r in rows]

    def record(self, seq: int) -> Record | None:
        row = self.db.execute(self._sql["record"], (seq,)).fetchone()
        return record_of(row) if row else None

    def corrected_by(self, seq: int) -> int | None:
        row = self.db.execute(self._sql["corrected_by"], (seq,)).fetchone()
        return row[0] if row else None

    def records_for(self, person: str) -> list[Record]:
        return [record_of(r) for r in self.db.execute(self._sql["records_for"], (person,))]

    def max_seq(self) -> int:
        return self.db.execute(self._sql["max_seq"]).fetchone()[0]

    def count_records(self) -> int:
        return self.max_seq()  # sequence numbers are dense: 1..max

    def disputes(self, person: str | None = None) -> list[Dispute]:
        rows = (
            self.db.execute(self._sql["disputes_of"], (person,))
            if person
            else self.db.execute(self._sql["disputes"])
        ).fetchall()
        return [dispute_of(*row) for row in rows]

    def policy_documents(self) -> dict[str, str]:
        return dict(self.db.execute(self._sql["policy_documents"]).fetchall())

    def policy_keys(self) -> set[str]:
        return {key for (key,) in self.db.execute(self._sql["policy_keys"])}

    def term_rows(self, policy_key: str, person: str) -> list[tuple]:
        return self.db.execute(self._sql["term_rows"], (person, policy_key)).fetchall()

    def score_inputs(
        self, policy_key: str, person: str
    ) -> tuple[list[tuple], list[Dispute]] | None:
        rows = self.db.execute(self._sql["score_inputs"], (person, person, policy_key, person))
        registered, terms, disputes = False, [], []
        for tag, *row in rows:
            if tag == 1:
                terms.append(tuple(row))
            elif tag == 2:
                disputes.append(dispute_of(*row[1:4]))
            else:
                registered = True
        return (terms, disputes) if registered else None

    def _write_transaction(self) -> Any:  # pragma: no cover - each store has its own
        raise NotImplementedError

    def write_score_file(self, policy_key: str, as_of: dt.date, up_to: int, path: str) -> None:
        # the run and the file that holds it, in place of the policy's rows in ``scores``
        with self._write_transaction():
            self.db.execute(self._sql["drop_scores"], (policy_key,))
            self.db.execute(
                self._sql["set_score_run"], (policy_key, to_days(as_of), up_to, now_text())
            )
            self.db.execute(self._sql["set_meta"], (SCORE_FILE + policy_key, str(path)))

    def score_file(self, policy_key: str) -> str | None:
        row = self.db.execute(self._sql["meta"], (SCORE_FILE + policy_key,)).fetchone()
        return row[0] if row else None

    def _forget_score_file(self, policy_key: str) -> None:
        """Inside ``write_scores``' transaction: the rows written replace the file."""
        self.db.execute(self._sql["drop_meta"], (SCORE_FILE + policy_key,))

    def _scores_from_file(self, policy_key: str) -> tuple[pa.Table, dt.date, int] | None:
        """The policy's scores from the run file the store names, if it names one."""
        from opencredit.scoring.score_files import read_policy_scores

        path = self.score_file(policy_key)
        if path is None:
            return None
        as_of, up_to = self.db.execute(self._sql["score_run"], (policy_key,)).fetchone()
        try:
            table = read_policy_scores(path, policy_key)
        except FileNotFoundError:
            raise LedgerError(
                f"the scores of {policy_key} were written to {path}, which is gone; "
                "run `opencredit rebuild` again"
            ) from None
        return table, from_days(as_of), up_to

    def terms_for(self, policy_key: str, person: str) -> pa.Table:
        rows = [(person, *row) for row in self.term_rows(policy_key, person)]
        cols = list(zip(*rows, strict=True)) if rows else [[]] * len(TERM_SCHEMA)
        return pa.table(
            [pa.array(c, f.type) for c, f in zip(cols, TERM_SCHEMA, strict=True)],
            schema=TERM_SCHEMA,
        )


class _NothingFiled(Exception):
    """A stream yielded no rows: the batch row is rolled back."""
