"""A policy compiled to one SQL query: the reference semantics, with the policy's constants
typed in, as a person would write it by hand for that one policy and date.

Every factor becomes a ``CASE`` inside one aggregate over the person's live records, so the
ledger is read once, filtered to the policy's kinds at the scan. The dialect is DuckDB's
(``date_diff``, ``pow``, ``greatest``/``least``). The as-of date, the ledger prefix (``up_to``)
and whether disputes apply are typed in too, so the optimiser sees constants; ``disputes``
names a relation (seq, opened, resolved) when they apply.

The same query compiles to Spark SQL (:data:`SPARK`, for :mod:`opencredit.engines.spark`):
a :class:`Dialect` holds the few places where the two differ.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from opencredit.catalog import KINDS_BY_ID
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS
from opencredit.policies.model import Factor, Policy
from opencredit.scoring.rules import Rules


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the SQL dialects a policy compiles to."""

    name: str
    #: Quotes an identifier (factor ids may hold '-').
    quote: str
    #: Whole days from {start} to {end} (dates).
    days: str
    #: The condition that a record's seq is not among {subquery}'s; {records} names the
    #: records relation. Spark plans NOT IN as a broadcast (null-aware) join, hopeless with
    #: a national ledger's corrections; NOT EXISTS is a sort-merge anti join there.
    not_in: str
    #: Whether the scores come ordered by person (a global sort Spark need not pay).
    ordered: bool = True


DUCKDB = Dialect("duckdb", '"', "date_diff('day', {start}, {end})", "seq NOT IN ({subquery})")
SPARK = Dialect(
    "spark",
    "`",
    "datediff({end}, {start})",
    "NOT EXISTS (SELECT 1 FROM ({subquery}) AS x WHERE x.seq = {records}.seq)",
    ordered=False,
)


def literal(value: object) -> str:
    """A SQL literal for a string, number or None."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        raise TypeError("booleans have no place in a policy query")
    if isinstance(value, int):
        return str(value)
    # Typed: DuckDB reads a bare 1.25 as DECIMAL(3,2), and sums and coalesces of decimals
    # round to the coarsest scale (1.25 became 1.3).
    return f"{float(value)!r}::DOUBLE"


def column_name(factor: Factor, dialect: Dialect = DUCKDB) -> str:
    """The output column holding a factor's contribution."""
    return dialect.quote + "f_" + factor.id + dialect.quote


def _in(column: str, values: list[str]) -> str:
    unique = list(dict.fromkeys(values))
    if len(unique) == 1:
        return f"{column} = {literal(unique[0])}"
    return f"{column} IN ({', '.join(literal(v) for v in unique)})"


def _match(factor: Factor) -> str:
    cond = _in("kind", factor.kinds)
    if factor.categories:
        cond += " AND " + _in("category", factor.categories)
    if factor.window_days is not None:
        cond += f" AND age <= {factor.window_days}"
    return cond


def _points(factor: Factor) -> str:
    points = literal(factor.per_record)
    if factor.per_unit:
        points = f"({points} + {literal(factor.per_unit)} * coalesce(value, 0.0))"
    if factor.half_life_days is not None:
        # 2 ** (-age / h) as exp(age * -ln 2 / h): the same number to a few ulps, and cheaper.
        points += f" * exp(age * {literal(-math.log(2.0) / factor.half_life_days)})"
    return points


def _clip(expr: str, low: float, high: float) -> str:
    return f"least(greatest({expr}, {literal(low)}), {literal(high)})"


def contribution_sql(factor: Factor) -> str:
    """The clipped contribution of one factor over a person's live records."""
    # Every group has at least one live record, so a sum with ELSE 0 is never NULL.
    total = f"sum(CASE WHEN {_match(factor)} THEN {_points(factor)} ELSE 0.0 END)"
    return _clip(total, factor.min, factor.max)


def _retention_sql(kinds: list[str]) -> str:
    """The condition that a record is within its kind's retention period ({age}: its age)."""
    days = {k: KINDS_BY_ID[k].retention_days for k in kinds}
    if all(d is None for d in days.values()):
        return ""
    if None not in days.values() and len(set(days.values())) == 1:
        return f"AND {{age}} <= {next(iter(days.values()))}"
    cases = " ".join(f"WHEN {literal(k)} THEN {d}" for k, d in days.items() if d is not None)
    return f"AND {{age}} <= CASE kind {cases} ELSE 2147483647 END"


def live_records_sql(
    policy: Policy,
    records: str,
    as_of: dt.date,
    up_to: int | None = None,
    disputes: bool = False,
    dialect: Dialect = DUCKDB,
) -> str:
    """CTEs ending in ``live``: the records a policy's score reads at ``as_of``.

    ``records`` is read twice rather than through a shared CTE, which DuckDB would
    materialise in full."""
    kinds = sorted({k for f in policy.factors for k in f.kinds})
    retention_cond = _retention_sql(kinds)
    day = f"DATE '{as_of.isoformat()}'"
    prefix = f"seq <= {int(up_to)} AND " if up_to is not None else ""
    age = dialect.days.format(start="occurred", end=day)
    suppressed = ""
    if disputes:
        overdue = f"""
        SELECT seq FROM disputes
        WHERE {dialect.days.format(start="opened", end=day)} > {DISPUTE_DEADLINE_DAYS}
          AND (resolved IS NULL OR resolved > {day})"""
        suppressed = "\n      AND " + dialect.not_in.format(subquery=overdue, records=records)
    return f"""
corrected AS (
    SELECT DISTINCT target AS seq FROM {records} WHERE {prefix}target IS NOT NULL
),
live AS (
    SELECT person, kind, category, value, {age} AS age
    FROM {records}
    WHERE {prefix}{_in("kind", kinds)}
      AND action <> 'retract' AND occurred <= {day}
      {retention_cond.format(age=age)}
      AND {dialect.not_in.format(subquery="SELECT seq FROM corrected", records=records)}{suppressed}
)"""


def contributions_sql(
    policy: Policy,
    records: str,
    as_of: dt.date,
    up_to: int | None = None,
    disputes: bool = False,
    dialect: Dialect = DUCKDB,
) -> str:
    """One row per person with live records: each factor's contribution as a column."""
    columns = ",\n    ".join(
        f"{contribution_sql(f)} AS {column_name(f, dialect)}" for f in policy.factors
    )
    live = live_records_sql(policy, records, as_of, up_to, disputes, dialect)
    return f"WITH {live}\nSELECT person,\n    {columns}\nFROM live GROUP BY person"


def scores_sql(
    policy: Policy,
    records: str,
    persons: str,
    as_of: dt.date,
    up_to: int | None = None,
    disputes: bool = False,
    dialect: Dialect = DUCKDB,
) -> str:
    """(person, raw, score, band) for every person in ``persons`` (column ``id``)."""
    at_zero = sum(min(max(0.0, f.min), f.max) for f in policy.factors)
    total = " + ".join(column_name(f, dialect) for f in policy.factors)
    raw = _clip(
        f"{literal(float(policy.base))} + coalesce({total}, {literal(at_zero)})",
        policy.low,
        policy.high,
    )
    order = " ORDER BY person" if dialect.ordered else ""
    bands = " ".join(
        f"WHEN score BETWEEN {b.min} AND {b.max} THEN {literal(b.name)}" for b in policy.bands
    )
    return f"""
WITH per_person AS ({contributions_sql(policy, records, as_of, up_to, disputes, dialect)}),
raw AS (
    SELECT p.id AS person, {raw} AS raw
    FROM {persons} p LEFT JOIN per_person c ON c.person = p.id
),
rounded AS (
    SELECT person, raw,
           CAST(sign(raw) * (floor(abs(raw))
                + CASE WHEN abs(raw) - floor(abs(raw)) >= 0.5 THEN 1 ELSE 0 END) AS BIGINT)
             AS score
    FROM raw
)
SELECT person, raw, score, CASE {bands} END AS band FROM rounded{order}
"""


def copy_scores_sql(
    rules: Rules,
    segments: list[str],
    persons: str,
    as_of: dt.date,
    up_to: int,
    disputes: bool = False,
) -> str:
    """Every policy of ``rules`` in one query over the columnar copy's ``segments`` (Parquet
    files, integer codes; see ledger/columnar.py) and ``persons`` (a Parquet file of keys):
    (person, then ``raw_<p>`` and ``score_<p>`` per policy index p), ordered by person."""
    files = "[" + ", ".join(literal(s) for s in segments) + "]"
    src = f"read_parquet({files})"
    day = int((as_of - dt.date(1970, 1, 1)).days)
    keep = " ".join(
        f"WHEN {k} THEN {int(d)}" for k, d in enumerate(rules.retention.tolist()) if d >= 0
    )
    retention = f"AND age <= CASE kind {keep} ELSE 2147483647 END" if keep else ""
    suppressed = ""
    if disputes:
        suppressed = f"""
      AND seq NOT IN (SELECT seq FROM disputes
        WHERE {day} - opened > {DISPUTE_DEADLINE_DAYS}
          AND (resolved IS NULL OR resolved > {day}))"""
    sums = []
    for c in range(rules.n_columns):
        conds = []
        for k in range(len(rules.kstart) - 1):
            for j in range(rules.kstart[k], rules.kstart[k + 1]):
                if rules.rule_col[j] != c:
                    continue
                cond = f"kind = {k}"
                if rules.rule_cat[j] >= 0:
                    cond += f" AND category = {int(rules.rule_cat[j])}"
                if rules.rule_win[j] >= 0:
                    cond += f" AND age <= {int(rules.rule_win[j])}"
                points = (
                    f"({literal(float(rules.rule_per_record[j]))} + "
                    f"{literal(float(rules.rule_per_unit[j]))} * coalesce(value, 0.0))"
                )
                if rules.rule_half[j] > 0:
                    points += f" * pow(2.0, -age / {literal(float(rules.rule_half[j]))})"
                conds.append(f"WHEN {cond} THEN {points}")
        case = f"CASE {' '.join(conds)} ELSE 0.0 END" if conds else "0.0"
        sums.append(f"sum({case}) AS s{c}")
    outputs = []
    for p in range(len(rules.policies)):
        cols = range(rules.pstart[p], rules.pstart[p + 1])
        total = " + ".join(
            _clip(f"coalesce(s{c}, 0.0)", rules.col_min[c], rules.col_max[c]) for c in cols
        )
        raw = _clip(f"{literal(float(rules.base[p]))} + {total}", rules.low[p], rules.high[p])
        outputs.append(f"{raw} AS raw_{p}")
    return f"""
WITH corrected AS (SELECT DISTINCT target AS seq FROM {src} WHERE target IS NOT NULL),
live AS (
    SELECT person, kind, category, value, {day} - occurred AS age, seq
    FROM {src}
    WHERE seq <= {int(up_to)} AND action <> 2 AND occurred <= {day}
),
sums AS (
    SELECT person, {", ".join(sums)}
    FROM live
    WHERE seq NOT IN (SELECT seq FROM corrected) {retention}{suppressed}
    GROUP BY person
)
SELECT p.person, {", ".join(outputs)}
FROM read_parquet({literal(persons)}) p LEFT JOIN sums s ON s.person = p.person
ORDER BY p.person
"""
