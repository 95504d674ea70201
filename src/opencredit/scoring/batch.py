"""The batch engine: every score rebuilt from the ledger in one DuckDB query per policy.

The policy is compiled to one query (:mod:`opencredit.scoring.sql`) over the ledger (Arrow
tables or Parquet files), so the query is the reference semantics in SQL:
live records (not corrected, not retracted, not past retention, not suppressed by an overdue
dispute, not in the future), points faded by half-life, summed and clipped per factor, added
to the base and clipped to the range, rounded half away from zero.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from opencredit.policies.model import Policy
from opencredit.scoring.sql import column_name, contributions_sql, scores_sql

DISPUTE_SCHEMA = pa.schema(
    [("seq", pa.int64()), ("opened", pa.date32()), ("resolved", pa.date32())]
)


def _source(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table | str | Path) -> str:
    """Register an Arrow table, or name a Parquet file (or glob), as a SQL relation."""
    if isinstance(data, pa.Table):
        con.register(name, data)
        return name
    return f"read_parquet('{Path(data).as_posix()}')"


def _connect(disputes: pa.Table | None, threads: int | None) -> duckdb.DuckDBPyConnection:
    # A cursor on the process's DuckDB instance: its own registrations, but the instance's
    # caches (Parquet metadata, buffers) shared across rebuilds.
    default = duckdb.default_connection
    con = (default() if callable(default) else default).cursor()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if disputes is not None and disputes.num_rows:
        con.register("disputes", disputes)
    return con


def _has_disputes(disputes: pa.Table | None) -> bool:
    return disputes is not None and disputes.num_rows > 0


def score_population(
    policy: Policy,
    records: pa.Table | str | Path,
    persons: pa.Table | str | Path,
    as_of: dt.date,
    *,
    disputes: pa.Table | None = None,
    up_to: int | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Scores of every person (column ``id`` of ``persons``) under ``policy`` at ``as_of``.

    ``records`` is the ledger (RECORD_SCHEMA) as an Arrow table or Parquet path. Returns
    (person, raw, score, band), one row per person, ordered by person.
    """
    con = _connect(disputes, threads)
    try:
        sql = scores_sql(
            policy,
            _source(con, "records", records),
            _source(con, "persons", persons),
            as_of,
            up_to,
            _has_disputes(disputes),
        )
        return query_arrow(con, sql)
    finally:
        con.close()


def factor_contributions(
    policy: Policy,
    records: pa.Table | str | Path,
    as_of: dt.date,
    *,
    disputes: pa.Table | None = None,
    up_to: int | None = None,
) -> pa.Table:
    """(person, factor, contribution) for every factor of every person with live records."""
    con = _connect(disputes, None)
    try:
        wide = contributions_sql(
            policy, _source(con, "records", records), as_of, up_to, _has_disputes(disputes)
        )
        columns = ", ".join(column_name(f) for f in policy.factors)
        sql = (
            f"SELECT person, substr(factor, 3) AS factor, contribution FROM ({wide}) "
            f"UNPIVOT (contribution FOR factor IN ({columns})) ORDER BY person, factor"
        )
        return query_arrow(con, sql)
    finally:
        con.close()


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pa.Table:
    """Run ``sql`` and return the result as an Arrow table, without an extra copy."""
    relation = con.sql(sql, params=params)
    # DuckDB 2 renamed .arrow() (which now returns a reader) to .to_arrow_table().
    fetch = getattr(relation, "to_arrow_table", None)
    return fetch() if fetch else relation.arrow()
