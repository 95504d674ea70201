# ruff: noqa: F811  (store and template are fixtures imported from test_ingest)
"""Files are parsed strictly: a record is one line, a JSON key appears once, a number is a plain
decimal, nested values are refused, and a file with nothing new writes no batch.

Each refusal names the line (or row), the field and the reason, and leaves the ledger as it was.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ingest import (  # noqa: F401  (template and store are fixtures)
    FORMATS,
    PERSONS,
    batches,
    errors_at,
    file,
    line_of,
    only_error,
    row,
    snapshot,
    store,
    template,
    write,
)

from opencredit.ledger.files import FileError, read_data
from opencredit.ledger.text_files import MAX_LINE_BYTES
from opencredit.ledger.values import to_float

HEADER = "person,kind,occurred,ref,value\n"
P = PERSONS[0]


def csv_file(tmp_path: Path, body: str, name: str = "records.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def unchanged(store, tmp_path: Path, path: Path, **kwargs):
    """File ``path``; assert nothing changed (records, batches, factor state); the report."""
    before = snapshot(store)
    report = file(store, path, **kwargs)
    assert report.source == str(path)  # the report names the file; each error its line
    assert report.receipt is None and snapshot(store) == before
    return report


# CSV --------------------------------------------------------------------------------------------
def test_an_open_quote_does_not_swallow_the_next_row(store, tmp_path):
    path = csv_file(
        tmp_path,
        f'{P},speeding,2024-01-01,"WS-1,12\n'  # line 2: the quote never closes
        f'{P},speeding,2024-01-02,WS-2",13\n'  # line 3: read on its own
        f"{P},speeding,2024-01-03,WS-3,14\n",
    )
    report = unchanged(store, tmp_path, path)
    assert report.rejected_whole and report.rows == 3
    assert errors_at(report) == {2: {"(row)"}, 3: {"ref"}}
    assert "quoted value must close on its own line" in report.errors[0].reason
    partial = file(store, path, partial=True)
    assert partial.accepted == 1 and store.record(1).ref == "WS-3"


def test_a_quoted_field_is_read_when_it_closes_on_its_line(store, tmp_path):
    path = csv_file(tmp_path, f'"{P}","speeding","2024-01-01","WS-1","12"\n')
    assert file(store, path).accepted == 1


@pytest.mark.parametrize("quoted", [False, True])
def test_an_over_long_line_is_a_row_error_not_a_traceback(store, tmp_path, quoted):
    long = "x" * (MAX_LINE_BYTES + 10)
    path = csv_file(
        tmp_path,
        f"{P},speeding,2024-01-01,WS-1,12\n"
        f"{P},speeding,2024-01-01,{long},12\n" + ('"' if quoted else ""),
    )
    report = unchanged(store, tmp_path, path)
    error = only_error(report) if not quoted else report.errors[0]
    assert (error.line, error.field) == (3, "(row)")
    assert f"at most {MAX_LINE_BYTES:,} bytes" in error.reason


def test_an_over_long_header_is_a_file_error(store, tmp_path):
    path = tmp_path / "records.csv"
    path.write_text("person," * 5000 + "\n")
    with pytest.raises(FileError, match=r"line 1 is .* bytes long"):
        file(store, path)


def test_a_lone_carriage_return_inside_a_line_is_refused(store, tmp_path):
    path = csv_file(tmp_path, f"{P},speeding,2024-01-01,WS\r1,12\n")
    report = unchanged(store, tmp_path, path)
    assert only_error(report).line == 2


# JSON Lines -------------------------------------------------------------------------------------
def jsonl(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps(
    {"person": P, "kind": "speeding", "occurred": "2024-01-01", "ref": "g", "value": 9}
)
#: GOOD with its own ref, to be spoilt field by field.
OTHER = GOOD.replace('"ref": "g"', '"ref": "h"')


def test_a_repeated_key_is_an_error_so_a_refused_category_cannot_hide(store, tmp_path):
    hidden = (
        f'{{"person": "{P}", "kind": "purchase", "occurred": "2024-01-01", "ref": "h", '
        '"value": 5, "category": "medicine", "category": "groceries"}'
    )
    report = unchanged(store, tmp_path, jsonl(tmp_path, GOOD, hidden))
    error = only_error(report)
    assert (error.line, error.field) == (2, "category")
    assert "appears more than once" in error.reason


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (OTHER.replace(f'"person": "{P}"', '"person": {"id": "x"}'), "person", "found an object"),
        (OTHER.replace('"ref": "h"', '"ref": ["a", "b"]'), "ref", "found an array"),
        (OTHER.replace('"ref": "h"', '"ref": 17'), "ref", "expected text (a JSON string)"),
        (OTHER.replace('"ref": "h"', '"ref": true'), "ref", "found true"),
        (OTHER.replace('"value": 9', '"value": [1]'), "value", "a number or text, found an array"),
        (OTHER.replace('"value": 9', '"value": ' + "9" * 5000), "value", "not a number"),
        (OTHER.replace('"value": 9', '"value": NaN'), "value", "not a number"),
        ("[" * 3000 + "]" * 3000, "(row)", "nested too deeply"),
        ('{"ref": "' + "x" * MAX_LINE_BYTES + '"}', "(row)", "bytes long"),
    ],
)
def test_json_values_are_flat_text_or_numbers(store, tmp_path, line, field, reason):
    report = unchanged(store, tmp_path, jsonl(tmp_path, GOOD, line))
    error = only_error(report)
    assert (error.line, error.field) == (2, field) and reason in error.reason, report.errors


# numbers, in every format -----------------------------------------------------------------------
def as_written(tmp_path: Path, fmt: str, rows: list[dict]) -> Path:
    """``rows`` with every value as text, as a provider's export might hold it (the ingest
    tests' writer turns what Python reads as a number or date into one first)."""
    if fmt == "csv":
        return write(tmp_path, fmt, rows)
    path = tmp_path / f"records.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        names = list(rows[0])
        table = pa.table({n: pa.array([r[n] for r in rows], pa.string()) for n in names})
        pq.write_table(table, path)
    return path


NOT_PLAIN = ["1_000", "１２", "0x10", "1,5", "nan", "inf", "1e999", "12 3", "٣"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", NOT_PLAIN)
def test_numbers_are_plain_ascii_decimals_in_every_format(store, tmp_path, fmt, value):
    report = unchanged(store, tmp_path, as_written(tmp_path, fmt, [row("n1", value=value)]))
    error = only_error(report)
    assert (error.line, error.field) == (line_of(fmt, 0), "value")
    assert "not a number" in error.reason


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("occurred", ["２０２４-01-01", "2024-1-1", "2024_01_01", "20240101"])
def test_dates_are_plain_ascii_in_every_format(store, tmp_path, fmt, occurred):
    report = unchanged(store, tmp_path, as_written(tmp_path, fmt, [row("d1", occurred=occurred)]))
    assert only_error(report).field == "occurred"


@settings(max_examples=100, deadline=None)
@given(
    digits=st.text(st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1)
)
def test_property_non_ascii_digits_are_never_a_value(digits):
    raw = read_data((HEADER + f"{P},speeding,2024-01-01,WS-1,{digits}\n").encode(), "records.csv")
    _, bad = to_float(raw.table.column("value"))
    assert bad.tolist() == [True]


# nothing new, no batch --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_with_no_rows_writes_no_batch(store, tmp_path, fmt):
    if fmt == "csv":
        path = csv_file(tmp_path, "")
    elif fmt == "jsonl":
        path = tmp_path / "records.jsonl"
        path.write_text("\n\n")
    else:
        path = tmp_path / "records.parquet"
        pq.write_table(
            pa.table({c: pa.array([], pa.string()) for c in ("person", "kind", "occurred", "ref")}),
            path,
        )
    report = unchanged(store, tmp_path, path)
    assert not report.rejected_whole and report.accepted == 0 and batches(store) == 0


@pytest.mark.parametrize("partial", [False, True])
def test_a_file_already_filed_writes_no_batch(store, tmp_path, partial):
    path = write(tmp_path, "csv", [row("a"), row("b")])
    assert file(store, path).accepted == 2 and batches(store) == 1
    again = unchanged(store, tmp_path, path, partial=partial)
    assert again.duplicates == 2 and not again.rejected_whole and batches(store) == 1


def test_a_partial_file_with_every_row_bad_writes_no_batch(store, tmp_path):
    path = write(tmp_path, "csv", [row("a", kind="teleport"), row("b", occurred="yesterday")])
    report = unchanged(store, tmp_path, path, partial=True)
    assert report.rejected_whole and report.bad_rows == 2


# Parquet ----------------------------------------------------------------------------------------
def parquet(tmp_path: Path, **columns: pa.Array) -> Path:
    base = {
        "person": pa.array([P]),
        "kind": pa.array(["speeding"]),
        "occurred": pa.array(["2024-01-01"]),
        "ref": pa.array(["WS-1"]),
        "value": pa.array([12.0]),
    }
    path = tmp_path / "records.parquet"
    pq.write_table(pa.table(base | columns), path)
    return path


@pytest.mark.parametrize(
    "column",
    [
        {"value": pa.array([{"amount": 12.0}])},
        {"ref": pa.array([["WS-1"]])},
        {"value": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64()))},
    ],
)
def test_nested_parquet_columns_are_a_file_error(store, tmp_path, column):
    (name,) = column
    before = snapshot(store)
    with pytest.raises(FileError, match=f"column {name!r} has type .*records are flat"):
        file(store, parquet(tmp_path, **column))
    assert snapshot(store) == before


def test_invalid_utf8_in_a_binary_column_names_row_and_column(store, tmp_path):
    before = snapshot(store)
    path = parquet(tmp_path, ref=pa.array([b"caf\xe9"], pa.binary()))
    with pytest.raises(FileError, match="row 1, column 'ref' is not UTF-8 text"):
        file(store, path)
    assert snapshot(store) == before


def test_binary_and_dictionary_columns_of_text_are_read(store, tmp_path):
    path = parquet(
        tmp_path,
        ref=pa.array([b"WS-1"], pa.binary()),
        kind=pa.array(["speeding"]).dictionary_encode(),
    )
    assert file(store, path).accepted == 1


def test_messages_name_the_source_given_not_a_path(tmp_path):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"ref": pa.array([{"a": 1}])}), buffer)
    with pytest.raises(FileError) as caught:
        read_data(buffer.getvalue(), "mine.parquet")
    assert str(caught.value).startswith("mine.parquet: ") and str(tmp_path) not in str(caught.value)


@pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)
def test_a_nul_in_any_field_is_refused_before_the_store(store, tmp_path):
    """PostgreSQL text cannot hold a NUL: no field holding one may reach the store."""
    rows = [
        row("nul-1\x00"),
        row("nul-2", person=P + "\x00"),
        row("nul-3", kind="speeding\x00"),
        row("nul-4", kind="purchase", value="3", category="books\x00"),
        row("nul-5", action="retract", target_ref="x\x00", person=None, kind=None),
        row("nul-6", value="1\x00"),
        row("nul-7", occurred="2024-01-01\x00"),
    ]
    path = as_written(tmp_path, "jsonl", rows)
    for partial in (False, True):
        report = unchanged(store, tmp_path, path, partial=partial)
        assert errors_at(report) == {
            1: {"ref"},
            2: {"person"},
            3: {"kind"},
            4: {"category"},
            5: {"target_ref"},
            6: {"value"},
            7: {"occurred"},
        }
