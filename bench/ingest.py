"""Benchmark: `opencredit ingest` of a large provider file, against a bare bulk insert.

Run by hand (not part of the tests):

    python bench/ingest.py --persons 100000 --persons 1000000
    python bench/ingest.py --persons 100000 --format csv

For each size it generates a synthetic nation once (cached under bench/out/), makes a store as
`opencredit init` + `registry add-persons` / `add-provider` + `ingest` of every provider file
but the commerce one leave it (cached), then, on a fresh copy of that store each time, times

* (a) the whole CLI command ``opencredit ingest records-commerce.parquet --provider CODE`` as a
  subprocess: reading, every check, the records, the factor state of the three published
  policies and the columnar copy, one durable commit (SQLite WAL, synchronous=FULL);
* (b) the baseline: a subprocess that reads the same file with pyarrow and inserts the same
  rows into the same ``records`` table (same indexes) with one ``executemany`` and one commit:
  no validation, no factor state, no columnar copy.

It prints records/s by wall clock and per CPU second (user + system: on a shared machine the
wall clock mostly measures the neighbours), the ratios (a)/(b) and each process's peak RSS
(``wait4``). Goal (issue 10): at least 100,000 records/s for (a) and under 1 GB peak, whatever
the file size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

OUT = Path(__file__).parent / "out"
SRC = Path(__file__).resolve().parents[1] / "src"
COMMERCE = "records-commerce.parquet"

BASELINE = textwrap.dedent(
    """
    import sqlite3, sys
    import pyarrow as pa, pyarrow.parquet as pq
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
    t = pq.read_table(sys.argv[2])
    first = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM records").fetchone()[0]
    db.execute("BEGIN IMMEDIATE")
    batch = db.execute(
        "INSERT INTO batches (org, source, filed_at, accepted, duplicates, rejected) "
        "VALUES (?, ?, '', 0, 0, 0)", (sys.argv[3], sys.argv[2])).lastrowid
    n = t.num_rows
    rows = zip(range(first, first + n), t.column("person").to_pylist(),
               t.column("kind").to_pylist(),
               t.column("occurred").cast(pa.int32()).to_pylist(),
               t.column("value").to_pylist(), t.column("category").to_pylist(),
               [sys.argv[3]] * n, t.column("ref").to_pylist(), ["file"] * n, [None] * n,
               [batch] * n)
    db.executemany("INSERT INTO records (seq, person, kind, occurred, value, category, org, "
                   "ref, action, target, batch) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("COMMIT")
    """
)


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS in bytes, output) of a subprocess."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}):\n{out}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, out


def cli(data: Path, *args: str) -> tuple[float, float, int, str]:
    """``opencredit --data DATA ARGS`` as a subprocess, with this checkout's code."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    return run(
        [
            sys.executable,
            "-c",
            "from opencredit.cli.app import main; main()",
            "--data",
            str(data),
            "-q",
            *args,
        ],
        env,
    )


def prepare(persons: int) -> tuple[Path, Path, str]:
    """(nation folder, store folder, commerce provider code), made once per size."""
    nation = OUT / f"nation-{persons}"
    base = OUT / f"store-{persons}"
    if not (nation / COMMERCE).exists():
        print(f"generating {persons:,} persons ...", flush=True)
        cli(base, "generate", "--persons", str(persons), "--out", str(nation))
    providers = pq.read_table(nation / "providers.parquet").to_pylist()
    commerce = next(p["code"] for p in providers if "commerce" in p["domains"])
    if not (base / "READY").exists():
        print(f"making the store for {persons:,} persons ...", flush=True)
        shutil.rmtree(base, ignore_errors=True)
        cli(base, "init")
        cli(base, "registry", "add-persons", str(nation / "persons.parquet"))
        for p in providers:
            domains = [a for d in p["domains"] for a in ("--domain", d)]
            cli(base, "registry", "add-provider", p["code"], "--name", p["name"], *domains)
        for p in providers:
            if p["code"] != commerce:
                domain = p["domains"][0]
                cli(
                    base,
                    "ingest",
                    str(nation / f"records-{domain}.parquet"),
                    "--provider",
                    p["code"],
                )
        (base / "READY").write_text("")
    return nation, base, commerce


def fresh(base: Path, name: str) -> Path:
    target = OUT / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(base, target)
    return target


def the_file(nation: Path, fmt: str) -> Path:
    path = nation / COMMERCE
    if fmt == "parquet":
        return path
    target = path.with_suffix(".csv")
    if not target.exists():
        pacsv.write_csv(pq.read_table(path), target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, action="append")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--no-baseline", action="store_true", help="time the CLI only")
    args = parser.parse_args()
    print(
        f"{'persons':>10} {'records':>10} {'what':>9} {'wall s':>7} {'rec/s':>9} "
        f"{'CPU s':>6} {'rec/CPU s':>9} {'peak RSS':>9}"
    )
    for persons in args.persons or [100_000]:
        nation, base, commerce = prepare(persons)
        path = the_file(nation, args.format)
        n = pq.read_metadata(nation / COMMERCE).num_rows
        data = fresh(base, f"timed-{os.getpid()}")
        secs, cpu, rss, out = cli(data, "ingest", str(path), "--provider", commerce)
        assert "accepted" in out, out
        shutil.rmtree(data)
        if args.no_baseline:
            print(
                f"{persons:>10,} {n:>10,} {'ingest':>9} {secs:>7.1f} {n / secs:>9,.0f} "
                f"{cpu:>6.1f} {n / cpu:>9,.0f} {rss / 2**20:>7,.0f}MB",
                flush=True,
            )
            continue
        data = fresh(base, f"baseline-{os.getpid()}")
        b_secs, b_cpu, b_rss, _ = run(
            [
                sys.executable,
                "-c",
                BASELINE,
                str(data / "ledger.sqlite"),
                str(nation / COMMERCE),
                commerce,
            ]
        )
        shutil.rmtree(data)
        for what, s, c, r in (("ingest", secs, cpu, rss), ("baseline", b_secs, b_cpu, b_rss)):
            print(
                f"{persons:>10,} {n:>10,} {what:>9} {s:>7.1f} {n / s:>9,.0f} {c:>6.1f} "
                f"{n / c:>9,.0f} {r / 2**20:>7,.0f}MB"
            )
        print(
            f"{'':>10} ratio ingest/baseline: wall {secs / b_secs:.2f}, CPU {cpu / b_cpu:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
