"""Fixtures for the HTTP API tests: the session's world, and a fresh one on demand.

The world is built once (see ``api_world``) into a template directory; the session world and
every fresh world are copies of it with the app running on them. Tests that change the session
world use their own refs and objects, so order does not matter; tests that move time or
count everything take ``fresh_world``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_world import TODAY, Template, World, build_world, open_world


@pytest.fixture(autouse=True)
def _pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every API test runs on TODAY; a test may move it with ``monkeypatch.setenv``.

    Pinned per test rather than for the session, so the pin cannot leak into other folders'
    tests (which file records dated near the real today)."""
    monkeypatch.setenv("OPENCREDIT_TODAY", TODAY.isoformat())
    monkeypatch.delenv("OPENCREDIT_DATABASE_URL", raising=False)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The world's data directory, built once with today pinned."""
    data = tmp_path_factory.mktemp("template") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENCREDIT_TODAY", TODAY.isoformat())
        mp.delenv("OPENCREDIT_DATABASE_URL", raising=False)
        made = build_world(data)
    return Template(data, **made)


@pytest.fixture(scope="session")
def world(template: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared world; tests that change it use their own refs and objects."""
    with open_world(template, tmp_path_factory.mktemp("world") / "data") as w:
        yield w


@pytest.fixture
def fresh_world(template: Template, tmp_path: Path) -> Iterator[World]:
    """A world of one's own, for tests that move time or count everything."""
    with open_world(template, tmp_path / "data") as w:
        yield w
