"""The incremental engine: per-person factor state kept current as records arrive.

For every installed policy the store keeps, per person, one *term* for each (record, factor)
the record feeds: the record's points before fading, when it happened and when it expires.
Filing a record adds its terms in the same transaction; an amendment or retraction removes
the corrected record's terms. A score is then evaluated from the person's terms alone, at any
date, without reading the ledger: a new speeding ticket moves the score at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Iterable, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opencredit.clock import to_days
from opencredit.errors import PoliciesChanged, UnknownName
from opencredit.ledger.records import Dispute
from opencredit.ledger.store import TERM_ROW, TERM_SCHEMA, Store, TermMaker
from opencredit.policies.model import Policy
from opencredit.scoring.batch import query_arrow
from opencredit.scoring.compile import factor_map, kind_table
from opencredit.scoring.reference import clip, round_half_away

#: A rebuild's factor state from the whole ledger (see :class:`_NewRecords` for a filing's).
_TERMS_SQL = """
SELECT r.person, m.factor, r.seq,
       CAST(date_diff('day', DATE '1970-01-01', r.occurred) AS INTEGER) AS occurred,
       CAST(date_diff('day', DATE '1970-01-01', r.occurred) + k.retention_days AS INTEGER)
         AS expires,
       m.per_record + m.per_unit * coalesce(r.value, 0.0) AS points
FROM records r
JOIN fmap m ON m.kind = r.kind AND (m.category IS NULL OR m.category = r.category)
JOIN kinds k ON k.kind = r.kind
WHERE r.action <> 'retract' {only_live}
ORDER BY r.seq, m.factor
"""

_NOT_CORRECTED = "AND r.seq NOT IN (SELECT target FROM records WHERE target IS NOT NULL)"

_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_database_lock = threading.Lock()


def _connect() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory DuckDB database.

    Opening a database costs tens of milliseconds, more than the query on a filing's records
    (and a filing runs one per policy); a connection to an open one costs microseconds. Each
    caller gets its own, so threads may file at once; registered tables stay its own.
    """
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():  # a forked child opens its own
            _database = (os.getpid(), duckdb.connect())
        return _database[1].cursor()


def make_terms(policy: Policy, records: pa.Table, *, whole_ledger: bool = False) -> pa.Table:
    """Factor state (TERM_SCHEMA) that ``records`` add under ``policy``, in the order
    (seq, factor): the stored key's.

    With ``whole_ledger`` the records are the entire ledger, so records corrected within it
    are left out (a rebuild, in DuckDB); otherwise they are new records appended after
    everything they could correct (a filing, column-wise in Arrow and numpy).
    """
    if whole_ledger:
        return _terms_in_duckdb(policy, records, whole_ledger=True)
    return _NewRecords(records).terms(policy)


def _terms_in_duckdb(policy: Policy, records: pa.Table, *, whole_ledger: bool) -> pa.Table:
    """:func:`make_terms` as one DuckDB query (``_TERMS_SQL``): the rebuild's way."""
    con = _connect()
    try:
        con.register("records", records)
        con.register("fmap", factor_map(policy))
        con.register("kinds", kind_table())
        sql = _TERMS_SQL.format(only_live=_NOT_CORRECTED if whole_ledger else "")
        return query_arrow(con, sql).cast(TERM_SCHEMA)
    finally:
        con.close()


def term_maker(policies: Sequence[Policy]) -> TermMaker:
    """The hook :meth:`Store.append` calls to keep every policy's factor state current."""

    def on_append(records: pa.Table) -> dict[str, pa.Table]:
        batch = _NewRecords(records)
        return {p.key: batch.terms(p) for p in policies}

    return on_append


class _NewRecords:
    """A filing's records, prepared once for the terms of every policy.

    The same as ``_TERMS_SQL`` without the rebuild's anti-join: a record feeds each factor
    that lists its kind (and its category, where the factor names categories), except
    retractions. A filing's few thousand records went through DuckDB in ~15 ms per policy,
    mostly its fixed costs; here all policies together take a few milliseconds.
    """

    def __init__(self, records: pa.Table) -> None:
        live = records.filter(pc.not_equal(records.column("action"), "retract"))
        self.n = live.num_rows
        self.person = live.column("person").combine_chunks()
        self.seq = _numpy(live.column("seq"))
        self.occurred = _numpy(pc.cast(live.column("occurred"), pa.int32()))
        self.value = _numpy(pc.fill_null(pc.cast(live.column("value"), pa.float64()), 0.0))
        self.kind = _Codes(live.column("kind"))
        self.category = _Codes(live.column("category"))

    def terms(self, policy: Policy) -> pa.Table:
        """The terms these records add under ``policy`` (TERM_SCHEMA)."""
        retention = _retention()
        fmap = [m for m in factor_map(policy).to_pylist() if m["kind"] in retention]
        factors = sorted({m["factor"] for m in fmap})  # code-point order is UTF-8 byte order
        rows, codes, per_record, per_unit, keep = [], [], [], [], []
        for m in fmap:
            mask = self.kind.equal(m["kind"])
            if m["category"] is not None:
                mask &= self.category.equal(m["category"])
            matched = np.flatnonzero(mask)
            if len(matched):
                rows.append(matched)
                codes.append(factors.index(m["factor"]))
                per_record.append(m["per_record"])
                per_unit.append(m["per_unit"])
                keep.append(retention[m["kind"]])
        if not rows:
            return TERM_SCHEMA.empty_table()
        counts = [len(r) for r in rows]
        row = np.concatenate(rows)
        factor = np.repeat(np.array(codes, dtype=np.int64), counts)
        order = np.lexsort((factor, self.seq[row]))
        row, factor = row[order], factor[order]
        days = np.repeat(np.array([-1 if k is None else k for k in keep]), counts)[order]
        points = (
            np.repeat(np.array(per_record, dtype=np.float64), counts)[order]
            + np.repeat(np.array(per_unit, dtype=np.float64), counts)[order] * self.value[row]
        )
        occurred = self.occurred[row]
        return pa.table(
            {
                "person": self.person.take(pa.array(row)),
                "factor": pa.array(factors, pa.string()).take(pa.array(factor)),
                "seq": pa.array(self.seq[row], pa.int64()),
                "occurred": pa.array(occurred, pa.int32()),
                "expires": pa.array(occurred + days, pa.int32(), mask=days < 0),
                "points": pa.array(points, pa.float64()),
            },
            schema=TERM_SCHEMA,
        )


class _Codes:
    """A text column dictionary-encoded, for equality masks against a few values."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        encoded = pc.dictionary_encode(column.combine_chunks())
        self.values = {v: i for i, v in enumerate(encoded.dictionary.to_pylist())}
        self.indices = _numpy(pc.fill_null(encoded.indices, -1))

    def equal(self, value: str) -> np.ndarray:
        """Rows whose value is ``value`` (never a null)."""
        code = self.values.get(value)
        if code is None:
            return np.zeros(len(self.indices), dtype=bool)
        return self.indices == code


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


@functools.cache
def _retention() -> dict[str, int | None]:
    """Each catalog kind's retention in days (None: counts forever)."""
    kinds = kind_table().to_pydict()
    return dict(zip(kinds["kind"], kinds["retention_days"], strict=True))


def evaluate(
    policy: Policy,
    terms: pa.Table | Iterable[tuple],
    as_of: dt.date,
    disputes: Iterable[Dispute] = (),
) -> tuple[float, dict[str, float]]:
    """A person's unrounded score and each factor's contribution, from their terms: a
    TERM_SCHEMA table or :meth:`Store.term_rows` tuples."""
    t = to_days(as_of)
    suppressed = {d.seq for d in disputes if d.suppresses(as_of)}
    sums = dict.fromkeys((f.id for f in policy.factors), 0.0)
    factors = {f.id: f for f in policy.factors}
    if isinstance(terms, pa.Table):
        terms = zip(*terms.select(list(TERM_ROW)).to_pydict().values(), strict=True)
    for factor_id, seq, occurred, expires, points in terms:
        f = factors.get(factor_id)
        age = t - occurred
        if f is None or age < 0 or (expires is not None and t > expires) or seq in suppressed:
            continue
        if f.window_days is not None and age > f.window_days:
            continue
        if f.half_life_days is not None:
            points *= 2.0 ** (-age / f.half_life_days)
        sums[factor_id] += points
    contributions = {fid: clip(s, factors[fid].min, factors[fid].max) for fid, s in sums.items()}
    raw = clip(policy.base + sum(contributions.values()), policy.low, policy.high)
    return raw, contributions


class IncrementalEngine:
    """Scores read from per-person factor state in the store."""

    def __init__(self, store: Store, policies: Sequence[Policy]) -> None:
        self.store = store
        self.policies = {p.key: p for p in policies}

    def maker(self) -> TermMaker:
        """The hook to pass to :meth:`Store.append`. Called inside the append's transaction,
        it first reads which policies are installed: one installed since this engine's
        policies were read (by another process) would get no terms for the batch, so it
        raises ``PoliciesChanged`` instead, and nothing of the batch is written."""
        make = term_maker(list(self.policies.values()))

        def checked(records: pa.Table) -> dict[str, pa.Table]:
            unknown = self.store.policy_keys() - self.policies.keys()
            if unknown:
                raise PoliciesChanged(
                    f"policies installed since this filing began: {', '.join(sorted(unknown))}"
                    "; reload the policies and file again"
                )
            return make(records)

        return checked

    def state_of(self, policy: Policy, records: pa.Table) -> pa.Table:
        """A policy's factor state over ``records``, the whole ledger."""
        return make_terms(policy, records, whole_ledger=True)

    def rebuild_state(self, policy: Policy, records: pa.Table) -> int:
        """Recompute a policy's factor state from the whole ledger; returns the term count."""
        terms = self.state_of(policy, records)
        self.store.replace_terms(policy.key, terms)
        return terms.num_rows

    def score(self, policy: Policy, person: str, as_of: dt.date) -> tuple[float, int]:
        """(unrounded, rounded) score of ``person`` under ``policy`` at ``as_of``; raises
        ``UnknownName`` if ``person`` is not registered."""
        inputs = self.store.score_inputs(policy.key, person)
        if inputs is None:
            raise UnknownName(f"no person {person} in the registry")
        terms, disputes = inputs
        raw, _ = evaluate(policy, terms, as_of, disputes)
        return raw, round_half_away(raw)
