"""One Spark session for the whole test session (starting one takes seconds), and one filed
ledger with its export for the engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opencredit.engines.spark import spark_session
from opencredit.ledger.export import export_ledger
from opencredit.workspace import Workspace

from .world import build_world

TEST_POLICY = Path(__file__).with_name("window-test.toml")


@pytest.fixture(scope="session")
def spark():  # type: ignore[no-untyped-def]
    """The process's Spark session (local[2]), shared by every Spark test."""
    return spark_session("local[2]")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A filed ledger (corrections and disputes) with the published policies and the test
    policy installed."""
    ws = build_world(tmp_path_factory.mktemp("world") / "data")
    ws.install_policy(TEST_POLICY)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def export(world: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world's export, in 3 partitions."""
    out = tmp_path_factory.mktemp("export") / "x"
    export_ledger(world.store, out, partitions=3)
    return out
