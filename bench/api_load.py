"""Benchmark: partner score lookups and batch filing through the HTTP API, vs in-process calls.

Run by hand (not part of the tests):

    python bench/api_load.py                   # 1,000,000 persons; first setup ~15 min, 3.4 GB
    python bench/api_load.py --persons 100000  # quick (first setup ~2 min)
    python bench/api_load.py --rate 50,100,500 # open loops at several rates
    apt-get install -y wrk                     # optional: adds a closed-loop max-throughput run

Setup, cached under bench/out/api-<persons>/ and reused when present: a data directory with a
synthetic nation (the same bench/out/nation-<persons>/ files as bench/rebuild.py) registered and
every provider's records filed, a partner key, a data-provider key, and live consents for a
random sample of persons (``--consented``, 20,000) to that partner for policy ``lending``,
purpose ``lending``, inserted in one transaction.

Then it starts ``opencredit serve`` on 127.0.0.1 (a free port) and, from a second process,
sends ``GET /scores/{id}?policy=lending&purpose=lending`` cycling through the consented persons
open-loop at a fixed rate (``--rate``, 500/s, for ``--duration`` seconds): each request is due
at t0 + i/rate whatever happened to the earlier ones, and its latency counts from when it was
due (so a stalled server is not hidden by a client that waits for it; what wrk2 does, but
Debian has no wrk2, and wrk has no rate limit). Goal (issue 3): p99 < 10 ms at 500 req/s. The
server's CPU time per answered request is read from /proc. Baselines in the same run: the
same open loop against ``GET /policies/lending`` (the HTTP stack with almost no work), and the
library calls of a request (``authenticate`` + ``partner_lookup``) timed in-process.

Last, the batch filing rate: ``--batches`` POSTs to ``/records/batch`` of ``--batch-size`` new
records each (fresh refs) with the data provider's key, alternated with the same number of
records filed in-process by ``Workspace.ingest_rows``. Goal: at least 50,000 records/s.

Every loop has a fixed count and a deadline, traffic goes to 127.0.0.1 only, and the server is
always stopped. Each run adds its inquiries and records to the cached ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from opencredit.access import AccessStore, access_url, authenticate, create_key, partner_lookup
from opencredit.access.consents import check_purpose
from opencredit.access.tables import consents
from opencredit.ledger.files import COLUMNS, RawRows
from opencredit.registry import make_org_code
from opencredit.synth import generate_nation
from opencredit.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)  # the nation's date (as bench/rebuild.py); the server runs on it
POLICY = PURPOSE = "lending"
HOST = "127.0.0.1"
FINANCE = "finance"
SERVER_START_SECONDS = 120.0
REQUEST_TIMEOUT = 10.0  # seconds past the end of a loop before unanswered requests count
IDLE_REUSE_SECONDS = 2.0
GOAL_RATE, GOAL_P99_MS, GOAL_FILING = 500.0, 10.0, 50_000


def log(message: str) -> None:
    """Progress, on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (2 cores shared here: compare with 2.0)."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# setup --------------------------------------------------------------------------------------
def setup(out: Path, persons: int, consented: int, seed: int) -> dict:
    """The cached data directory, keys and consented persons (built on first use)."""
    home = out / f"api-{persons}"
    done = home / "setup.json"
    if done.exists():
        log(f"reusing {home}")
        return json.loads(done.read_text())
    data = home / "data"
    if data.exists():  # an interrupted setup: start again
        shutil.rmtree(data)
    started = time.perf_counter()
    nation = out / f"nation-{persons}"
    if not (nation / "persons.parquet").exists():
        log(f"generating a nation of {persons:,} persons in {nation}")
        generate_nation(nation, persons, as_of=AS_OF)
    os.environ["OPENCREDIT_TODAY"] = AS_OF.isoformat()
    with Workspace.init(data) as ws:
        log("registering persons")
        ws.register_persons(nation / "persons.parquet")
        providers = pq.read_table(nation / "providers.parquet").to_pylist()
        for p in providers:
            ws.register_provider(p["code"], p["name"], p["domains"])
        for p in providers:
            path = nation / f"records-{p['domains'][0]}.parquet"
            t = time.perf_counter()
            n = pq.read_metadata(path).num_rows
            log(f"filing {path.name}: {n:,} records")
            report = ws.ingest(path, p["code"])
            if report.rejected_whole:
                raise SystemExit(f"{path} was rejected: {report.errors[:3]}")
            log(
                f"  filed in {time.perf_counter() - t:.0f} s ({n / (time.perf_counter() - t):,.0f}"
                " records/s)"
            )
        n_records = ws.store.count_records()
        provider = next(p["code"] for p in providers if FINANCE in p["domains"])
        partner = make_org_code("110101", 4242)
        access = AccessStore(access_url(data))
        try:
            _, partner_token = create_key(
                access, "partner", partner, "bench partner", ledger=ws.store
            )
            _, provider_token = create_key(
                access, "data_provider", provider, "bench provider", ledger=ws.store
            )
            ids = pq.read_table(nation / "persons.parquet", columns=["id"]).column("id")
            sample = random.Random(seed).sample(ids.to_pylist(), min(consented, len(ids)))
            grant_all(access, sample, partner, ws)
        finally:
            access.close()
    setup_info = {
        "persons": persons,
        "records": n_records,
        "data": str(data),
        "partner": partner,
        "partner_token": partner_token,
        "provider": provider,
        "provider_token": provider_token,
        "consented": sample,
        "seconds": round(time.perf_counter() - started, 1),
    }
    done.write_text(json.dumps(setup_info))
    log(
        f"setup done in {setup_info['seconds']:.0f} s: {persons:,} persons, "
        f"{n_records:,} records, {len(sample):,} consents"
    )
    return setup_info


def grant_all(access: AccessStore, persons: list[str], partner: str, ws: Workspace) -> None:
    """Live consents for ``persons`` in one transaction (the rows ``grant_consent`` writes)."""
    policy = ws.policy(POLICY)
    check_purpose(policy, PURPOSE)
    rows = [
        dict(
            person=p,
            partner=partner,
            policy_id=policy.id,
            purpose=PURPOSE,
            granted_on=AS_OF,
            until=AS_OF + dt.timedelta(days=3650),
            showcase=False,
            revoked_on=None,
        )
        for p in persons
    ]
    with access.write() as conn:
        conn.execute(consents.insert(), rows)


# the server ----------------------------------------------------------------------------------
def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(data: str, port: int, log_path: Path) -> subprocess.Popen:
    """``opencredit serve`` on 127.0.0.1:port, answering /policies; its output to ``log_path``."""
    exe = shutil.which("opencredit")
    cmd = [exe] if exe else [sys.executable, "-c", "from opencredit.cli.app import main; main()"]
    env = dict(os.environ, OPENCREDIT_DATA=data, OPENCREDIT_TODAY=AS_OF.isoformat())
    proc = subprocess.Popen(
        [*cmd, "serve", "--host", HOST, "--port", str(port)],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://{HOST}:{port}/policies", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the server did not answer within {SERVER_START_SECONDS:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the open-loop load generator (runs in its own process) --------------------------------------
async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next(
        (
            int(v)
            for k, _, v in (h.partition(":") for h in lines[1:])
            if k.lower() == "content-length"
        ),
        None,
    )
    if length is None:
        raise ValueError("response without Content-Length")
    return status, await reader.readexactly(length)


async def _open_loop(
    port: int, requests: list[bytes], rate: float, count: int, max_conns: int, deadline: float
) -> list[tuple[float, int]]:
    """Send ``count`` requests, request i due at t0 + i/rate, on up to ``max_conns`` kept-alive
    connections. Returns (latency from due time, status) each; status -1 is a transport
    error, -2 not answered before ``deadline`` seconds."""
    loop = asyncio.get_running_loop()
    # (reader, writer, last used); uvicorn closes a connection idle for 5 s, so older ones
    # are not reused (a real client would retry; this one would count an error).
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
    slots = asyncio.Semaphore(max_conns)
    results: list[tuple[float, int]] = [(float("nan"), -2)] * count

    async def connection() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while idle:
            reader, writer, used = idle.pop()
            if loop.time() - used < IDLE_REUSE_SECONDS:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(HOST, port)

    async def one(i: int, due: float) -> None:
        async with slots:
            try:
                reader, writer = await connection()
                writer.write(requests[i % len(requests)])
                status, _ = await _read_response(reader)
                idle.append((reader, writer, loop.time()))
            except (OSError, ValueError, asyncio.IncompleteReadError):
                status = -1
            results[i] = (loop.time() - due, status)

    t0 = loop.time() + 0.05
    tasks = []
    for i in range(count):
        due = t0 + i / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        tasks.append(asyncio.create_task(one(i, due)))
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, t0 + deadline - loop.time()))
    for task in pending:
        task.cancel()
    for _, writer, _ in idle:
        writer.close()
    return results


def _load_process(
    port: int,
    requests: list[bytes],
    rate: float,
    count: int,
    warmup: int,
    max_conns: int,
    deadline: float,
    conn: mp.connection.Connection,
) -> None:
    async def run() -> tuple[int, list[tuple[float, int]]]:
        warm = await _open_loop(port, requests, rate, warmup, max_conns, deadline)
        answered = sum(status > 0 for _, status in warm)
        return answered, await _open_loop(port, requests, rate, count, max_conns, deadline)

    conn.send(asyncio.run(run()))
    conn.close()


def open_loop(
    port: int,
    paths: list[str],
    headers: dict[str, str],
    rate: float,
    seconds: float,
    server_pid: int,
) -> dict:
    """Run the open loop from a second process; latencies (ms) and counts."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [f"GET {p} HTTP/1.1\r\nHost: {HOST}\r\n{head}\r\n".encode() for p in paths]
    count = int(rate * seconds)
    warmup = int(rate)  # one second, not recorded
    deadline = seconds + REQUEST_TIMEOUT
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_load_process, args=(port, requests, rate, count, warmup, 64, deadline, child)
    )
    cpu0 = cpu_seconds(server_pid)
    proc.start()
    try:
        if not parent.poll(2 * deadline + 30):
            raise SystemExit("the load generator did not report in time")
        warm_answered, results = parent.recv()
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    cpu = cpu_seconds(server_pid) - cpu0
    latency = np.array([r[0] for r in results]) * 1e3
    status = np.array([r[1] for r in results])
    ok = status == 200
    answered = warm_answered + int((status > 0).sum())  # the server's CPU went on these
    # Achieved rate: answers per second from the first due time to the last answer.
    span = (count - 1) / rate + (np.nanmax(latency[ok]) / 1e3 if ok.any() else 0)
    lat = latency[ok] if ok.any() else np.array([float("nan")])
    return {
        "sent": count,
        "ok": int(ok.sum()),
        "errors": int((~ok).sum()),
        "statuses": sorted({int(s) for s in status[~ok]}),
        "rate": ok.sum() / span if span > 0 else 0.0,
        "p50": float(np.percentile(lat, 50)),
        "p90": float(np.percentile(lat, 90)),
        "p99": float(np.percentile(lat, 99)),
        "max": float(lat.max()),
        "cpu_ms": 1e3 * cpu / max(answered, 1),
    }


def print_loop(name: str, r: dict) -> None:
    """One open-loop result line."""
    errors = f"{r['errors']} errors" + (f" (status {r['statuses']})" if r["errors"] else "")
    print(
        f"{name:34}: p50 {r['p50']:6.2f}  p90 {r['p90']:6.2f}  p99 {r['p99']:6.2f}  "
        f"max {r['max']:7.2f} ms | {r['rate']:6.1f} req/s achieved, {r['ok']:,} ok, {errors}"
        f" | server CPU {r['cpu_ms']:.2f} ms/answer"
    )


# in-process baselines ---------------------------------------------------------------------------
def in_process_lookups(info: dict, n: int) -> dict:
    """authenticate + partner_lookup called directly, ``n`` times: what a request's library
    work costs without HTTP (it logs inquiries like the server does)."""
    today = AS_OF
    times = []
    with Workspace(info["data"]) as ws:
        access = AccessStore(access_url(info["data"]))
        try:
            persons = info["consented"]
            for i in range(n):
                start = time.perf_counter()
                caller = authenticate(access, info["partner_token"], ledger=ws.store)
                assert caller is not None
                partner_lookup(
                    access, ws, caller, persons[i % len(persons)], POLICY, PURPOSE, today
                )
                times.append(time.perf_counter() - start)
        finally:
            access.close()
    ms = np.array(times) * 1e3
    return {
        "p50": float(np.percentile(ms, 50)),
        "p90": float(np.percentile(ms, 90)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
        "rate": n / ms.sum() * 1e3,
    }


# batch filing --------------------------------------------------------------------------------
def new_records(persons: list[str], n: int, tag: str, rng: random.Random) -> list[dict]:
    """``n`` valid finance records with fresh refs, as a data provider would POST them."""
    records = []
    for i in range(n):
        occurred = (AS_OF - dt.timedelta(days=rng.randrange(0, 1000))).isoformat()
        if rng.random() < 0.7:
            records.append(
                {
                    "person": rng.choice(persons),
                    "kind": "loan_repaid",
                    "occurred": occurred,
                    "ref": f"{tag}-{i}",
                }
            )
        else:
            records.append(
                {
                    "person": rng.choice(persons),
                    "kind": "payment_missed",
                    "occurred": occurred,
                    "value": float(rng.randrange(1, 90)),
                    "ref": f"{tag}-{i}",
                }
            )
    return records


def raw_rows(records: list[dict], source: str) -> RawRows:
    """The rows the API hands to ``ingest_rows`` for these records (see api.filing)."""
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for r in records:
        for name in COLUMNS:
            value = r.get(name, "file" if name == "action" else None)
            columns[name].append(
                None if value is None else repr(value) if name == "value" else str(value)
            )
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    return RawRows(source, table, list(range(1, len(records) + 1)), [], "record")


def filing(info: dict, port: int, batches: int, size: int, persons: list[str]) -> dict:
    """API batches and in-process batches, alternated so both see the same ledger size."""
    rng = random.Random(7)
    run = f"bench-{time.time_ns():x}"
    url = f"http://{HOST}:{port}/records/batch"
    headers = {
        "Authorization": f"Bearer {info['provider_token']}",
        "Content-Type": "application/json",
    }
    api_times, lib_times = [], []
    with httpx.Client(timeout=120) as client, Workspace(info["data"]) as ws:
        for b in range(batches):
            body = json.dumps({"records": new_records(persons, size, f"{run}-api-{b}", rng)})
            start = time.perf_counter()
            response = client.post(url, content=body.encode(), headers=headers)
            api_times.append(time.perf_counter() - start)
            if response.status_code != 201 or response.json()["accepted"] != size:
                raise SystemExit(f"batch {b}: {response.status_code} {response.text[:500]}")
            raw = raw_rows(new_records(persons, size, f"{run}-lib-{b}", rng), "bench")
            start = time.perf_counter()
            report = ws.ingest_rows(raw, info["provider"])
            lib_times.append(time.perf_counter() - start)
            if report.accepted != size:
                raise SystemExit(f"in-process batch {b}: {report.errors[:3]}")
    return {
        "api": batches * size / sum(api_times),
        "lib": batches * size / sum(lib_times),
        "api_median": statistics.median(api_times),
        "lib_median": statistics.median(lib_times),
    }


# wrk (closed loop, optional) ------------------------------------------------------------------
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("OC_PATHS")) do paths[#paths + 1] = line end
local headers = {["Authorization"] = "Bearer " .. os.getenv("OC_TOKEN")}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


def run_wrk(port: int, paths: list[str], token: str, seconds: int, connections: int) -> None:
    """Closed loop at full speed with wrk: the most the server answers, not a latency goal."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not installed (apt-get install -y wrk): closed-loop run skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "paths.txt").write_text("\n".join(paths) + "\n")
        (Path(tmp) / "lookup.lua").write_text(WRK_SCRIPT)
        env = dict(os.environ, OC_PATHS=str(Path(tmp) / "paths.txt"), OC_TOKEN=token)
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(Path(tmp) / "lookup.lua"),
                f"http://{HOST}:{port}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    keep = (
        "Latency ",
        "50%",
        "90%",
        "99%",
        "requests in",
        "Requests/sec",
        "Non-2xx",
        "Socket errors",
    )
    print(f"wrk closed loop, {connections} connections, {seconds} s (max throughput):")
    for line in out.stdout.splitlines():
        if line.strip().startswith(keep):
            print("   " + line.strip())


# main -----------------------------------------------------------------------------------------
def rates(text: str) -> list[float]:
    """``500`` or ``50,100,500``: the open-loop rates to run, each bounded."""
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or not all(0 < v <= 5000 for v in values):
        raise argparse.ArgumentTypeError("rates between 0 and 5000 requests/s, comma-separated")
    return values


def main() -> None:
    """Set up (once), start the server, load it, print numbers and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--consented", type=int, default=20_000)
    parser.add_argument(
        "--rate",
        type=rates,
        default=[GOAL_RATE],
        help="requests/s of the open loops; several: 50,100,500",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per open loop")
    parser.add_argument("--in-process", type=int, default=2000, help="in-process lookups")
    parser.add_argument("--batches", type=int, default=10, help="0 to skip filing")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--wrk", type=int, default=10, help="seconds of wrk; 0 to skip")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    if not (
        0 < args.duration <= 300
        and args.wrk <= 120
        and args.batches <= 100
        and 0 < args.batch_size <= 100_000
        and 0 < args.in_process <= 100_000
    ):
        parser.error(
            "keep it bounded: duration <= 300 s, wrk <= 120 s, batches <= 100 of "
            "<= 100,000 records, in-process <= 100,000"
        )

    info = setup(args.out, args.persons, args.consented, args.seed)
    os.environ["OPENCREDIT_TODAY"] = AS_OF.isoformat()
    persons = (
        pq.read_table(args.out / f"nation-{args.persons}" / "persons.parquet", columns=["id"])
        .column("id")
        .to_pylist()
    )
    paths = [f"/scores/{p}?policy={POLICY}&purpose={PURPOSE}" for p in info["consented"]]
    auth = {"Authorization": f"Bearer {info['partner_token']}"}
    print(
        f"{info['persons']:,} persons, {info['records']:,} records at setup, "
        f"{len(paths):,} consented; {os.cpu_count()} cores, {load_average()}"
    )

    log(f"{args.in_process:,} lookups in-process")
    lib = in_process_lookups(info, args.in_process)
    print(
        f"{'in-process authenticate+lookup':34}: p50 {lib['p50']:6.2f}  p90 {lib['p90']:6.2f}"
        f"  p99 {lib['p99']:6.2f}  max {lib['max']:7.2f} ms | {lib['rate']:6.1f} "
        "lookups/s on one thread"
    )

    port = free_port()
    server_log = args.out / f"api-{args.persons}" / "server.log"
    server = start_server(info["data"], port, server_log)
    try:
        log(f"server up on {HOST}:{port} (pid {server.pid})")
        for rate in args.rate:
            log(f"open loop at {rate:.0f}/s for {args.duration:.0f} s, lookups then baseline")
            lookup = open_loop(port, paths, auth, rate, args.duration, server.pid)
            baseline = open_loop(port, [f"/policies/{POLICY}"], {}, rate, args.duration, server.pid)
            print(
                f"open loop at {rate:.0f} req/s for {args.duration:.0f} s (latency of the ok "
                f"answers, from when each request was due; {load_average()}):"
            )
            print_loop("GET /scores/{id} (lookup)", lookup)
            print_loop("GET /policies/lending (baseline)", baseline)
            print(
                f"ratio lookup / policies baseline : p50 {lookup['p50'] / baseline['p50']:5.2f}"
                f"  p99 {lookup['p99'] / baseline['p99']:5.2f}"
            )
            print(
                f"ratio lookup HTTP / in-process   : p50 {lookup['p50'] / lib['p50']:5.2f}"
                f"  p99 {lookup['p99'] / lib['p99']:5.2f}"
            )
            if rate == GOAL_RATE:
                met = (
                    lookup["p99"] < GOAL_P99_MS
                    and lookup["errors"] == 0
                    and lookup["rate"] >= 0.98 * rate
                )
                print(
                    f"goal p99 < 10 ms at 500 req/s: p99 {lookup['p99']:.2f} ms at "
                    f"{lookup['rate']:.0f} req/s achieved: {'met' if met else 'NOT met'}"
                )

        if args.wrk > 0:
            run_wrk(port, paths, info["partner_token"], args.wrk, 8)

        if args.batches > 0:
            log(
                f"filing {args.batches} x {args.batch_size:,} records through the API and "
                "in-process, alternated"
            )
            f = filing(info, port, args.batches, args.batch_size, persons)
            print(
                f"batch filing, {args.batches} x {args.batch_size:,} new records each way, "
                "alternated:"
            )
            print(
                f"{'POST /records/batch':34}: {f['api']:9,.0f} records/s  "
                f"(median batch {f['api_median']:.2f} s)"
            )
            print(
                f"{'in-process Workspace.ingest_rows':34}: {f['lib']:9,.0f} records/s  "
                f"(median batch {f['lib_median']:.2f} s)"
            )
            print(f"ratio API / in-process rate      : {f['api'] / f['lib']:5.2f}")
            print(
                f"goal >= 50,000 records/s through the API: {f['api']:,.0f}: "
                f"{'met' if f['api'] >= GOAL_FILING else 'NOT met'}"
            )
        print(f"at the end: {load_average()}")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
