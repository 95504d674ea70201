"""Filing a file chunk by chunk: the same outcome as in one chunk, bounded memory, all or nothing.

A file is read, checked and written a chunk at a time in one transaction
(docs/ledger.md, "Filing a large file"). Whatever the chunk size, the report (every bad row,
its line, field and reason), the records filed and their factor state are those of the file
filed in one chunk: refs repeated across chunks, duplicates of the ledger, corrections of
records filed before and of refs the same file uses (earlier or later). A process killed half
way leaves nothing of the file.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest import FORMATS, ORG, PERSONS, POLICY, TODAY, line_of, row, seed, terms, write

from opencredit.ledger import ingest as ingest_module
from opencredit.ledger.files import FileError
from opencredit.ledger.ingest import IngestReport, ingest_file
from opencredit.ledger.postgres_store import PostgresStore
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import Store
from opencredit.ledger.text_files import MAX_LINE_BYTES
from opencredit.registry import make_resident_id

UNREGISTERED = make_resident_id("310101", dt.date(1985, 5, 5), 7)
#: Filed before each file: what its duplicates and corrections meet in the ledger.
EARLIER = [row("L1"), row("L2", value="30"), row("L3", person=PERSONS[1])]
ONE_CHUNK = 10**9


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A store with PERSONS registered, ORG licensed and EARLIER filed."""
    directory = tmp_path_factory.mktemp("stream")
    store = seed(SQLiteStore(directory / "ledger.sqlite"))
    report = ingest_file(store, write(directory, "csv", EARLIER), ORG, today=TODAY, terms=terms)
    assert report.accepted == len(EARLIER), report.errors
    store.close()
    return directory / "ledger.sqlite"


def copy_of(template: Path, directory: Path) -> SQLiteStore:
    shutil.copyfile(template, directory / "ledger.sqlite")
    return SQLiteStore(directory / "ledger.sqlite")


def outcome(store: Store, report: IngestReport) -> tuple:
    """What a filing did, comparable across chunk sizes: the report, the ledger, the state."""
    receipt = report.receipt
    ledger = [
        {k: v for k, v in r.items() if k != "seq"}
        for b in store.export_records()
        for r in pa.Table.from_batches([b]).to_pylist()
    ]
    state = {p: sorted(store.term_rows(POLICY, p)) for p in PERSONS}
    return (
        report.rows,
        report.errors,
        report.duplicates,
        report.rejected_whole,
        None if receipt is None else (receipt.accepted, receipt.duplicates, receipt.rejected),
        ledger,
        state,
    )


# rows drawn from a small vocabulary, so refs repeat and corrections meet their targets
REFS = ["L1", "L2", "L3", "A", "B", "C", "D"]
rows_strategy = st.lists(
    st.one_of(
        st.builds(
            lambda ref, person, value, day: row(
                ref, person=person, value=value, occurred=f"2024-03-{day:02d}"
            ),
            st.sampled_from(REFS),
            st.sampled_from([PERSONS[0], PERSONS[0], PERSONS[1], UNREGISTERED]),
            st.sampled_from(["12", "30", "-1", "x"]),
            st.sampled_from([1, 1, 2, 31]),
        ),
        st.builds(
            lambda ref, target, action, value: row(
                ref, action=action, target_ref=target, value=value
            ),
            st.sampled_from(["X1", "X2", "X3", "A"]),
            st.sampled_from(REFS),
            st.sampled_from(["amend", "retract"]),
            st.sampled_from(["12", "40", None]),
        ),
    ),
    max_size=14,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=rows_strategy,
    fmt=st.sampled_from(FORMATS),
    partial=st.booleans(),
    chunk=st.integers(1, 6),
)
def test_a_file_in_chunks_is_filed_as_in_one(template, rows, fmt, partial, chunk):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = write(directory, fmt, rows)
        outcomes = []
        for rows_per_chunk, bytes_per_chunk in ((ONE_CHUNK, ONE_CHUNK), (chunk, chunk * 60)):
            sub = directory / str(rows_per_chunk)
            sub.mkdir()
            store = copy_of(template, sub)
            try:
                report = ingest_file(
                    store,
                    path,
                    ORG,
                    partial=partial,
                    today=TODAY,
                    terms=terms,
                    chunk_rows=rows_per_chunk,
                    chunk_bytes=bytes_per_chunk,
                )
                outcomes.append(outcome(store, report))
            except FileError as exc:  # a file refused whole (no columns at all, say)
                outcomes.append((str(exc), store.count_records()))
            finally:
                store.close()
        assert outcomes[0] == outcomes[1]


def test_repeats_and_corrections_across_chunks_name_the_first_line(template, tmp_path):
    rows = [
        row("A"),
        row("B", action="amend", target_ref="L1", value="20"),
        row("C"),
        row("A"),  # repeats line 2, two chunks back
        row("D", action="retract", target_ref="L1"),  # L1 is corrected by line 3 already
        row("E", action="amend", target_ref="C", value="5"),  # C: filed by this very file
        row("F", action="amend", target_ref="G", value="5"),  # G: used by a later line
        row("G"),
    ]
    store = copy_of(template, tmp_path)
    path = write(tmp_path, "csv", rows)
    report = ingest_file(store, path, ORG, today=TODAY, terms=terms, chunk_rows=1, chunk_bytes=1)
    reasons = {e.line: e.reason for e in report.errors}
    assert reasons == {
        line_of("csv", 3): "repeats the ref of line 2; each record needs its own",
        line_of("csv", 4): "line 3 already corrects 'L1'",
        line_of("csv", 5): "names 'C', filed in this same file; file corrections in a later batch",
        line_of("csv", 6): "names 'G', filed in this same file; file corrections in a later batch",
    }
    assert report.rejected_whole and store.count_records() == len(EARLIER)


def test_each_chunk_is_checked_and_written_on_its_own(template, tmp_path, monkeypatch):
    """Memory is bounded by the chunk: no step ever holds more rows than one chunk's."""
    seen: list[int] = []

    class Counting(ingest_module._Validator):
        def __init__(self, store, raw, *args, **kwargs) -> None:
            seen.append(raw.table.num_rows)
            super().__init__(store, raw, *args, **kwargs)

    written: list[int] = []

    def counting_terms(records: pa.Table) -> dict[str, pa.Table]:
        written.append(records.num_rows)
        return terms(records)

    monkeypatch.setattr(ingest_module, "_Validator", Counting)
    rows = [row(f"R{i}", occurred=f"2024-0{1 + i % 9}-1{i % 10}") for i in range(400)]
    for fmt in FORMATS:
        sub = tmp_path / fmt
        sub.mkdir()
        store = copy_of(template, sub)
        seen.clear()
        written.clear()
        report = ingest_file(
            store, write(sub, fmt, rows), ORG, today=TODAY, terms=counting_terms,
            chunk_rows=7, chunk_bytes=7 * 60,
        )  # fmt: skip
        assert report.accepted == 400 and report.receipt is not None, report.errors[:3]
        assert store.count_records() == len(EARLIER) + 400
        assert len(seen) >= 400 // 10 and max(seen) <= 10, (fmt, seen)
        assert sum(written) == 400 and max(written) <= 10
        store.close()


def test_a_line_longer_than_any_chunk_is_reported_not_held(template, tmp_path):
    rows = [row("A"), row("B"), row("C")]
    path = write(tmp_path, "csv", rows)
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + "," * (3 * MAX_LINE_BYTES)  # line 3: far too long
    path.write_text("\n".join(lines) + "\n")
    reports = []
    for size in (ONE_CHUNK, 100):
        sub = tmp_path / str(size)
        sub.mkdir()
        store = copy_of(template, sub)
        reports.append(
            ingest_file(store, path, ORG, partial=True, today=TODAY, terms=terms, chunk_bytes=size)
        )
        store.close()
    assert reports[0].errors == reports[1].errors
    assert [(e.line, e.field) for e in reports[1].errors] == [(3, "(row)")]
    assert reports[1].accepted == 2


KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from test_ingest import ORG, TODAY, terms
    from opencredit.ledger.ingest import ingest_file
    from opencredit.ledger.sqlite_store import SQLiteStore
    chunks = 0
    def slow_terms(records):
        global chunks
        chunks += 1
        if chunks == 3:  # two chunks written in the transaction: signal, and hang
            Path(sys.argv[2]).write_text("ready")
            time.sleep(600)
        return terms(records)
    ingest_file(SQLiteStore(sys.argv[1]), sys.argv[4], ORG, today=TODAY, terms=slow_terms,
                chunk_rows=5, chunk_bytes=300)
    """
)


def test_a_process_killed_half_way_leaves_nothing(template, tmp_path):
    store = copy_of(template, tmp_path)
    before = (store.count_records(), store.max_seq())
    store.close()
    path = write(tmp_path, "csv", [row(f"K{i}") for i in range(40)])
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED,
            str(tmp_path / "ledger.sqlite"),
            str(ready),
            str(Path(__file__).parent),
            str(path),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the filing process ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = SQLiteStore(tmp_path / "ledger.sqlite")
    try:
        assert (store.count_records(), store.max_seq()) == before
        assert store.existing_refs(ORG, [f"K{i}" for i in range(40)]) == {}
        batches = store.db.execute("SELECT count(*) FROM batches").fetchone()[0]
        assert batches == 1  # EARLIER's only
        report = ingest_file(store, path, ORG, today=TODAY, terms=terms, chunk_rows=5)
        assert report.accepted == 40  # filed whole once the process is gone
    finally:
        store.close()


def test_postgres_files_a_file_in_chunks_all_or_nothing(pg_url, pg_schema, tmp_path):
    store = seed(PostgresStore(pg_url, schema=pg_schema))
    try:
        good = [row(f"P{i}") for i in range(12)]
        bad = [*good, row("P3")]  # the last line repeats line 5, chunks later
        report = ingest_file(
            store, write(tmp_path, "csv", bad, "bad"), ORG, today=TODAY, terms=terms, chunk_rows=2,
            chunk_bytes=100,
        )  # fmt: skip
        assert report.rejected_whole and store.count_records() == 0
        assert [(e.line, e.reason) for e in report.errors] == [
            (14, "repeats the ref of line 5; each record needs its own")
        ]
        report = ingest_file(
            store, write(tmp_path, "csv", good, "good"), ORG, today=TODAY, terms=terms,
            chunk_rows=2, chunk_bytes=100,
        )  # fmt: skip
        assert report.receipt is not None and (report.receipt.first_seq, report.accepted) == (1, 12)
        assert store.count_records() == 12
        assert len(store.term_rows(POLICY, PERSONS[0])) == 12
    finally:
        store.close()


def test_a_report_lists_the_first_errors_and_counts_them_all(template, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest_module, "MAX_LISTED_ERRORS", 3)
    rows = [row(f"B{i}", kind="nope" if i % 2 else "speeding") for i in range(20)]
    store = copy_of(template, tmp_path)
    path = write(tmp_path, "csv", rows)
    report = ingest_file(store, path, ORG, today=TODAY, terms=terms, chunk_rows=4, chunk_bytes=200)
    assert [e.line for e in report.errors] == [line_of("csv", i) for i in (1, 3, 5)]
    assert (report.errors_found, report.bad_rows) == (10, 10)
    assert report.rejected_whole and store.count_records() == len(EARLIER)
    report = ingest_file(
        store, path, ORG, partial=True, today=TODAY, terms=terms, chunk_rows=4, chunk_bytes=200
    )
    assert report.receipt is not None and (report.accepted, report.receipt.rejected) == (10, 10)
