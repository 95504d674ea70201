"""Fixtures for the adversarial probes of the HTTP API: a world of one's own per test, built
from the API tests' world (tests/api/api_world.py) once per session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from api_world import TODAY, Template, World, build_world, open_world


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The API tests' world, built once with today pinned."""
    data = tmp_path_factory.mktemp("adversarial-template") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENCREDIT_TODAY", TODAY.isoformat())
        mp.delenv("OPENCREDIT_DATABASE_URL", raising=False)
        made = build_world(data)
    return Template(data, **made)


@pytest.fixture
def api(api_template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A fresh copy of the world with the app running on it, today pinned."""
    monkeypatch.setenv("OPENCREDIT_TODAY", TODAY.isoformat())
    monkeypatch.delenv("OPENCREDIT_DATABASE_URL", raising=False)
    with open_world(api_template, tmp_path / "data") as world:
        yield world
