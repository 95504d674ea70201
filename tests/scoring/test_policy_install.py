"""A policy installed by one process while another (a server) files records: the policy and its
factor state appear together, every filing after it makes its terms too, and the server reads
it without a restart. The plain-Python reference scoring is the oracle."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import opencredit.workspace as workspace_module
from opencredit.access import AccessDenied, Caller, Conflict, Role, publishing
from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.errors import PolicyError
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


# publishing: who may, and what never changes ----------------------------------------------------
OWNER = load_policy(LENDING).owner
OTHER = make_org_code("330100", 9)
ADMIN = Caller("a" * 16, Role.ADMIN, None)


def provider(org: str | None) -> Caller:
    """A scoring provider's key."""
    return Caller("s" * 16, Role.SCORING_PROVIDER, org)


def document(policy_id: str = "lending", version: int = 1, owner: str | None = OWNER) -> str:
    """The lending policy's document as ``policy_id@version`` owned by ``owner``."""
    text = LENDING.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^id = "lending"$', f'id = "{policy_id}"', text)
    text = re.sub(r"(?m)^version = 1$", f"version = {version}", text)
    if owner is None:
        return re.sub(r"(?m)^owner = .*$", "", text)
    return re.sub(r'(?m)^owner = "[0-9A-Z]{18}"', f'owner = "{owner}"', text)


def written(ws: Workspace) -> tuple:
    """What an install writes: the documents and every person's factor state."""
    keys = sorted(ws.store.policy_keys() | {"lending@2", "newid@1", "newid@2"})
    terms = {(k, p): ws.store.term_rows(k, p) for k in keys for p in PEOPLE}
    return ws.store.policy_documents(), terms


def test_the_same_document_again_is_a_no_op(server):
    before = written(server)
    again = server.install_policy(LENDING)
    assert (again.key, again.new) == ("lending@1", False)
    assert server.publish_policy(document(), publisher=provider(OWNER)).new is False
    assert written(server) == before


@pytest.mark.parametrize(
    ("change", "how"),
    [
        (lambda t: re.sub(r"(?m)^base = 620$", "base = 640", t), "differs from it: a"),
        (lambda t: "# a new comment\n" + t, r"differs from it \(in comments or layout only\)"),
        (lambda t: t.replace('"rental_deposit"]', '"rental_deposit", "tenancy"]'), "differs"),
    ],
)
def test_a_changed_document_under_an_installed_version_is_refused(server, change, how):
    before = written(server)
    for publisher in (None, ADMIN, provider(OWNER)):
        with pytest.raises(Conflict, match=how) as info:
            server.publish_policy(change(document()), "lending-edit.toml", publisher=publisher)
        assert "publish the change as lending@2" in str(info.value)
        assert written(server) == before
        assert server.policy("lending").key == "lending@1"


@pytest.mark.parametrize(
    ("publisher", "owner", "message"),
    [
        (provider(OTHER), OWNER, "a scoring provider publishes only its own policies"),
        (provider(OTHER), None, "names owner \\(none\\)"),
        (Caller("p" * 16, Role.PARTNER, OTHER), OWNER, "only a policy's owner"),
        (Caller("d" * 16, Role.DATA_PROVIDER, OWNER), OWNER, "only a policy's owner"),
        (Caller("r" * 16, Role.REGULATOR, None), OWNER, "only a policy's owner"),
        (Caller("q" * 16, Role.PERSON, PEOPLE[0]), OWNER, "only a policy's owner"),
    ],
)
def test_only_the_owner_or_an_admin_publishes(server, publisher, owner, message):
    before = written(server)
    with pytest.raises(AccessDenied, match=message):
        server.publish_policy(document("lending", 2, owner), publisher=publisher)
    with pytest.raises(AccessDenied, match=message):  # a new id too
        server.publish_policy(document("newid", 1, owner), publisher=publisher)
    assert written(server) == before


def test_the_owner_and_an_admin_publish_new_versions(server):
    mine = server.publish_policy(document("lending", 2), publisher=provider(OWNER))
    assert (mine.key, mine.new) == ("lending@2", True)
    assert server.policy("lending").key == "lending@2"
    assert server.store.policy_documents()["lending@2"] == document("lending", 2)
    theirs = server.publish_policy(document("newid", 1, OTHER), publisher=ADMIN)
    assert theirs.new and theirs.policy.owner == OTHER
    assert_scores_are_the_oracles(server, "lending@2")


@pytest.mark.parametrize(
    ("publisher", "error"),
    [(provider(OTHER), AccessDenied), (ADMIN, Conflict), (None, Conflict)],
)
def test_no_one_gives_an_id_another_owner(server, publisher, error):
    before = written(server)
    for owner in (OTHER, None):
        if owner is None and error is AccessDenied:
            continue  # refused sooner: it does not name its publisher
        with pytest.raises(error, match="every version of a policy keeps the owner"):
            server.publish_policy(document("lending", 2, owner), publisher=publisher)
    assert written(server) == before


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (document().replace('id = "late_payments"', 'id = "age_penalty"'), "age"),
        (document().replace("base = 620", "base = 620\nlabel = 'x'"), "label"),
        (document().replace('"rental_deposit"]', '"rental_deposit", "religion"]'), "religion"),
        (document().replace('kinds = ["payment_missed"]', 'kinds = ["nope"]'), "nope"),
        ("id = ", "not valid TOML"),
    ],
)
def test_what_lint_calls_an_error_is_never_installed(server, text, field):
    before = written(server)
    text = re.sub(r"(?m)^version = 1$", "version = 2", text)
    for publisher in (None, ADMIN, provider(OWNER)):
        with pytest.raises(PolicyError, match=field) as info:
            server.publish_policy(text, "mine.toml", publisher=publisher)
        assert str(info.value).startswith("mine.toml: refused, `policy lint` finds errors")
        assert "\n" not in str(info.value)
    assert written(server) == before


def test_an_unreadable_file_is_a_policy_error(server, tmp_path):
    (tmp_path / "latin1.toml").write_bytes("name = 'caf\xe9'".encode("latin-1"))
    for path in (tmp_path / "missing.toml", tmp_path / "latin1.toml"):
        with pytest.raises(PolicyError, match="cannot read the policy"):
            server.install_policy(path)


def test_two_publishers_racing_for_a_new_id_cannot_both_win(places, server, monkeypatch):
    """Each checks inside the install's transaction: the second sees the first's version."""
    data, url = places
    real = publishing.check_publication
    arrived = threading.Barrier(2, timeout=10)

    def slow(*args, **kwargs):  # both arrive before either checks, unless one waits for a lock
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait(timeout=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(publishing, "check_publication", slow)

    def publish(version: int, org: str) -> str:
        with Workspace(data, database_url=url) as ws:
            try:
                ws.publish_policy(document("newid", version, org), publisher=provider(org))
            except (AccessDenied, Conflict) as exc:
                return f"refused: {exc}"
            return "installed"

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(publish, (1, 2), (OWNER, OTHER)))
    assert sorted(o.split(":")[0] for o in outcomes) == ["installed", "refused"]
    installed = {k for k in server.store.policy_keys() if k.startswith("newid@")}
    assert len(installed) == 1


def test_the_cli_says_already_installed_and_refuses_a_changed_version_in_one_line(tmp_path):
    """The CLI publishes as the operator, through the same path."""
    Workspace.init(tmp_path / "data").close()
    cli = [sys.executable, "-c", "from opencredit.cli.app import main; main()"]
    cli += ["--data", str(tmp_path / "data"), "policy", "install"]
    same = subprocess.run([*cli, str(LENDING)], capture_output=True, text=True, timeout=120)
    assert (same.returncode, same.stdout.strip()) == (0, "already installed lending@1")
    changed = tmp_path / "lending-changed.toml"
    changed.write_text(document().replace("base = 620", "base = 640"), encoding="utf-8")
    refused = subprocess.run([*cli, str(changed)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    line = " ".join(refused.stderr.split())  # one message (Rich wraps it to the terminal)
    assert "Traceback" not in refused.stderr
    assert line.startswith("error: policy lending@1 is already installed")
    assert "publish the change as lending@2" in line
    with Workspace(tmp_path / "data") as ws:
        assert ws.store.policy_documents()["lending@1"] == LENDING.read_text(encoding="utf-8")


def test_a_version_too_large_for_a_key_is_refused(server):
    before = written(server)
    for version in (10**9, 2**63 - 1):
        with pytest.raises(PolicyError, match="versions go up to 999,999,999"):
            server.publish_policy(document("lending", version), publisher=ADMIN)
    assert written(server) == before
    assert server.publish_policy(document("lending", 999_999_999), publisher=ADMIN).new
