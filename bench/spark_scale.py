"""Benchmark: what the Spark engine scores per second per core, beside the DuckDB engine.

Run by hand (not part of the tests), on a data directory that ``opencredit demo`` (or
filing) made:

    opencredit --data /tmp/d100k demo --persons 100000
    python bench/spark_scale.py --data /tmp/d100k [--cores 2] [--repeat 3]
    python bench/spark_scale.py --nation 1000000      # scoring only, on a larger ledger

With ``--data`` it times the whole ``opencredit export`` (from the store as filing left it),
then for every installed policy: Spark in ``local[cores]`` over the export (the first run also
pays the JVM's warm-up, reported apart), and the DuckDB engine over the same Parquet, and
checks they agree. It prints records/s and records/s per core, and the sizes of the store and
the export. With ``--nation N`` it skips the store: a synthetic nation's files (cached in
bench/out/, as bench/rebuild.py does) become a partitioned ledger in RECORD_SCHEMA, and only
the scoring is timed, so that Spark's fixed costs per job weigh less than on a small ledger.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from opencredit.engines.spark import score_population_spark, spark_scores, spark_session
from opencredit.ledger.export import export_ledger, partition_sql
from opencredit.policies.model import published_policies
from opencredit.scoring.batch import score_population
from opencredit.workspace import Workspace

OUT = Path(__file__).parent / "out"


def jvm_cpu(spark: object) -> float:
    """CPU seconds the Spark JVM (a child of this process in local mode) has used."""
    pid = spark.sparkContext._gateway.proc.pid  # type: ignore[attr-defined]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def size(path: Path) -> int:
    """Bytes of a file or of every file under a directory."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--nation", type=int, help="persons of a synthetic nation instead")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args()
    if args.nation:
        return nation_scoring(args)

    ws = Workspace(args.data)
    records, persons = ws.store.count_records(), ws.store.count_persons()
    print(
        f"ledger: {records:,} records, {persons:,} persons; "
        f"store {size(args.data / 'ledger.sqlite'):,} bytes"
    )
    tmp = Path(tempfile.mkdtemp(dir=args.data))
    try:
        started = time.perf_counter()
        manifest = export_ledger(ws.store, tmp / "export", partitions=args.partitions)
        took = time.perf_counter() - started
        sizes = {p: size(tmp / "export" / p) for p in ("records", "persons", "disputes.parquet")}
        print(f"export: {took:.1f} s ({records / took:,.0f} records/s); sizes {sizes}")
        print(
            f"        {sizes['records'] / records:.1f} bytes/record, "
            f"{sizes['persons'] / persons:.1f} bytes/person (id only)"
        )

        started = time.perf_counter()
        spark = spark_session(f"local[{args.cores}]", memory="4g")
        print(f"spark session: {time.perf_counter() - started:.1f} s")
        ledger, registry = (
            tmp / "export" / "records" / "**" / "*.parquet",
            tmp / "export" / "persons" / "**" / "*.parquet",
        )
        for key, policy in sorted(ws.policies.items()):
            spark_times, duck_times = [], []
            for i in range(args.repeat + 1):
                t = time.perf_counter()
                got = score_population_spark(policy, tmp / "export", args.as_of, spark=spark)
                if i:  # the first run warms the JVM up
                    spark_times.append(time.perf_counter() - t)
                else:
                    print(f"{key}: first Spark run {time.perf_counter() - t:.1f} s")
                t = time.perf_counter()
                want = score_population(
                    policy,
                    str(ledger),
                    str(registry),
                    args.as_of,
                    disputes=ws.disputes_table(),
                    up_to=manifest.head_seq,
                )
                duck_times.append(time.perf_counter() - t)
            raw_got, raw_want = got.column("raw").to_numpy(), want.column("raw").to_numpy()
            assert got.column("person").equals(want.column("person"))
            assert np.allclose(raw_got, raw_want, rtol=1e-6, atol=1e-9)
            s, d = statistics.median(spark_times), statistics.median(duck_times)
            print(
                f"{key}: spark {s:.2f} s = {records / s:,.0f} records/s = "
                f"{records / s / args.cores:,.0f} per core; duckdb {d:.2f} s = "
                f"{records / d / args.cores:,.0f} per core; "
                f"runs {[round(x, 2) for x in spark_times]}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        ws.close()


def nation_scoring(args: argparse.Namespace) -> None:
    """Time Spark and DuckDB scoring a synthetic nation's ledger (no store, no export)."""
    import duckdb

    from opencredit.synth import generate_nation

    nation = OUT / f"nation-{args.nation}"
    if not (nation / "persons.parquet").exists():
        generate_nation(nation, args.nation, as_of=args.as_of)
    ledger = nation / f"ledger-{args.partitions}"
    if not ledger.exists():
        files = sorted(str(p) for p in nation.glob("records-*.parquet"))
        duckdb.execute(f"""
            COPY (
                SELECT row_number() OVER () AS seq, person, kind, occurred, value, category,
                       split_part(filename, 'records-', 2) AS org, ref, 'file' AS action,
                       CAST(NULL AS BIGINT) AS target,
                       {partition_sql("person", args.partitions)} AS part
                FROM read_parquet({files}, filename = true)
            ) TO '{ledger}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (part))
        """)
    ((n,),) = duckdb.sql(f"SELECT count(*) FROM read_parquet('{ledger}/**/*.parquet')").fetchall()
    print(f"{args.nation:,} persons, {n:,} records in {size(ledger):,} bytes of Parquet")
    spark = spark_session(f"local[{args.cores}]", memory="6g")
    persons = nation / "persons.parquet"
    for policy in published_policies():
        times, cpus = [], []
        for i in range(args.repeat + 1):
            t, c = time.perf_counter(), jvm_cpu(spark)
            frame = spark_scores(spark, policy, ledger, persons, args.as_of)
            frame.write.format("noop").mode("overwrite").save()  # run it, keep nothing
            if i:  # the first run warms the JVM up
                times.append(time.perf_counter() - t)
                cpus.append(jvm_cpu(spark) - c)
        t, c = time.perf_counter(), time.process_time()
        score_population(policy, f"{ledger}/**/*.parquet", persons, args.as_of)
        d, dc = time.perf_counter() - t, time.process_time() - c
        s, sc = statistics.median(times), statistics.median(cpus)
        print(
            f"{policy.key}: spark {s:.2f} s wall = {n / s / args.cores:,.0f} records/s per core, "
            f"{sc:.1f} CPU s = {n / sc:,.0f} records per CPU second "
            f"(runs {[round(x, 2) for x in times]}); duckdb {d:.2f} s wall = "
            f"{n / d / args.cores:,.0f} per core, {dc:.1f} CPU s = {n / dc:,.0f} per CPU second"
        )


if __name__ == "__main__":
    main()
