"""Every CLI verb with bad arguments: one line on stderr, exit status 1 or 2, no traceback,
and nothing written (issue 9, probe kind 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from opencredit.cli.app import app

BAD_POLICY = "lending\x00@1"


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # Click 8.2 keeps stderr apart already
        return CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised data directory, shared by the probes (none of them may change it)."""
    data = tmp_path_factory.mktemp("cli") / "data"
    result = _runner().invoke(app, ["--data", str(data), "-q", "init"])
    assert result.exit_code == 0, result.output
    # Open the access tables once, so that a probe finds everything made that reading makes.
    assert _runner().invoke(app, ["--data", str(data), "-q", "keys", "list"]).exit_code == 0
    return data


def _files(data: Path) -> dict[str, int]:
    """Every file under ``data`` and its size (a write-ahead log's frames would show too)."""
    return {str(p.relative_to(data)): p.stat().st_size for p in data.rglob("*") if p.is_file()}


PROBES = {
    "score, unknown person": ["score", "not-a-person", "--policy", "lending"],
    "score, NUL in policy": ["score", "110101199001011234", "--policy", BAD_POLICY],
    "score, huge version": ["score", "110101199001011234", "--policy", "lending@" + "9" * 40],
    "score, bad date": ["score", "110101199001011234", "--policy", "lending", "--as-of", "x"],
    "explain, bad person": ["explain", "\u202e110101", "--policy", "lending"],
    "whatif, bad person": ["whatif", "1" * 500, "--policy", "lending"],
    "ingest, missing file": ["ingest", "/nonexistent.csv", "--provider", "91110000MA00000000"],
    "ingest, directory": ["ingest", "/tmp", "--provider", "91110000MA00000000"],
    "ingest, bad provider": ["ingest", "/etc/hostname", "--provider", "\x00"],
    "policy show, unknown": ["policy", "show", "nope@1"],
    "policy show, NUL": ["policy", "show", BAD_POLICY],
    "policy install, missing": ["policy", "install", "/nonexistent.toml"],
    "policy install, directory": ["policy", "install", "/tmp"],
    "policy install, binary": ["policy", "install", "/bin/sh"],
    "policy lint, binary": ["policy", "lint", "/bin/sh"],
    "policy lint, directory": ["policy", "lint", "/tmp"],
    "registry add-persons, missing": ["registry", "add-persons", "/nonexistent.parquet"],
    "registry add-persons, not parquet": ["registry", "add-persons", "/etc/hostname"],
    "registry add-provider, bad code": [
        "registry",
        "add-provider",
        "123",
        "--name",
        "x",
        "--domain",
        "finance",
    ],
    "registry add-provider, control chars in name": [
        "registry",
        "add-provider",
        "91110000MA00000000",
        "--name",
        "Bank\x1b[31m",
        "--domain",
        "finance",
    ],
    "registry add-provider, unknown domain": [
        "registry",
        "add-provider",
        "91110000MA00000000",
        "--name",
        "x",
        "--domain",
        "religion",
    ],
    "keys create, bad role": ["keys", "create", "--role", "god"],
    "keys revoke, unknown": ["keys", "revoke", "\x00"],
    "export, bad path": ["export", "/proc/nonexistent/x"],
    "rebuild, bad engine": ["rebuild", "--engine", "quantum"],
    "generate, negative": ["generate", "--persons", "-5"],
}


@pytest.mark.parametrize("args", PROBES.values(), ids=PROBES.keys())
def test_bad_arguments_give_one_line_and_exit_1_or_2(data: Path, args: list[str]) -> None:
    before = _files(data)
    result = _runner().invoke(app, ["--data", str(data), "-q", *args])
    stderr = result.stderr if result.stderr_bytes is not None else ""
    assert result.exit_code in (1, 2), (result.exit_code, result.output, stderr)
    assert "Traceback" not in result.output + stderr
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) <= 1 or lines[0].startswith("Usage"), stderr
    assert _files(data) == before
