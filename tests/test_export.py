"""The Parquet export: the whole ledger prefix, partitioned by person the same way in Python
and SQL, the registry without attributes unless asked, a manifest, and nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from engines.world import build_world
from opencredit.cli.app import app
from opencredit.errors import OpenCreditError
from opencredit.ledger.export import (
    PARTITION_HASH,
    ExportError,
    document_hash,
    export_ledger,
    partition_of,
    partition_sql,
    read_manifest,
    record_fingerprint,
)
from opencredit.ledger.records import Action, Record
from opencredit.ledger.store import RECORD_SCHEMA
from opencredit.workspace import Workspace


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = build_world(tmp_path_factory.mktemp("world") / "data", persons=80)
    yield ws
    ws.close()


def read(directory: Path, what: str) -> pa.Table:
    glob = (directory / what / "**" / "*.parquet").as_posix()
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    return relation.to_arrow_table()


def test_export_holds_the_ledger_partitioned_by_person(world: Workspace, tmp_path: Path) -> None:
    m = export_ledger(world.store, tmp_path / "x", partitions=5)
    records = read(tmp_path / "x", "records")
    ledger = world.ledger()
    assert records.select(RECORD_SCHEMA.names).sort_by("seq").equals(ledger.sort_by("seq"))
    for person, part in zip(*records.select(["person", "part"]).to_pydict().values(), strict=True):
        assert part == partition_of(person, 5)
    persons = read(tmp_path / "x", "persons")
    assert set(persons.column_names) == {"id", "part"}  # no attributes unless asked
    assert sorted(persons.column("id").to_pylist()) == sorted(
        world.store.export_persons().column("id").to_pylist()
    )
    assert m.head_seq == world.store.max_seq() and m.records == ledger.num_rows
    last = world.store.record(m.head_seq)
    assert last is not None and m.head_record_sha256 == record_fingerprint(last)
    assert (m.persons, m.disputes, m.partitions) == (80, 3, 5)
    documents = world.store.policy_documents()
    assert m.policies == {k: document_hash(d) for k, d in documents.items()}
    for key, doc in documents.items():
        assert (tmp_path / "x" / "policies" / f"{key}.toml").read_text(encoding="utf-8") == doc
    assert read_manifest(tmp_path / "x") == m
    assert m.partition_hash == PARTITION_HASH
    assert not (tmp_path / "x.partial").exists()


def test_export_from_postgresql(pg_url: str, pg_schema: str, tmp_path: Path) -> None:
    """The same export from the server store: records, persons, disputes, manifest."""
    url = f"{pg_url}?schema={pg_schema}"
    with build_world(tmp_path / "data", persons=30, database_url=url) as ws:
        m = export_ledger(ws.store, tmp_path / "x", partitions=4)
        records = read(tmp_path / "x", "records").select(RECORD_SCHEMA.names)
        assert records.sort_by("seq").equals(ws.ledger().sort_by("seq"))
        assert (m.persons, m.disputes, m.records) == (30, 3, ws.store.count_records())
        last = ws.store.record(m.head_seq)
        assert last is not None and m.head_record_sha256 == record_fingerprint(last)


def test_attributes_only_when_asked(world: Workspace, tmp_path: Path) -> None:
    export_ledger(world.store, tmp_path / "x", partitions=2, with_attributes=True)
    persons = read(tmp_path / "x", "persons")
    assert {"region", "birth_date", "sex"} <= set(persons.column_names)
    assert read_manifest(tmp_path / "x").with_attributes


def test_the_source_is_a_function_of_the_head(world: Workspace, tmp_path: Path) -> None:
    """Another source (a columnar copy of the ledger, later) replaces the row store's."""
    heads: list[int] = []

    def source(head: int) -> Iterator[pa.RecordBatch]:
        heads.append(head)
        yield from world.ledger(head).slice(0, 10).to_batches()

    seen: list[int] = []
    m = export_ledger(
        world.store, tmp_path / "x", partitions=3, source=source, progress=seen.append
    )
    assert heads == [world.store.max_seq()]
    assert m.records == 10 and sum(seen) == 10


def test_a_failed_export_leaves_nothing(world: Workspace, tmp_path: Path) -> None:
    def broken(head: int) -> Iterator[pa.RecordBatch]:
        yield from world.ledger(head).slice(0, 5).to_batches()
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        export_ledger(world.store, tmp_path / "x", source=broken)
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_refuses_a_directory_in_use(world: Workspace, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an empty directory"):
        export_ledger(world.store, tmp_path / "x")
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
    for partitions in (0, 65_537):
        with pytest.raises(ExportError, match="must be 1 to 65,536"):
            export_ledger(world.store, tmp_path / "y", partitions=partitions)
    assert not (tmp_path / "y").exists()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=20), st.integers(1, 4096))
def test_partition_is_the_same_in_python_and_duckdb(ids: list[str], n: int) -> None:
    con = duckdb.connect()
    con.register("ids", pa.table({"person": ids}))
    got = con.sql(f"SELECT {partition_sql('person', n)} AS p FROM ids").fetchall()
    assert [p for (p,) in got] == [partition_of(i, n) for i in ids]


records = st.builds(
    Record,
    seq=st.integers(1, 10**12),
    person=st.text(max_size=18),
    kind=st.sampled_from(["speeding", "purchase"]),
    occurred=st.dates(),
    value=st.none() | st.floats(allow_nan=False),
    category=st.none() | st.text(max_size=5),
    org=st.text(max_size=18),
    ref=st.text(max_size=10),
    action=st.sampled_from(list(Action)),
    target=st.none() | st.integers(1, 10**12),
)


@given(records, records)
def test_fingerprints_tell_records_apart(a: Record, b: Record) -> None:
    """The same entry, the same fingerprint; any field changed, another one."""

    def fields(r: Record) -> tuple:  # repr tells 0.0 from -0.0, as the fingerprint does
        return tuple(repr(getattr(r, f)) for f in Record.__slots__)

    assert record_fingerprint(a) == record_fingerprint(a)
    assert (record_fingerprint(a) == record_fingerprint(b)) == (fields(a) == fields(b))


def test_read_manifest_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"no manifest\.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(OpenCreditError, match=r"manifest\.json: format"):
        read_manifest(tmp_path)


def test_cli_export(world: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--data", str(world.data_dir), "--quiet", "export", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--partitions", "4"])
    assert result.exit_code == 0, result.output
    assert f"in 4 partitions to {out}" in " ".join(result.output.split())
    assert read_manifest(out).records == world.store.count_records()
    again = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert again.exit_code == 2 and "csv" in again.output
