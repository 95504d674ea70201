"""Benchmark: full rebuild of every score vs a hand-written DuckDB query of the same policy.

Run by hand (not part of the tests):

    python bench/rebuild.py                 # 1,000,000 persons, about 13 million records
    python bench/rebuild.py --persons 100000

It generates a synthetic nation once (cached under bench/out/), turns its records into a
ledger export (Parquet, RECORD_SCHEMA), then times, in the same process and on the same
files, (a) opencredit's batch engine rebuilding every score under the `lending` policy and
(b) a DuckDB query written by hand for that one policy, with its constants typed in. It checks
both give the same scores and prints the ratio. Goal (issue 2): ratio <= 1.0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opencredit.policies.model import PUBLISHED_DIR, load_policy
from opencredit.scoring.batch import score_population
from opencredit.synth import generate_nation

AS_OF = dt.date(2026, 6, 30)

# The lending policy by hand: one CASE per factor, constants typed in (policies/lending.toml),
# the same output as the engine (person, raw, score, band). Scores are positive, so round()
# is the policy's half-away-from-zero rounding.
HAND_SQL = """
WITH live AS (
    SELECT person, kind, value, date_diff('day', occurred, DATE '{as_of}') AS age
    FROM read_parquet('{ledger}')
    WHERE kind IN ('loan_repaid', 'payment_missed', 'loan_default', 'court_judgment_unpaid')
      AND action <> 'retract' AND occurred <= DATE '{as_of}'
      AND date_diff('day', occurred, DATE '{as_of}') <= 1825
      AND seq NOT IN (SELECT target FROM read_parquet('{ledger}') WHERE target IS NOT NULL)
),
per_person AS (
    SELECT person,
      least(greatest(sum(CASE WHEN kind = 'loan_repaid'
                              THEN 25 * pow(2.0, -age / 1095.0) ELSE 0 END), 0), 250) AS f1,
      least(greatest(sum(CASE WHEN kind = 'payment_missed'
                              THEN (-40 - 1.0 * value) * pow(2.0, -age / 365.0) ELSE 0 END),
                     -250), 0) AS f2,
      least(greatest(sum(CASE WHEN kind = 'loan_default'
                              THEN (-120 - 0.002 * value) * pow(2.0, -age / 730.0) ELSE 0 END),
                     -350), 0) AS f3,
      least(greatest(sum(CASE WHEN kind = 'court_judgment_unpaid'
                              THEN (-150 - 0.001 * value) * pow(2.0, -age / 730.0) ELSE 0 END),
                     -300), 0) AS f4
    FROM live GROUP BY person
),
raw AS (
    SELECT p.id AS person,
           least(greatest(620 + coalesce(f1 + f2 + f3 + f4, 0), 300), 850) AS raw
    FROM read_parquet('{persons}') p LEFT JOIN per_person pp ON pp.person = p.id
),
rounded AS (SELECT person, raw, CAST(round(raw) AS BIGINT) AS score FROM raw)
SELECT person, raw, score,
       CASE WHEN score < 580 THEN 'Poor' WHEN score < 670 THEN 'Fair'
            WHEN score < 740 THEN 'Good' WHEN score < 800 THEN 'Very good'
            ELSE 'Exceptional' END AS band
FROM rounded ORDER BY person
"""


def ledger_export(nation_dir: Path, out: Path) -> int:
    """The nation's provider files as one ledger export with sequence numbers."""
    if out.exists():
        return pq.read_metadata(out).num_rows
    con = duckdb.connect()
    files = sorted(str(p) for p in nation_dir.glob("records-*.parquet"))
    con.execute(f"""
        COPY (
            SELECT row_number() OVER () AS seq, person, kind, occurred, value, category,
                   split_part(filename, 'records-', 2) AS org, ref, 'file' AS action,
                   CAST(NULL AS BIGINT) AS target
            FROM read_parquet({files}, filename = true)
        ) TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
    """)
    return pq.read_metadata(out).num_rows


def interleaved(runs: int, **fns: Callable[[], object]) -> dict[str, tuple[float, object]]:
    """Median wall time and last result of each function, run alternately ``runs`` times so
    that both see the same machine (caches, other load)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    results: dict[str, object] = {}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), results[name]) for name in fns}


def main() -> None:
    """Generate (once), then time both and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()

    nation_dir = args.out / f"nation-{args.persons}"
    if not (nation_dir / "persons.parquet").exists():
        generate_nation(nation_dir, args.persons, as_of=AS_OF)
    ledger = nation_dir / "ledger.parquet"
    n_records = ledger_export(nation_dir, ledger)
    persons = nation_dir / "persons.parquet"
    policy = load_policy(PUBLISHED_DIR / "lending.toml")
    print(
        f"{args.persons:,} persons, {n_records:,} records; policy {policy.key}; "
        f"median of {args.runs} runs",
        file=sys.stderr,
    )

    hand_sql = HAND_SQL.format(as_of=AS_OF, ledger=ledger, persons=persons)
    timed = interleaved(
        args.runs,
        hand=lambda: duckdb.sql(hand_sql).to_arrow_table(),
        engine=lambda: score_population(policy, ledger, persons, AS_OF),
    )
    (t_hand, hand), (t_engine, ours) = timed["hand"], timed["engine"]
    assert isinstance(hand, pa.Table) and isinstance(ours, pa.Table)
    diff = pc.max(pc.abs(pc.subtract(ours.column("raw"), hand.column("raw")))).as_py()
    same = (
        ours.column("person").equals(hand.column("person"))
        and diff < 1e-6
        and ours.column("band").equals(hand.column("band"))
    )
    print(f"hand-written DuckDB query : {t_hand:8.2f} s")
    print(
        f"opencredit full rebuild   : {t_engine:8.2f} s  "
        f"({n_records / t_engine / 1e6:.1f} M records/s)"
    )
    print(f"ratio rebuild / hand      : {t_engine / t_hand:8.2f}  (goal <= 1.00)")
    print(f"same scores               : {same} (max |diff| {diff:.2e})")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
