"""Benchmark: what the Spark engine scores per second per core, beside the DuckDB engine.

Run by hand (not part of the tests), on a data directory that ``opencredit demo`` (or
filing) made:

    opencredit --data /tmp/d100k demo --persons 100000
    python bench/spark_scale.py --data /tmp/d100k [--cores 2] [--repeat 3]

It times the whole ``opencredit export`` (from the store as filing left it), then for every
installed policy: Spark in ``local[cores]`` over the export (the first run also pays the JVM's
warm-up, reported apart), and the DuckDB engine over the same Parquet, and checks they agree.
It prints records/s and records/s per core, and the sizes of the store and the export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from opencredit.engines.spark import score_population_spark, spark_session
from opencredit.ledger.export import export_ledger
from opencredit.scoring.batch import score_population
from opencredit.workspace import Workspace


def size(path: Path) -> int:
    """Bytes of a file or of every file under a directory."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
