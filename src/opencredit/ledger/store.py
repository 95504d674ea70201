"""The store interface: the one seam between the library and a database.

SQLite (:mod:`opencredit.ledger.sqlite_store`) is the embedded default; a PostgreSQL store
implements the same class. Bulk data crosses the seam as Arrow tables, single objects as the
dataclasses of :mod:`opencredit.ledger.records`. Every method that writes is atomic: it
writes everything or nothing.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from opencredit.ledger.records import Dispute, Record

#: Arrow schema of the ledger as the store exports it (dates as date32).
RECORD_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("person", pa.string()),
        ("kind", pa.string()),
        ("occurred", pa.date32()),
        ("value", pa.float64()),
        ("category", pa.string()),
        ("org", pa.string()),
        ("ref", pa.string()),
        ("action", pa.string()),
        ("target", pa.int64()),
    ]
)

PERSON_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("region", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
    ]
)

#: Per-person factor state kept by the incremental engine: one row per record and factor
#: (stored without ``person``, which is the record's).
TERM_SCHEMA = pa.schema(
    [
        ("person", pa.string()),
        ("factor", pa.string()),
        ("seq", pa.int64()),
        ("occurred", pa.int32()),  # days since 1970-01-01
        ("expires", pa.int32()),  # last day the record may count (null: never expires)
        ("points", pa.float64()),  # per_record + per_unit * value, before fading
    ]
)
#: The columns of :meth:`Store.term_rows`, in order.
TERM_ROW = ("factor", "seq", "occurred", "expires", "points")

SCORE_SCHEMA = pa.schema(
    [
        ("person", pa.string()),
        ("raw", pa.float64()),
        ("score", pa.int64()),
        ("band", pa.string()),
    ]
)


#: Given appended records (RECORD_SCHEMA), the factor state they add, per policy key.
TermMaker = Callable[[pa.Table], dict[str, pa.Table]]


@dataclass(frozen=True, slots=True)
class Organisation:
    """A registered organisation and the domains it is licensed to file records in."""

    code: str
    name: str
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Person:
    """A registered person. Attributes are for the fairness audit only."""

    id: str
    region: str
    birth_date: dt.date
    sex: str


@dataclass(frozen=True, slots=True)
class BatchReceipt:
    """What an accepted filing wrote: the batch, its counts and its ledger sequence range."""

    batch: int
    org: str
    source: str
    accepted: int
    duplicates: int
    rejected: int
    first_seq: int | None
    last_seq: int | None


class Store(ABC):
    """What opencredit needs from a database. Backends are chosen by URL (see ``open_store``)."""

    #: True if many processes may write at once (a server database).
    concurrent_writers: bool = False

    # registry ------------------------------------------------------------------------------
    @abstractmethod
    def add_persons(self, persons: pa.Table) -> int:
        """Register persons (an ``id`` column, and optionally the attributes it encodes; see
        :func:`opencredit.registry.persons.check_persons`, which refuses the whole table if any
        row is bad); already registered ids are skipped. Returns how many are new."""

    @abstractmethod
    def person(self, person_id: str) -> Person | None:
        """The registered person, or None."""

    @abstractmethod
    def unknown_persons(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that are not registered."""

    @abstractmethod
    def count_persons(self) -> int:
        """How many persons are registered."""

    @abstractmethod
    def export_persons(self) -> pa.Table:
        """Every registered person (PERSON_SCHEMA)."""

    @abstractmethod
    def add_organisation(self, org: Organisation) -> None:
        """Register (or re-license) an organisation."""

    @abstractmethod
    def organisation(self, code: str) -> Organisation | None:
        """The registered organisation, or None."""

    @abstractmethod
    def organisations(self) -> list[Organisation]:
        """Every registered organisation."""

    # ledger --------------------------------------------------------------------------------
    @abstractmethod
    def existing_refs(self, org: str, refs: Iterable[str]) -> dict[str, Record]:
        """Records already filed by ``org`` under any of ``refs``, by ref."""

    @abstractmethod
    def append(
        self,
        org: str,
        source: str,
        rows: pa.Table,
        duplicates: int = 0,
        rejected: int = 0,
        terms: TermMaker | None = None,
    ) -> BatchReceipt:
        """Append validated rows (RECORD_SCHEMA less seq and org) as one batch, atomically.

        Sequence numbers are assigned here, strictly increasing. In the same transaction the
        factor state of corrected records is dropped and ``terms`` (given the appended records
        with their sequence numbers) supplies new state per policy key, so factor state never
        lags the ledger. A batch never corrects a record in the same batch (ingestion refuses
        it), so dropping the corrected records' state before adding the batch's is exact.
        """

    @abstractmethod
    def record(self, seq: int) -> Record | None:
        """The ledger entry with sequence number ``seq``."""

    @abstractmethod
    def corrected_by(self, seq: int) -> int | None:
        """The sequence number of the amendment or retraction of record ``seq``, if any."""

    @abstractmethod
    def records_for(self, person: str) -> list[Record]:
        """Every ledger entry about ``person``, in sequence order."""

    @abstractmethod
    def max_seq(self) -> int:
        """The last sequence number (0 for an empty ledger)."""

    @abstractmethod
    def export_records(
        self, up_to: int | None = None, batch_rows: int = 1_000_000, after: int = 0
    ) -> Iterable[pa.RecordBatch]:
        """The ledger after ``after`` up to ``up_to`` in sequence order (RECORD_SCHEMA), in
        batches."""

    @abstractmethod
    def count_records(self) -> int:
        """How many ledger entries there are."""

    # disputes ------------------------------------------------------------------------------
    @abstractmethod
    def add_dispute(self, seq: int, opened: dt.date, reason: str) -> int:
        """Open a dispute of record ``seq``; returns its id."""

    @abstractmethod
    def resolve_dispute(self, dispute_id: int, resolved: dt.date, outcome: str) -> None:
        """Record the decision on a dispute."""

    @abstractmethod
    def disputes(self, person: str | None = None) -> list[Dispute]:
        """Disputes of one person's records, or all."""

    # policies and scores ---------------------------------------------------------------------
    @abstractmethod
    def install_policy(
        self,
        key: str,
        document: str,
        terms: Callable[[], pa.Table] | None = None,
        *,
        admit: Callable[[dict[str, str]], None] | None = None,
    ) -> bool:
        """Store a policy document under ``id@version``; False if already installed (a
        version is never rewritten). ``admit(installed)``, called first inside the
        transaction with every installed document by key, may raise to refuse the install:
        nothing is written, and no concurrent install can slip in between its check and the
        write. For a new policy, ``terms()`` (its factor state over the whole ledger,
        computed by the caller inside the same transaction) replaces the policy's factor
        state, so that the policy and its state appear together; filings wait meanwhile, and
        any filed after see it."""

    def policy_keys(self) -> set[str]:
        """Keys of the installed policies (cheaper than :meth:`policy_documents`)."""
        return set(self.policy_documents())

    @abstractmethod
    def policy_documents(self) -> dict[str, str]:
        """Installed policy documents by key."""

    @abstractmethod
    def replace_terms(self, policy_key: str, terms: pa.Table) -> None:
        """Replace all factor state of a policy (TERM_SCHEMA), as a full rebuild does. Terms
        are of records in the ledger: a term belongs to the person of its record (``seq``)."""

    @abstractmethod
    def terms_for(self, policy_key: str, person: str) -> pa.Table:
        """A person's factor state under a policy (TERM_SCHEMA)."""

    def term_rows(self, policy_key: str, person: str) -> list[tuple]:
        """:meth:`terms_for` as plain tuples ``(factor, seq, occurred, expires, points)``
        (days since the epoch), for scoring one person without building Arrow arrays."""
        cols = self.terms_for(policy_key, person).select(list(TERM_ROW)).to_pydict()
        return list(zip(*cols.values(), strict=True))

    def score_inputs(
        self, policy_key: str, person: str
    ) -> tuple[list[tuple], list[Dispute]] | None:
        """What scoring one person needs, in one read where the store can: ``person``'s
        :meth:`term_rows` under ``policy_key`` and :meth:`disputes`; None if ``person`` is not
        registered."""
        if self.person(person) is None:
            return None
        return self.term_rows(policy_key, person), self.disputes(person)

    @abstractmethod
    def write_scores(self, policy_key: str, as_of: dt.date, up_to: int, scores: pa.Table) -> None:
        """Replace the stored scores of a policy (SCORE_SCHEMA), computed at ``as_of``
        from the ledger up to ``up_to``."""

    def write_score_file(self, policy_key: str, as_of: dt.date, up_to: int, path: str) -> None:
        """Make the run file at ``path`` (see :mod:`opencredit.scoring.score_files`) hold the
        policy's stored scores. A store that cannot point to a file copies its rows."""
        from opencredit.scoring.score_files import read_policy_scores

        self.write_scores(policy_key, as_of, up_to, read_policy_scores(path, policy_key))

    def score_file(self, policy_key: str) -> str | None:
        """The run file holding the policy's stored scores, if a file holds them."""
        return None

    @abstractmethod
    def scores(self, policy_key: str) -> tuple[pa.Table, dt.date | None, int | None]:
        """Stored scores of a policy with the as-of date and ledger sequence they reflect."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""


def terms_in_key_order(by_policy: dict[str, pa.Table]) -> pa.Table | None:
    """Every policy's new factor state as one table with a ``policy`` column, in the
    ``factor_terms`` key order (seq, policy, factor), or None if there is none.

    Each policy's terms come in (seq, factor) order (``make_terms``) and policies are taken
    in key order, so a stable sort by seq gives the key's order. New records have the
    highest seqs, so a filing's terms go at the end of the key, one page after another: a
    key led by the person put each term on a random page of a large index (on PostgreSQL
    about half the filing's time, on SQLite a random page written per term)."""
    parts = []
    for key in sorted(by_policy):
        terms = by_policy[key]
        if terms.num_rows:
            terms = terms.select(TERM_SCHEMA.names).cast(TERM_SCHEMA)
            policy = pa.repeat(pa.scalar(key, pa.string()), terms.num_rows)
            parts.append(terms.add_column(1, "policy", policy))
    if not parts:
        return None
    table = pa.concat_tables(parts)
    if len(parts) > 1:
        seq = table.column("seq").to_numpy()
        table = table.take(pa.array(np.argsort(seq, kind="stable")))
    return table
