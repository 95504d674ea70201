"""The command line run in-process: a small demo nation made once, copied for each test."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cli_world import DEMO_PERSONS, Demo, invoke


@pytest.fixture(scope="session")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One demo run for the whole session (copied by :func:`demo` for each test)."""
    data = tmp_path_factory.mktemp("demo") / "data"
    result = invoke("demo", "--persons", DEMO_PERSONS, "--seed", 7, "--data", data, "--quiet")
    assert result.exit_code == 0, result.output
    person = re.search(r"opencredit explain (\d{17}[\dX]) --policy lending", result.stdout)
    assert person, result.stdout
    ids = pq.read_table(data / "nation" / "persons.parquet").column("id").to_pylist()
    providers = pq.read_table(data / "nation" / "providers.parquet").to_pylist()
    bank = next(p["code"] for p in providers if "finance" in p["domains"])
    other = next(i for i in ids if i != person.group(1))
    return Demo(data, person.group(1), other, bank, result.stdout)


@pytest.fixture
def demo(demo_made: Demo, tmp_path: Path) -> Iterator[Demo]:
    """A private copy of the demo's data directory, for a test that may change it."""
    copy = tmp_path / "data"
    shutil.copytree(demo_made.data, copy)
    yield Demo(copy, demo_made.person, demo_made.other_person, demo_made.bank, demo_made.output)
