"""Benchmark: the whole `opencredit rebuild` process vs hand-written DuckDB over a Parquet export.

Run by hand (not part of the tests):

    python bench/rebuild.py --persons 100000
    python bench/rebuild.py                 # 1,000,000 persons, about 13 million records

Setup, not timed, cached under bench/out/rebuild-N/: the project's generator writes a nation;
the CLI files it as a user would (`opencredit init`, `registry add-persons`, `registry
add-provider`, `ingest` per provider file), which keeps the ledger's columnar copy current;
the ledger is exported from the row store to Parquet (RECORD_SCHEMA) for the baseline.

Timed, alternately, each a whole process (wall time and peak RSS from wait4):
(a) `opencredit rebuild --as-of D` for all three published policies, from the store as filing
left it; (b) the baseline: one DuckDB query per policy over the export, constants typed in, as
a person would write it for that one policy (lending's is the hand-written HAND_SQL below;
sesame-2015's and rongcheng's are scoring/sql.py's text for them, written to a file
beforehand), results written to Parquet. Both must give the same scores (checked). Then the
re-score: persons per second from the per-person state at a later as-of date (in process,
state loaded from disk), and `opencredit rebuild --engine state` and `--engine duckdb` as
whole processes. The last line is ``ratio=X`` (baseline time / opencredit time; goal >= 5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from opencredit.ledger.person_keys import to_keys
from opencredit.policies.model import published_policies
from opencredit.scoring.sql import scores_sql
from opencredit.synth import generate_nation

AS_OF = dt.date(2026, 6, 30)
LATER = AS_OF + dt.timedelta(days=90)

# The lending policy by hand: one CASE per factor, constants typed in (policies/lending.toml).
# Scores are positive, so round() is the policy's half-away-from-zero rounding.
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
)
SELECT person, raw, CAST(round(raw) AS BIGINT) AS score FROM raw ORDER BY person
"""

BASELINE = """
import sys, duckdb
con = duckdb.connect()
for i, path in enumerate(sys.argv[2:]):
    sql = open(path).read()
    con.execute(f"COPY ({sql}) TO '{sys.argv[1]}/hand-{i}.parquet' (FORMAT parquet)")
"""


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of a whole process; raises if it fails.

    The peak is the child's own VmHWM, read from /proc while it runs: wait4's ru_maxrss
    would count the memory of this process, which the child inherits at fork."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
        except (FileNotFoundError, IndexError, ProcessLookupError):
            pass
        time.sleep(0.01)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, peak / 1e6  # kB


#: The installed command itself (not pyenv's shim, a shell script that adds its own time).
OPENCREDIT = str(Path(sys.executable).parent / "opencredit")


def cli(data: Path, *args: str) -> list[str]:
    return [OPENCREDIT, "-q", "--data", str(data), *args]


def setup(out: Path, persons: int) -> tuple[Path, Path, Path, int]:
    """Generate, file through the CLI and export (cached): (data dir, export, persons file,
    records)."""
    data, nation = out / "data", out / "nation"
    export = out / "ledger.parquet"
    if not (out / "filed").exists():
        if not (nation / "persons.parquet").exists():
            generate_nation(nation, persons, as_of=AS_OF)
        started = time.perf_counter()
        run(cli(data, "init"))
        run(cli(data, "registry", "add-persons", str(nation / "persons.parquet")))
        providers = pq.read_table(nation / "providers.parquet").to_pylist()
        for row in providers:
            domains = [a for d in row["domains"] for a in ("--domain", d)]
            run(cli(data, "registry", "add-provider", row["code"], "--name", row["name"], *domains))
        for row in providers:  # the generator writes one file per provider, by its domain
            path = nation / f"records-{row['domains'][0]}.parquet"
            run(cli(data, "ingest", str(path), "--provider", row["code"]))
        print(f"filed through the CLI in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        (out / "filed").touch()
    if not export.exists():
        from opencredit.workspace import Workspace

        with Workspace(data) as ws:
            pq.write_table(ws.ledger(), export)
    return data, export, nation / "persons.parquet", pq.read_metadata(export).num_rows


def compare(data: Path, out: Path, keys: list[str]) -> tuple[bool, float]:
    """Do opencredit's stored scores equal the baseline's? (same, max |raw difference|)"""
    from opencredit.workspace import Workspace

    worst, same = 0.0, True
    with Workspace(data) as ws:
        for i, key in enumerate(keys):
            ours, _, _ = ws.store.scores(key)
            hand = pq.read_table(out / f"hand-{i}.parquet")
            same &= np.array_equal(to_keys(ours.column("person")), to_keys(hand.column("person")))
            a, b = ours.column("raw").to_numpy(), hand.column("raw").to_numpy()
            diff = np.abs(a - b)
            worst = max(worst, float(diff.max()))
            frac = np.abs(a) - np.floor(np.abs(a))
            away = np.abs(frac - 0.5) > 1e-6
            same &= bool((diff <= 1e-6 * np.abs(b) + 1e-9).all())
            same &= bool(
                (ours.column("score").to_numpy() == hand.column("score").to_numpy())[away].all()
            )
    return same, worst


def rescore_rate(data: Path, later: dt.date, runs: int) -> tuple[float, float, int]:
    """(build seconds, persons per second re-scored at ``later``, persons) in process."""
    from opencredit.workspace import Workspace

    with Workspace(data) as ws:
        started = time.perf_counter()
        ws.rebuild(AS_OF, engine="state")
        build = time.perf_counter() - started
        from opencredit.scoring.rescore import ScoreState

        state = ScoreState.load(ws.data_dir / "state")
        policies = list(ws.policies.values())
        state.rescore(policies, later)  # warm: the compiled functions loaded
        times = []
        for i in range(runs):
            started = time.perf_counter()
            persons, _, _ = state.rescore(policies, later + dt.timedelta(days=i))
            times.append(time.perf_counter() - started)
    return build, len(persons) / statistics.median(times), len(persons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    out = args.out / f"rebuild-{args.persons}"
    out.mkdir(parents=True, exist_ok=True)
    data, export, persons_file, n_records = setup(out, args.persons)

    policies = sorted(published_policies(), key=lambda p: p.key)
    queries = []
    for policy in policies:
        path = out / f"{policy.id}.sql"
        ledger = f"read_parquet('{export}')"
        sql = (
            HAND_SQL.format(as_of=AS_OF, ledger=export, persons=persons_file)
            if policy.id == "lending"
            else scores_sql(policy, ledger, f"read_parquet('{persons_file}')", AS_OF)
        )
        path.write_text(sql)
        queries.append(str(path))
    baseline = [sys.executable, "-c", BASELINE, str(out), *queries]
    ours = cli(data, "rebuild", "--as-of", AS_OF.isoformat())
    run(ours)  # warm: the compiled kernel cached on disk, the files in the page cache
    run(baseline)
    timed: dict[str, list[tuple[float, float]]] = {"ours": [], "hand": []}
    for _ in range(args.runs):
        timed["ours"].append(run(ours))
        timed["hand"].append(run(baseline))
    t_ours = statistics.median(t for t, _ in timed["ours"])
    t_hand = statistics.median(t for t, _ in timed["hand"])
    rss_ours = max(r for _, r in timed["ours"])
    rss_hand = max(r for _, r in timed["hand"])
    same, worst = compare(data, out, [p.key for p in policies])

    t_duckdb, rss_duckdb = run(cli(data, "rebuild", "--engine", "duckdb", "--as-of", str(AS_OF)))
    build, rate, n_persons = rescore_rate(data, LATER, 5)
    t_state, rss_state = run(cli(data, "rebuild", "--engine", "state", "--as-of", str(LATER)))

    sqlite_bytes = sum(p.stat().st_size for p in data.glob("ledger.sqlite*"))
    columnar_bytes = sum(p.stat().st_size for p in (data / "columnar").iterdir() if p.is_file())
    print(f"{n_persons:,} persons, {n_records:,} records, 3 policies; median of {args.runs}")
    print(f"opencredit rebuild (process)   : {t_ours:7.2f} s  peak RSS {rss_ours:5.2f} GB")
    print(f"hand-written DuckDB (process)  : {t_hand:7.2f} s  peak RSS {rss_hand:5.2f} GB")
    print(f"rebuild --engine duckdb        : {t_duckdb:7.2f} s  peak RSS {rss_duckdb:5.2f} GB")
    print(f"rebuild --engine state (later) : {t_state:7.2f} s  peak RSS {rss_state:5.2f} GB")
    print(f"state build (in process)       : {build:7.2f} s")
    print(f"re-score at a new as-of date   : {rate / 1e6:7.1f} M persons/s (goal >= 10)")
    print(f"row store on disk              : {sqlite_bytes / n_records:7.1f} B/record")
    print(
        f"columnar copy on disk          : {columnar_bytes / n_records:7.1f} B/record (goal <= 20)"
    )
    print(f"same scores                    : {same} (max |raw diff| {worst:.1e})")
    print(f"ratio={t_hand / t_ours:.2f}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
