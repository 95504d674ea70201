"""The incremental engine: per-person factor state kept current as records arrive.

For every installed policy the store keeps, per person, one *term* for each (record, factor)
the record feeds: the record's points before fading, when it happened and when it expires.
Filing a record adds its terms in the same transaction; an amendment or retraction removes
the corrected record's terms. A score is then evaluated from the person's terms alone, at any
date, without reading the ledger: a new speeding ticket moves the score at once.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa

from opencredit.clock import to_days
from opencredit.ledger.records import Dispute
from opencredit.ledger.store import TERM_ROW, TERM_SCHEMA, Store, TermMaker
from opencredit.policies.model import Policy
from opencredit.scoring.batch import query_arrow
from opencredit.scoring.compile import factor_map, kind_table
from opencredit.scoring.reference import clip, round_half_away

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
ORDER BY r.person, m.factor, r.seq
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
    """Factor state (TERM_SCHEMA) that ``records`` add under ``policy``.

    With ``whole_ledger`` the records are the entire ledger, so records corrected within it
    are left out (a rebuild); otherwise they are new records appended after everything
    they could correct.
    """
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
        return {p.key: make_terms(p, records) for p in policies}

    return on_append


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
        """The hook to pass to :meth:`Store.append`."""
        return term_maker(list(self.policies.values()))

    def rebuild_state(self, policy: Policy, records: pa.Table) -> int:
        """Recompute a policy's factor state from the whole ledger; returns the term count."""
        terms = make_terms(policy, records, whole_ledger=True)
        self.store.replace_terms(policy.key, terms)
        return terms.num_rows

    def score(self, policy: Policy, person: str, as_of: dt.date) -> tuple[float, int]:
        """(unrounded, rounded) score of ``person`` under ``policy`` at ``as_of``."""
        raw, _ = evaluate(
            policy, self.store.term_rows(policy.key, person), as_of, self.store.disputes(person)
        )
        return raw, round_half_away(raw)
