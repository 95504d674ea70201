"""A policy installed by one process while another (a server) files records: the policy and its
factor state appear together, every filing after it makes its terms too, and the server reads
it without a restart. The plain-Python reference scoring is the oracle."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import opencredit.workspace as workspace_module
from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.policies.model import load_policy
from opencredit.registry import make_org_code, make_resident_id
from opencredit.scoring.incremental import IncrementalEngine
from opencredit.scoring.reference import score_person
from opencredit.workspace import Workspace

from .tables import persons_table

AS_OF = dt.date(2026, 3, 1)
PEOPLE = [
    make_resident_id("110101", dt.date(1980, 1, 1) + dt.timedelta(days=n), n) for n in range(1, 5)
]
BANK = make_org_code("110000", 1)
LENDING = Path(__file__).parents[2] / "policies" / "lending.toml"


@pytest.fixture(params=["sqlite", "postgresql"])
def places(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str | None]]:
    """A data directory and the database URL (None: its SQLite file) of one deployment."""
    url = None
    if request.param == "postgresql":
        pg_url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
        url = f"{pg_url}?schema={schema}"
    yield tmp_path / "data", url


@pytest.fixture
def server(places: tuple[Path, str | None]) -> Iterator[Workspace]:
    """A long-lived workspace with persons, a bank and some records, its policies read."""
    data, url = places
    with Workspace.init(data, database_url=url) as ws:
        ws.store.add_persons(persons_table(PEOPLE))
        ws.register_provider(BANK, "Bank", ["finance"])
        file(ws, "old", 0)
        assert "lending@2" not in ws.policies  # read, and kept
        yield ws


def file(ws: Workspace, tag: str, shift: int) -> None:
    """Repayments and late payments for every person, through the workspace's filing."""
    records = [
        RecordIn(
            person=p,
            kind="loan_repaid" if i % 3 else "payment_missed",
            occurred=str(dt.date(2025, 1, 1) + dt.timedelta(days=37 * i + shift)),
            value=None if i % 3 else 30.0,
            ref=f"{tag}-{n}-{i}",
        )
        for n, p in enumerate(PEOPLE)
        for i in range(n + 2)
    ]
    report = ws.ingest_rows(rows_from_records(records, tag), BANK)
    assert report.receipt is not None, report.errors


def version_2(tmp_path: Path) -> Path:
    """The lending policy as version 2, with other base points (so its scores differ)."""
    text = LENDING.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^version = 1$", "version = 2", text)
    text = re.sub(r"(?m)^base = 620$", "base = 600", text)
    path = tmp_path / "lending-2.toml"
    path.write_text(text, encoding="utf-8")
    return path


def assert_scores_are_the_oracles(ws: Workspace, key: str) -> None:
    policy = ws.policy(key)
    for person in PEOPLE:
        expected = score_person(policy, person, ws.store.records_for(person), AS_OF)
        assert ws.score(person, key, AS_OF)[1] == expected.score, person


def test_a_server_files_with_a_policy_installed_beside_it(server, places, tmp_path, monkeypatch):
    data, url = places
    with Workspace(data, database_url=url) as cli:
        installed = cli.install_policy(version_2(tmp_path))
        assert installed.key == "lending@2"
        assert_scores_are_the_oracles(cli, "lending@2")  # the state came with the policy

    file(server, "new", 5)  # the server's policies are stale: it learns of version 2 here
    assert "lending@2" in server.policies
    assert_scores_are_the_oracles(server, "lending@2")  # the new records have its terms
    assert_scores_are_the_oracles(server, "lending@1")


def test_a_server_reads_a_new_policy_without_a_restart(server, places, tmp_path, monkeypatch):
    data, url = places
    with Workspace(data, database_url=url) as cli:
        cli.install_policy(version_2(tmp_path))
    assert server.policy("lending").key == "lending@1"  # checked at most every few seconds
    monkeypatch.setattr(workspace_module, "POLICY_RECHECK_SECONDS", 0.0)
    assert server.policy("lending").key == "lending@2"


def test_a_policy_whose_state_fails_is_not_installed(server, places, tmp_path, monkeypatch):
    data, url = places

    def broken(self, policy, records):
        raise RuntimeError("the state could not be computed")

    monkeypatch.setattr(IncrementalEngine, "state_of", broken)
    with Workspace(data, database_url=url) as cli:
        with pytest.raises(RuntimeError, match="could not be computed"):
            cli.install_policy(version_2(tmp_path))
        assert "lending@2" not in cli.store.policy_keys()
        assert cli.store.term_rows("lending@2", PEOPLE[0]) == []
    load_policy(version_2(tmp_path))  # the document itself is fine
