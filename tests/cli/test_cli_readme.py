"""The README's command-line examples run as written, in order, and succeed.

Every ``opencredit ...`` line of the README's ``bash`` blocks is run in-process in a fresh
folder (so the default ``./opencredit-data`` is the demo's), with only placeholders
substituted: the resident ID becomes the person the demo explained, the record number one of
theirs that still stands, ``KEY_ID`` a key the demo made, and nation sizes a small nation's
(so that the test takes seconds, not minutes). The files the examples name (``records.csv``,
``my-policy.toml``) are written first; ``serve`` runs with the server itself stubbed out.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from cli_world import DEMO_PERSONS, POLICIES, ROOT, invoke, scores_from_elsewhere

from opencredit.ledger.records import Action
from opencredit.workspace import Workspace

#: The README's placeholders.
PLACEHOLDER_PERSON = "110101199003071233"
PLACEHOLDER_RECORD = "1234"
PLACEHOLDER_KEY = "KEY_ID"


def readme_commands() -> list[str]:
    """Every ``opencredit`` command of the README's bash blocks, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            if line.startswith("opencredit "):
                commands.append(line)
    return commands


def words(command: str) -> list[str]:
    """A command line's words after ``opencredit``, its comment dropped."""
    return shlex.split(command, comments=True)[1:]


def test_the_readme_has_examples_of_every_kind() -> None:
    verbs = {
        " ".join(words(c)[:2]) if words(c)[0] in ("policy", "registry", "keys") else words(c)[0]
        for c in readme_commands()
    }
    assert {"demo", "score", "explain", "whatif", "ingest", "serve", "keys create"} <= verbs


def _standing_record(data: Path, person: str) -> int:
    with Workspace(data) as ws:
        records = ws.store.records_for(person)
    corrected = {r.target for r in records if r.target is not None}
    return next(r.seq for r in records if r.action is not Action.RETRACT and r.seq not in corrected)


def _first_key(data: Path) -> str:
    listed = invoke("keys", "list", "--data", data)
    assert listed.exit_code == 0, listed.stderr
    return listed.stdout.split()[0]


def test_every_readme_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENCREDIT_DATA", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    shutil.copytree(POLICIES, tmp_path / "policies")
    data = tmp_path / "opencredit-data"
    person = None
    ran = []
    for command in readme_commands():
        args = words(command)
        if args[0] in ("demo", "generate"):
            args = [a for a in args if not a.isdigit() and a != "--persons"]
            args += ["--persons", str(DEMO_PERSONS), "--quiet"]
        if person is not None:
            args = [a.replace(PLACEHOLDER_PERSON, person) for a in args]
            if PLACEHOLDER_RECORD in args:
                args[args.index(PLACEHOLDER_RECORD)] = str(_standing_record(data, person))
            if PLACEHOLDER_KEY in args:
                args[args.index(PLACEHOLDER_KEY)] = _first_key(data)
        if args[0] == "import-scores":  # what a cluster job leaves (docs/export.md)
            scores_from_elsewhere(data, tmp_path / args[1])
        result = invoke(*args)
        assert result.exit_code == 0, (command, args, result.stdout[-2000:], result.stderr)
        assert "Traceback" not in result.output
        ran.append(args[0])
        if args[0] == "demo":
            found = re.search(r"opencredit explain (\d{17}[\dX]) ", result.stdout)
            assert found, result.stdout
            person = found.group(1)
            (tmp_path / "records.csv").write_text(
                "person,kind,occurred,ref\n"
                f"{person},loan_repaid,2025-01-02,readme-1\n"
            )  # fmt: skip
            lending = (POLICIES / "lending.toml").read_text(encoding="utf-8")
            (tmp_path / "my-policy.toml").write_text(
                lending.replace("version = 1", "version = 2", 1)
            )
    assert ran[0] == "demo" and "ingest" in ran and "serve" in ran
