"""``opencredit serve --workers 2`` as a user runs it: a real uvicorn with two processes on one
SQLite data directory. Concurrent partner reads are answered and every one is logged once in
the person's file (the inquiry log's group commit and the writers' file lock across
processes), and consent grants through one process are seen by the other."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from api_world import ORG_P, PERSON_A, TODAY, Template, bearer

READS = 60
CLI = [sys.executable, "-c", "from opencredit.cli.app import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_workers_answer_and_log_every_read(template: Template, tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(template.data, data)
    port = free_port()
    env = dict(os.environ, OPENCREDIT_TODAY=TODAY.isoformat())
    env.pop("OPENCREDIT_DATABASE_URL", None)
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*CLI, "--data", str(data), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def log_text() -> str:
        return (tmp_path / "server.log").read_text()

    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log_text()
            try:
                if httpx.get(f"{base}/policies", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            time.sleep(0.2)
        person, partner = bearer(template.tokens["A"]), bearer(template.tokens["P"])
        with httpx.Client(base_url=base, timeout=30) as client:
            refused = client.get(
                f"/scores/{PERSON_A}",
                params=dict(policy="lending", purpose="lending"),
                headers=partner,
            )
            assert refused.status_code == 403 and "score" not in refused.json()
            grant = client.post(
                "/me/consents",
                json=dict(partner=ORG_P, policy="lending", purpose="lending", until="2027-01-01"),
                headers=person,
            )
            assert grant.status_code == 201, grant.text

        def read(_: int) -> tuple[int, int | None]:
            with httpx.Client(base_url=base, timeout=30) as c:  # new connections: both workers
                r = c.get(
                    f"/scores/{PERSON_A}",
                    params=dict(policy="lending", purpose="lending"),
                    headers=partner,
                )
                return r.status_code, r.json().get("inquiry_id")

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(read, range(READS)))
        assert [status for status, _ in answers] == [200] * READS
        ids = [i for _, i in answers]
        assert len(set(ids)) == READS
        with httpx.Client(base_url=base, timeout=30) as client:
            logged = client.get("/me/inquiries", headers=person).json()
        granted = [i["id"] for i in logged if i["granted"]]
        assert sorted(granted) == sorted(ids)  # every read logged, once
        assert sum(not i["granted"] for i in logged) >= 1  # and the refused one
        # Two worker processes run (the second may still be starting when the first answers).
        deadline = time.monotonic() + 60
        while (started := log_text().count("Application startup complete")) < 2:
            assert time.monotonic() < deadline, log_text()
            time.sleep(0.2)
        assert started == 2
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
