"""The columnar copy: kept by filing, caught up after a crash, never counting twice, checked
against the row store, and read back through the store's scores."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from opencredit.cli.app import app
from opencredit.ledger.columnar import ColumnarCopy, scan
from opencredit.ledger.person_keys import to_ids, to_keys
from opencredit.registry import make_resident_id
from opencredit.workspace import Workspace

AS_OF = dt.date(2026, 6, 30)
BANK = "911101011000000161"
PEOPLE = [make_resident_id("110101", dt.date(1980 + i, 1, 2), 10 + i) for i in range(5)]


@settings(max_examples=200)
@given(
    st.lists(
        st.builds(
            make_resident_id,
            st.sampled_from(["110101", "440305", "650102"]),
            st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)),
            st.integers(0, 999),
        ),
        max_size=20,
    )
)
def test_person_keys_round_trip(ids: list[str]) -> None:
    keys = to_keys(pa.array(ids, pa.string()))
    assert keys.dtype == np.int64
    assert to_ids(keys).to_pylist() == ids


@pytest.fixture(params=["sqlite", "postgres"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Workspace:
    """A data directory on either store, persons and a bank registered."""
    url = None
    if request.param == "postgres":
        schema = request.getfixturevalue("pg_schema")
        url = f"{request.getfixturevalue('pg_url')}?schema={schema}"
    workspace = Workspace.init(tmp_path / "data", database_url=url)
    workspace.test_url = url  # type: ignore[attr-defined]
    persons = tmp_path / "persons.parquet"
    pq.write_table(
        # the attributes are derived from the IDs, which encode them
        pa.table({"id": PEOPLE}),
        persons,
    )
    workspace.register_persons(persons)
    workspace.register_provider(BANK, "Bank", ["finance"])
    yield workspace
    workspace.close()


def cli_args(ws: Workspace) -> list[str]:
    """--data (and --database-url on PostgreSQL) for the workspace's data."""
    url = getattr(ws, "test_url", None)
    return ["--data", str(ws.data_dir), *(["--database-url", url] if url else [])]


def file(ws: Workspace, tmp_path: Path, rows: list[dict], name: str) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = ws.ingest(path, BANK)
    assert not report.rejected_whole, report


def repaid(person: str, ref: str, day: str = "2026-01-05") -> dict:
    return {"person": person, "kind": "loan_repaid", "occurred": day, "ref": ref}


def rows_of(copy: ColumnarCopy) -> pa.Table:
    with copy.reading() as manifest:
        tables = [t for t, _ in copy.read_segments(manifest)]
    return pa.concat_tables(tables).sort_by("seq")


def test_filing_keeps_the_copy_equal_to_the_row_store(ws: Workspace, tmp_path: Path) -> None:
    file(ws, tmp_path, [repaid(p, f"a{i}") for i, p in enumerate(PEOPLE)], "one")
    file(ws, tmp_path, [repaid(PEOPLE[0], "b1", "2026-02-01")], "two")
    copy = ws.columnar()
    manifest = copy.manifest()
    assert manifest is not None and manifest.last_seq == ws.store.max_seq() == 6
    assert rows_of(copy).column("seq").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert ws.columnar_differences() == []
    assert sorted(scan(ws.data_dir).to_table().column("seq").to_pylist()) == list(range(1, 7))


def test_a_copy_left_behind_catches_up_without_counting_twice(
    ws: Workspace, tmp_path: Path
) -> None:
    file(ws, tmp_path, [repaid(PEOPLE[0], "a1")], "one")
    # a crash between the row store's commit and the segment: the store has more
    batch = pa.table(
        {
            "person": [PEOPLE[1], PEOPLE[2]],
            "kind": ["loan_repaid"] * 2,
            "occurred": [dt.date(2026, 1, 1)] * 2,
            "value": pa.array([None, None], pa.float64()),
            "category": pa.array([None, None], pa.string()),
            "ref": ["c1", "c2"],
            "action": ["file", "file"],
            "target": pa.array([None, None], pa.int64()),
        }
    )
    ws.store.append(BANK, "crashed", batch)
    copy = ws.columnar()
    assert copy.manifest().last_seq == 1
    # the next filing finds the gap and catches up from the row store
    file(ws, tmp_path, [repaid(PEOPLE[3], "d1")], "three")
    assert rows_of(copy).column("seq").to_pylist() == [1, 2, 3, 4]
    # the same records offered again (a retried hook) are not added twice
    again = pa.Table.from_batches(list(ws.store.export_records(after=2)))
    copy.append(again, ws.store)
    assert rows_of(copy).column("seq").to_pylist() == [1, 2, 3, 4]
    assert ws.columnar_differences() == []


def test_rebuild_catches_a_missing_copy_up(ws: Workspace, tmp_path: Path) -> None:
    file(ws, tmp_path, [repaid(p, f"a{i}") for i, p in enumerate(PEOPLE)], "one")
    for path in ws.columnar().dir.iterdir():
        path.unlink()
    results = ws.rebuild(AS_OF, ["lending"])
    assert results[0].persons == len(PEOPLE)
    assert ws.columnar().manifest().last_seq == 5
    assert ws.columnar_differences() == []


def test_check_reports_a_tampered_copy(ws: Workspace, tmp_path: Path) -> None:
    file(ws, tmp_path, [repaid(p, f"a{i}") for i, p in enumerate(PEOPLE)], "one")
    copy = ws.columnar()
    manifest = copy.manifest()
    segment = copy.dir / manifest.segments[0].file
    table = pq.read_table(segment)
    occurred = table.column("occurred").to_numpy().copy()
    occurred[2] += 1
    pq.write_table(table.set_column(3, "occurred", pa.array(occurred, pa.int32())), segment)
    found = ws.columnar_differences()
    assert len(found) == 1 and "occurred" in found[0]
    runner = CliRunner()
    result = runner.invoke(app, [*cli_args(ws), "rebuild", "--check"])
    assert result.exit_code == 1, result.output
    assert "occurred" in result.output and "differs" in result.output


def test_check_passes_and_says_so(ws: Workspace, tmp_path: Path) -> None:
    file(ws, tmp_path, [repaid(PEOPLE[0], "a1")], "one")
    result = CliRunner().invoke(app, [*cli_args(ws), "rebuild", "--check"])
    assert result.exit_code == 0, result.output
    assert "equals the row store" in result.output


def test_a_copy_of_another_ledger_is_made_again(ws: Workspace, tmp_path: Path) -> None:
    file(ws, tmp_path, [repaid(PEOPLE[0], "a1")], "one")
    copy = ws.columnar()
    manifest = copy.manifest()
    manifest.last_record = [1, "speeding", 1]  # as if copied from another ledger
    copy._save(manifest)
    copy.sync(ws.store)
    assert copy.manifest().last_record[1] == "loan_repaid"
    assert ws.columnar_differences() == []


def test_compaction_keeps_every_record_once(ws: Workspace, tmp_path: Path) -> None:
    for i in range(20):  # more deltas than MAX_DELTAS: compaction merges them
        file(ws, tmp_path, [repaid(PEOPLE[i % 5], f"r{i}")], f"f{i}")
    copy = ws.columnar()
    assert any(s.sorted for s in copy.manifest().segments)
    copy.compact()
    [segment] = copy.manifest().segments
    table = rows_of(copy)
    assert table.column("seq").to_pylist() == list(range(1, 21))
    persons = pq.read_table(copy.dir / segment.file).column("person").to_numpy()
    assert (np.diff(persons) >= 0).all(), "a base segment is sorted by person"
    assert ws.columnar_differences() == []


def test_stored_scores_are_read_from_the_run_file(ws: Workspace, tmp_path: Path) -> None:
    file(ws, tmp_path, [repaid(p, f"a{i}") for i, p in enumerate(PEOPLE[:3])], "one")
    [result] = ws.rebuild(AS_OF, ["lending"])
    table, as_of, up_to = ws.store.scores("lending@1")
    assert (as_of, up_to) == (AS_OF, 3)
    assert table.column("person").to_pylist() == sorted(PEOPLE)
    assert table.column("score").to_pylist() == result.scores.column("score").to_pylist()
    assert table.column("band").to_pylist() == result.scores.column("band").to_pylist()
    # a later run replaces the file, and the first is removed
    [again] = ws.rebuild(AS_OF + dt.timedelta(days=1), ["lending"])
    assert not result.path.exists() and again.path.exists()
    assert ws.store.scores("lending@1")[1] == AS_OF + dt.timedelta(days=1)
    # rows written by write_scores take the file's place
    ws.store.write_scores("lending@1", AS_OF, 3, table.slice(0, 1))
    assert ws.store.scores("lending@1")[0].num_rows == 1


def test_large_filings_are_sorted_and_runs_are_merged_in_tiers(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencredit.ledger import columnar

    monkeypatch.setattr(columnar, "SORT_AT_FILING", 2)
    monkeypatch.setattr(columnar, "MAX_RUNS", 4)
    for i in range(7):
        rows = [repaid(p, f"r{i}-{j}") for j, p in enumerate(reversed(PEOPLE))]
        file(ws, tmp_path, rows, f"f{i}")
    segments = ws.columnar().manifest().segments
    assert all(s.sorted for s in segments) and len(segments) <= 4
    assert sum(s.rows for s in segments) == 35
    for s in segments:
        persons = pq.read_table(ws.columnar().dir / s.file).column("person").to_numpy()
        assert (np.diff(persons) >= 0).all()
    assert ws.columnar_differences() == []
