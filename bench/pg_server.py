"""A PostgreSQL server configured for a ledger of this size, for the benchmarks (run by hand).

    python bench/pg_server.py start            # initdb once in bench/out/pg-tuned, then start
    python bench/api_load.py --database-url postgresql://postgres@127.0.0.1:5433/bench
    python bench/pg_server.py stop

PostgreSQL's defaults are made for a small machine: 128 MB of shared buffers and a checkpoint
at every 1 GB of WAL. A 1M-person ledger is ~7 GB of tables and indexes, and a batch of
records from random persons touches pages all over its indexes; with 128 MB of buffers most
touches read a page from the OS, write a dirty one back, and log a full page image after each
checkpoint. This server is what a production database for the ledger would be configured like:

- ``shared_buffers``: a quarter of the RAM, at most 8 GB (``--shared-buffers``);
- ``max_wal_size`` 16 GB, ``checkpoint_timeout`` 30 min: fewer checkpoints, so fewer full
  page images; ``wal_compression`` lz4 for those that remain; ``wal_buffers`` 64 MB;
- autovacuum on (the machine's shared cluster here has it off).

Durability is unchanged: ``fsync`` and ``synchronous_commit`` stay on. Debian's server
binaries (``initdb``, ``pg_ctl``) are used; as root the server runs as user ``postgres``.
The data folder is kept between runs, so a benchmark's cached setup is reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

DEFAULT_DIR = Path(__file__).parent / "out" / "pg-tuned"


def bindir() -> Path:
    """The newest Debian PostgreSQL server binaries, else those on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql")
    return Path(pg_ctl).parent


def shared_buffers(text: str) -> str:
    """``auto``: a quarter of the RAM, at most 8 GB; else the value as given (``4GB``)."""
    if text != "auto":
        return text
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(128, min(8192, ram // 4 // 2**20))}MB"


def as_server_user(folder: Path) -> list[str]:
    """The prefix that runs a command as the server's user (the server refuses root)."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, "postgres")
    return ["runuser", "-u", "postgres", "--"]


def start(folder: Path, port: int, buffers: str) -> None:
    """initdb (first time) and start the server on 127.0.0.1:``port``."""
    folder.mkdir(parents=True, exist_ok=True)
    run_as = as_server_user(folder)
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [*run_as, str(bindir() / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(folder),
        "max_connections": "200",
        "shared_buffers": shared_buffers(buffers),
        "max_wal_size": "16GB",
        "min_wal_size": "2GB",
        "checkpoint_timeout": "30min",
        "wal_compression": "lz4",
        "wal_buffers": "64MB",
    }
    options = " ".join(f"-c {k}={v}" for k, v in settings.items())
    subprocess.run(
        [*run_as, str(bindir() / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
         "-w", "-t", "120", "-o", options, "start"],
        check=True,
    )  # fmt: skip
    print("settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    print(f"url: postgresql://postgres@127.0.0.1:{port}/bench")


def stop(folder: Path) -> None:
    """Stop the server (its data stays)."""
    run_as = as_server_user(folder)
    subprocess.run(
        [*run_as, str(bindir() / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w",
         "stop"],
        check=True,
    )  # fmt: skip


def main() -> None:
    """start or stop the tuned server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="its data folder")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--shared-buffers", default="auto", help="auto, or e.g. 4GB")
    args = parser.parse_args()
    if args.action == "start":
        start(args.dir.resolve(), args.port, args.shared_buffers)
    else:
        stop(args.dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
