"""The batch engine: every score rebuilt from the ledger in one DuckDB query per policy.

The policy is compiled to tables (:mod:`opencredit.scoring.compile`) and joined against the
ledger (Arrow tables or Parquet files), so the query is the reference semantics in SQL:
live records (not corrected, not retracted, not past retention, not suppressed by an overdue
dispute, not in the future), points faded by half-life, summed and clipped per factor, added
to the base and clipped to the range, rounded half away from zero.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS
from opencredit.policies.model import Policy
from opencredit.scoring.compile import band_table, factor_map, factor_table, kind_table

DISPUTE_SCHEMA = pa.schema(
    [("seq", pa.int64()), ("opened", pa.date32()), ("resolved", pa.date32())]
)

_LIVE_SQL = """
ledger AS (SELECT * FROM {records} WHERE $up_to IS NULL OR seq <= $up_to),
corrected AS (SELECT DISTINCT target AS seq FROM ledger WHERE target IS NOT NULL),
suppressed AS (
    SELECT DISTINCT seq FROM disputes
    WHERE date_diff('day', opened, $as_of) > {deadline}
      AND (resolved IS NULL OR resolved > $as_of)
),
live AS (
    SELECT l.seq, l.person, l.kind, l.category, l.value,
           date_diff('day', l.occurred, $as_of) AS age
    FROM ledger l JOIN kinds k ON k.kind = l.kind
    WHERE l.action <> 'retract' AND l.occurred <= $as_of
      AND (k.retention_days IS NULL OR date_diff('day', l.occurred, $as_of) <= k.retention_days)
      AND NOT EXISTS (SELECT 1 FROM corrected c WHERE c.seq = l.seq)
      AND NOT EXISTS (SELECT 1 FROM suppressed s WHERE s.seq = l.seq)
),
terms AS (
    SELECT v.person, m.factor,
           (m.per_record + m.per_unit * coalesce(v.value, 0.0))
             * CASE WHEN f.half_life IS NULL THEN 1.0
                    ELSE pow(2.0, -v.age / f.half_life) END AS points
    FROM live v
    JOIN fmap m ON m.kind = v.kind AND (m.category IS NULL OR m.category = v.category)
    JOIN factors f ON f.factor = m.factor
    WHERE f.window_days IS NULL OR v.age <= f.window_days
),
contributions AS (
    SELECT t.person, t.factor, sum(t.points) AS raw,
           greatest(least(sum(t.points), any_value(f.fmax)), any_value(f.fmin)) AS contribution,
           greatest(least(sum(t.points), any_value(f.fmax)), any_value(f.fmin))
             - any_value(f.at_zero) AS delta
    FROM terms t JOIN factors f ON f.factor = t.factor
    GROUP BY t.person, t.factor
)"""

_SCORE_SQL = """
WITH {live},
deltas AS (SELECT person, sum(delta) AS delta FROM contributions GROUP BY person),
raw AS (
    SELECT p.id AS person,
           greatest(least($base + (SELECT coalesce(sum(at_zero), 0.0) FROM factors)
                          + coalesce(d.delta, 0.0), $high), $low) AS raw
    FROM {persons} p LEFT JOIN deltas d ON d.person = p.id
),
rounded AS (
    SELECT person, raw, CAST(sign(raw) * floor(abs(raw) + 0.5) AS BIGINT) AS score FROM raw
)
SELECT r.person, r.raw, r.score, b.band
FROM rounded r JOIN bands b ON r.score BETWEEN b.bmin AND b.bmax
ORDER BY r.person
"""

_CONTRIBUTIONS_SQL = """
WITH {live}
SELECT person, factor, raw, contribution FROM contributions ORDER BY person, factor
"""


def _source(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table | str | Path) -> str:
    """Register an Arrow table, or name a Parquet file (or glob), as a SQL relation."""
    if isinstance(data, pa.Table):
        con.register(name, data)
        return name
    return f"read_parquet('{Path(data).as_posix()}')"


def _connect(policy: Policy, disputes: pa.Table | None, threads: int | None
             ) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.register("fmap", factor_map(policy))
    con.register("factors", factor_table(policy))
    con.register("kinds", kind_table())
    con.register("bands", band_table(policy))
    con.register("disputes", disputes if disputes is not None else DISPUTE_SCHEMA.empty_table())
    return con


def score_population(policy: Policy, records: pa.Table | str | Path,
                     persons: pa.Table | str | Path, as_of: dt.date, *,
                     disputes: pa.Table | None = None, up_to: int | None = None,
                     threads: int | None = None) -> pa.Table:
    """Scores of every person (column ``id`` of ``persons``) under ``policy`` at ``as_of``.

    ``records`` is the ledger (RECORD_SCHEMA) as an Arrow table or Parquet path. Returns
    (person, raw, score, band), one row per person, ordered by person.
    """
    con = _connect(policy, disputes, threads)
    try:
        live = _LIVE_SQL.format(records=_source(con, "records", records),
                                deadline=DISPUTE_DEADLINE_DAYS)
        sql = _SCORE_SQL.format(live=live, persons=_source(con, "persons", persons))
        params = {"as_of": as_of, "up_to": up_to, "base": policy.base,
                  "low": policy.low, "high": policy.high}
        return query_arrow(con, sql, params)
    finally:
        con.close()


def factor_contributions(policy: Policy, records: pa.Table | str | Path, as_of: dt.date, *,
                         disputes: pa.Table | None = None, up_to: int | None = None
                         ) -> pa.Table:
    """(person, factor, raw, contribution) for every person and factor with live records."""
    con = _connect(policy, disputes, None)
    try:
        live = _LIVE_SQL.format(records=_source(con, "records", records),
                                deadline=DISPUTE_DEADLINE_DAYS)
        return query_arrow(con, _CONTRIBUTIONS_SQL.format(live=live),
                           {"as_of": as_of, "up_to": up_to})
    finally:
        con.close()


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None
                ) -> pa.Table:
    """Run ``sql`` and return the result as an Arrow table, without an extra copy."""
    relation = con.sql(sql, params=params)
    # DuckDB 2 renamed .arrow() (which now returns a reader) to .to_arrow_table().
    fetch = getattr(relation, "to_arrow_table", None)
    return fetch() if fetch else relation.arrow()
