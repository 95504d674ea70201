"""Filing provider files: validation, all-or-nothing and partial filing, idempotency, corrections.

Every case runs on the same rows written as CSV, JSON Lines and Parquet, so the three readers
must agree on what is wrong and where (CSV: the header is line 1; JSON Lines: the physical
line; Parquet: the row number). The cases that write (accept, reject, idempotency, corrections)
also run on PostgreSQL, in CSV only: the store is what differs there, not the reader.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.errors import InvalidIdentifier
from opencredit.ledger.files import COLUMNS, FileError
from opencredit.ledger.ingest import UNFILEABLE, IngestReport, ProviderError, ingest_file
from opencredit.ledger.postgres_store import PostgresStore
from opencredit.ledger.records import Action
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import Organisation, Store
from opencredit.registry import make_org_code, make_resident_id
from opencredit.registry.resident_id import check_char

FORMATS = ("csv", "jsonl", "parquet")
TODAY = dt.date(2025, 6, 1)
PERSONS = [make_resident_id("110101", dt.date(1990, 1, 1), n) for n in range(1, 5)]
UNREGISTERED = make_resident_id("310101", dt.date(1985, 5, 5), 7)
GOOD_CHECK = check_char(PERSONS[0][:17])
WRONG_CHECK = "0" if GOOD_CHECK != "0" else "1"
BAD_CHECK_ID = PERSONS[0][:17] + WRONG_CHECK
ORG = make_org_code("110000", 1)
OTHER_ORG = make_org_code("110000", 2)
POLICY = "test@1"


# fixtures and helpers ---------------------------------------------------------------------
def seed(store: Store) -> Store:
    """Register PERSONS and license ORG for finance, traffic and commerce."""
    store.add_persons(
        pa.table(
            {
                "id": PERSONS,  # the registry keeps the attributes the ID encodes
            }
        )
    )
    store.add_organisation(Organisation(ORG, "Test Bank", ("finance", "traffic", "commerce")))
    return store


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A store with PERSONS registered and ORG licensed for finance, traffic and commerce."""
    path = tmp_path_factory.mktemp("template") / "ledger.sqlite"
    seed(SQLiteStore(path)).close()  # closing checkpoints the WAL: a copy of the file is whole
    return path


def open_store(template: Path, directory: Path) -> SQLiteStore:
    """A fresh copy of the template store (copying is cheaper than durable commits)."""
    shutil.copyfile(template, directory / "ledger.sqlite")
    return SQLiteStore(directory / "ledger.sqlite")


def open_postgres(url: str, schema: str) -> PostgresStore:
    """The module's PostgreSQL schema, emptied back to the template's state."""
    store = PostgresStore(url, schema=schema)
    for table in ("factor_terms", "disputes", "records", "batches"):  # tiny: faster than TRUNCATE
        store.db.execute(f"DELETE FROM {table}")
    store.db.execute("DELETE FROM organisations WHERE code <> %s", (ORG,))
    return seed(store)


@pytest.fixture
def store(request, template: Path, tmp_path: Path):
    """A copy of the template on SQLite, or (parametrized with "postgresql") its equal there."""
    if getattr(request, "param", "sqlite") == "postgresql":
        url = request.getfixturevalue("pg_url")
        store = open_postgres(url, request.getfixturevalue("pg_module_schema"))
    else:
        store = open_store(template, tmp_path)
    yield store
    store.close()


#: Every format on SQLite and CSV on PostgreSQL, for tests taking ``store`` and ``fmt``.
BACKENDS_AND_FORMATS = pytest.mark.parametrize(
    ("store", "fmt"), [*(("sqlite", f) for f in FORMATS), ("postgresql", "csv")], indirect=["store"]
)
#: SQLite and PostgreSQL, for tests that write CSV only.
BOTH_BACKENDS = pytest.mark.parametrize("store", ["sqlite", "postgresql"], indirect=True)


def row(ref: str, /, **changes: str | None) -> dict[str, str | None]:
    """A good row (a speeding ticket), with ``changes`` applied; None leaves a field empty."""
    base: dict[str, str | None] = {
        "person": PERSONS[0],
        "kind": "speeding",
        "occurred": "2024-03-01",
        "ref": ref,
        "value": "12",
    }
    base.update(changes)
    return base


def _float_or_none(text: str | None) -> float | None:
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _date_or_none(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text is not None else None
    except ValueError:
        return None


def write(directory: Path, fmt: str, rows: list[dict], name: str = "records") -> Path:
    """Write ``rows`` as ``fmt``: every column the rows name, in a fixed order.

    JSON Lines writes numbers as numbers and leaves out empty fields; Parquet types the
    ``occurred`` and ``value`` columns (date32, float64) when every value allows it, as a
    provider's export would.
    """
    path = directory / f"{name}.{fmt}"
    named = {key for r in rows for key in r}
    names = [c for c in COLUMNS if c in named] + sorted(named - set(COLUMNS))
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(names)
            out.writerows([[r.get(c) or "" for c in names] for r in rows])
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                obj = {k: v for k, v in r.items() if v is not None}
                if _float_or_none(obj.get("value")) is not None:
                    obj["value"] = float(obj["value"])
                fh.write(json.dumps(obj) + "\n")
    else:
        columns: dict[str, pa.Array] = {}
        for c in names:
            values = [r.get(c) for r in rows]
            given_values = [v for v in values if v is not None]
            dates = [_date_or_none(v) for v in values]
            numbers = [_float_or_none(v) for v in values]
            if c == "occurred" and all(_date_or_none(v) for v in given_values):
                columns[c] = pa.array(dates, pa.date32())
            elif c == "value" and all(_float_or_none(v) is not None for v in given_values):
                columns[c] = pa.array(numbers, pa.float64())
            else:
                columns[c] = pa.array(values, pa.string())
        pq.write_table(pa.table(columns), path)
    return path


def line_of(fmt: str, index: int) -> int:
    """Where the row at ``index`` (0-based) is reported: CSV counts its header line."""
    return index + 2 if fmt == "csv" else index + 1


def terms(records: pa.Table) -> dict[str, pa.Table]:
    """A stand-in factor-state maker: one term per filed or amended record."""
    live = records.filter(pc.not_equal(records["action"], "retract"))
    return {
        POLICY: pa.table(
            {
                "person": live["person"],
                "factor": live["kind"],
                "seq": live["seq"],
                "occurred": pc.cast(live["occurred"], pa.int32()),
                "expires": pa.nulls(live.num_rows, pa.int32()),
                "points": pc.fill_null(live["value"], 1.0),
            }
        )
    }


def file(store: Store, path: Path, **kwargs) -> IngestReport:
    return ingest_file(store, path, ORG, today=TODAY, terms=terms, **kwargs)


def term_seqs(store: Store) -> set[int]:
    """Sequence numbers that have factor state, over every registered person."""
    return {s for p in PERSONS for s in store.terms_for(POLICY, p).column("seq").to_pylist()}


def batches(store: SQLiteStore | PostgresStore) -> int:
    return store.db.execute("SELECT count(*) FROM batches").fetchone()[0]


def snapshot(store: SQLiteStore | PostgresStore) -> tuple:
    """Everything a filing may change: ledger, batches and factor state."""
    return store.count_records(), store.max_seq(), batches(store), term_seqs(store)


def errors_at(report: IngestReport) -> dict[int, set[str]]:
    """The fields named in the report, by line."""
    out: dict[int, set[str]] = {}
    for e in report.errors:
        out.setdefault(e.line, set()).add(e.field)
    return out


def only_error(report: IngestReport):
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


# accepted files -------------------------------------------------------------------------------
@BACKENDS_AND_FORMATS
def test_good_file_is_accepted_with_a_receipt(store, tmp_path, fmt):
    rows = [
        row("a1"),
        row("a2", person=PERSONS[1], kind="red_light", value=None),
        row("a3", kind="purchase", value="99.5", category="groceries"),
    ]
    report = file(store, write(tmp_path, fmt, rows))
    assert report.errors == [] and not report.rejected_whole
    receipt = report.receipt
    assert (receipt.accepted, receipt.duplicates, receipt.rejected) == (3, 0, 0)
    assert (receipt.first_seq, receipt.last_seq) == (1, 3)
    assert receipt.org == ORG and receipt.source.endswith(f"records.{fmt}")
    assert report.line_word == ("row" if fmt == "parquet" else "line")
    purchase = store.record(3)
    assert (purchase.kind, purchase.value, purchase.category) == ("purchase", 99.5, "groceries")
    assert purchase.occurred == dt.date(2024, 3, 1) and purchase.action is Action.FILE
    assert store.record(2).value is None
    assert term_seqs(store) == {1, 2, 3}

    more = file(store, write(tmp_path, fmt, [row("b1"), row("b2")], name="more"))
    assert more.receipt.batch > receipt.batch
    assert (more.receipt.first_seq, more.receipt.last_seq) == (receipt.last_seq + 1, 5)
    assert store.count_records() == store.max_seq() == 5


@BOTH_BACKENDS
def test_receipts_tile_the_ledger_across_formats(store, tmp_path):
    receipts = []
    for n, fmt in enumerate(FORMATS * 2):
        rows = [row(f"{n}-{i}") for i in range(n + 1)]
        receipts.append(file(store, write(tmp_path, fmt, rows, name=f"f{n}")).receipt)
    assert receipts[0].first_seq == 1
    for before, after in itertools.pairwise(receipts):
        assert after.batch > before.batch
        assert after.first_seq == before.last_seq + 1
        assert after.last_seq - after.first_seq + 1 == after.accepted
    assert receipts[-1].last_seq == store.count_records()


# rejected files ------------------------------------------------------------------------------
MIXED = [
    row("m1"),
    row("m2", occurred="2024-13-01"),
    row("m3", person=PERSONS[1]),
    row("m4", kind="teleport"),
    row("m5", value="-3", kind="loan_default"),
    row("m6", person=UNREGISTERED),
]
MIXED_BAD = {1: "occurred", 3: "kind", 4: "value", 5: "person"}
#: Rejected whole, a file says nothing of who is registered: the unregistered ID (row 5) is
#: only named when the rest of the row, and of the file, could be filed.
MIXED_BAD_WHOLE = {i: f for i, f in MIXED_BAD.items() if i != 5}


@BACKENDS_AND_FORMATS
def test_a_file_with_bad_rows_is_rejected_whole(store, tmp_path, fmt):
    file(store, write(tmp_path, fmt, [row("earlier")], name="earlier"))
    before = snapshot(store)
    report = file(store, write(tmp_path, fmt, MIXED))
    assert report.rejected_whole and report.receipt is None and report.accepted == 0
    assert snapshot(store) == before
    assert store.existing_refs(ORG, ["m1", "m3"]) == {}
    assert errors_at(report) == {line_of(fmt, i): {f} for i, f in MIXED_BAD_WHOLE.items()}
    assert report.bad_rows == len(MIXED_BAD_WHOLE) and report.rows == len(MIXED)
    # nothing was half-written: the next good file continues the sequence
    after = file(store, write(tmp_path, fmt, [row("later")], name="later"))
    assert after.receipt.first_seq == before[1] + 1


@BACKENDS_AND_FORMATS
def test_partial_files_only_the_good_rows(store, tmp_path, fmt):
    report = file(store, write(tmp_path, fmt, MIXED), partial=True)
    assert report.accepted == 2 and report.receipt.rejected == len(MIXED_BAD)
    assert errors_at(report) == {line_of(fmt, i): {f} for i, f in MIXED_BAD.items()}
    assert set(store.existing_refs(ORG, [r["ref"] for r in MIXED])) == {"m1", "m3"}
    assert (report.receipt.first_seq, report.receipt.last_seq) == (1, 2)
    assert term_seqs(store) == {1, 2}


# each error class ---------------------------------------------------------------------------
ROW_ERRORS = {
    "future date": (
        dict(occurred="2025-06-02"),
        "occurred",
        ["in the future", "today is 2025-06-01"],
    ),
    "impossible date": (dict(occurred="2024-02-30"), "occurred", ["expected YYYY-MM-DD"]),
    "unparseable date": (dict(occurred="yesterday"), "occurred", ["expected YYYY-MM-DD"]),
    "missing date": (dict(occurred=None), "occurred", ["required"]),
    "ancient date": (dict(occurred="1899-12-31"), "occurred", ["before 1900-01-01"]),
    "negative amount": (
        dict(kind="loan_default", value="-5"),
        "value",
        ["is negative", "at least 0.01 cny"],
    ),
    "value too large": (dict(value="251"), "value", ["at most 250 kmh_over", "speeding"]),
    "value too small": (
        dict(kind="payment_missed", value="0.5"),
        "value",
        ["at least 1 days_late"],
    ),
    "value not a number": (dict(value="fast"), "value", ["not a number"]),
    "value nan": (dict(value="nan"), "value", ["not a number"]),
    "missing value": (dict(value=None), "value", ["speeding needs a value in kmh_over"]),
    "value on unit-less kind": (
        dict(kind="red_light", value="3"),
        "value",
        ["red_light carries no value"],
    ),
    "unknown kind": (
        dict(kind="teleport"),
        "kind",
        ["unknown record kind 'teleport'", "expected one of", "speeding"],
    ),
    "special-category kind": (
        dict(kind="pregnancy_test", value=None),
        "kind",
        ["refused", "reproductive health"],
    ),
    "unvetted category": (
        dict(kind="purchase", category="widgets"),
        "category",
        ["'widgets' is not on the vetted list", "groceries"],
    ),
    "category on a non-purchase": (
        dict(category="groceries"),
        "category",
        ["only purchases carry a category"],
    ),
    "purchase without category": (dict(kind="purchase"), "category", ["purchases need a category"]),
    "unknown person": (dict(person=UNREGISTERED), "person", [UNFILEABLE]),
    "wrong check character": (
        dict(person=BAD_CHECK_ID),
        "person",
        [f"check character is {WRONG_CHECK!r}, expected {GOOD_CHECK!r}"],
    ),
    "short person id": (dict(person="1101011990"), "person", ["expected 18"]),
    "missing person": (dict(person=None), "person", ["required"]),
    "kind outside licence": (
        dict(kind="grade_point", value="3.5"),
        "kind",
        ["licensed for finance, traffic, commerce, not education"],
    ),
    "unknown action": (dict(action="delete"), "action", ["expected file, amend or retract"]),
    "target_ref on a file row": (
        dict(target_ref="a0"),
        "target_ref",
        ["only amend and retract rows name a target_ref"],
    ),
    "ref too long": (dict(ref="r" * 65), "ref", ["65 characters long", "at most 64"]),
}

REFUSED_CATEGORIES = {
    "medicine": "health",
    "contraceptives": "reproductive health and contraception",
    "pregnancy_tests": "reproductive health and contraception",
    "religious_goods": "religious or philosophical belief",
    "adult_goods": "sex life and sexual orientation",
    "political_donations": "political opinion",
}
for _category, _special in REFUSED_CATEGORIES.items():
    ROW_ERRORS[f"refused category {_category}"] = (
        dict(kind="purchase", category=_category),
        "category",
        [f"{_category!r} is refused", _special],
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(ROW_ERRORS))
def test_each_error_names_line_field_and_expectation(store, tmp_path, fmt, case):
    changes, field, fragments = ROW_ERRORS[case]
    rows = [row("a0"), row("a1", **changes), row("a2")]
    report = file(store, write(tmp_path, fmt, rows))
    error = only_error(report)
    assert (error.line, error.field) == (line_of(fmt, 1), field)
    for fragment in fragments:
        assert fragment in error.reason
    assert report.rejected_whole and store.count_records() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_repeated_ref_names_the_first_row(store, tmp_path, fmt):
    report = file(store, write(tmp_path, fmt, [row("a0"), row("dup"), row("a2"), row("dup")]))
    error = only_error(report)
    word = "row" if fmt == "parquet" else "line"
    assert (error.line, error.field) == (line_of(fmt, 3), "ref")
    assert f"repeats the ref of {word} {line_of(fmt, 1)}" in error.reason


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("column", ["religion", "age", "sex", "ethnicity", "diagnosis"])
def test_refused_columns_are_file_errors(store, tmp_path, fmt, column):
    path = write(tmp_path, fmt, [row("a0", **{column: "x"})])
    with pytest.raises(FileError, match=rf"column '{column}' is refused") as info:
        file(store, path)
    assert str(path) in str(info.value) and "expected columns person" in str(info.value)
    assert store.count_records() == 0


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("missing", ["person", "kind", "occurred", "ref"])
def test_a_missing_required_column_is_a_file_error(store, tmp_path, fmt, missing):
    good = row("a0")
    del good[missing]
    with pytest.raises(FileError, match=rf"missing required column\(s\) {missing}"):
        file(store, write(tmp_path, fmt, [good]))


def test_unknown_extension_and_absent_files(store, tmp_path):
    sheet = tmp_path / "records.xlsx"
    sheet.write_text("person,kind\n")
    with pytest.raises(FileError, match=r"unknown file type '\.xlsx'; expected \.csv, \.jsonl"):
        file(store, sheet)
    with pytest.raises(FileError, match="no such file"):
        file(store, tmp_path / "absent.csv")


def test_a_repeated_column_is_a_file_error(store, tmp_path):
    path = tmp_path / "records.csv"
    path.write_text(f"person,kind,occurred,ref,ref\n{PERSONS[0]},red_light,2024-01-01,a,b\n")
    with pytest.raises(FileError, match="column 'ref' appears more than once"):
        file(store, path)


def test_malformed_json_lines_are_row_errors(store, tmp_path):
    good = json.dumps(row("a0"))
    path = tmp_path / "records.jsonl"
    path.write_text(f'{good}\n{{"person": "x",\n\n[1, 2]\n{json.dumps(row("a1"))}\n')
    report = file(store, path, partial=True)
    assert errors_at(report) == {2: {"(row)"}, 4: {"(row)"}}
    assert "not valid JSON" in report.errors[0].reason
    assert "expected a JSON object per line" in report.errors[1].reason
    assert report.accepted == 2 and report.rows == 4


def test_json_lines_that_are_not_utf8_are_row_errors(store, tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_bytes(json.dumps(row("a0")).encode() + b'\n{"person": "\xff"}\n')
    error = only_error(file(store, path))
    assert (error.line, error.field) == (2, "(row)") and "not UTF-8" in error.reason


def test_csv_rows_with_the_wrong_number_of_fields(store, tmp_path):
    path = tmp_path / "records.csv"
    p = PERSONS[0]
    path.write_text(
        f"person,kind,occurred,ref\n{p},red_light,2024-01-01,a\n"
        f"{p},red_light,2024-01-01\n{p},red_light,2024-01-01,c,extra\n"
        f"{p},red_light,2024-01-01,d\n"
    )
    report = file(store, path, partial=True)
    assert [(e.line, e.field) for e in report.errors] == [(3, "(row)"), (4, "(row)")]
    assert "expected 4 fields, found 3" in report.errors[0].reason
    assert "expected 4 fields, found 5" in report.errors[1].reason
    assert report.accepted == 2 and report.receipt.rejected == 2


def test_csv_line_numbers_survive_blank_lines_and_quoted_line_breaks(store, tmp_path):
    p = PERSONS[0]
    path = tmp_path / "records.csv"
    path.write_text(
        "person,kind,occurred,ref\n"  # 1
        f"{p},red_light,2024-01-01,a\n"  # 2
        "\n"  # 3: blank
        f'{p},red_light,2024-01-01,"b\nc"\n'  # 4-5: a quote left open on line 4
        f"{p},red_light,2024-02-30,d\n"  # 6: bad date
        "\n\n"  # 7-8
        f"{p},red_light,2024-01-01\n"  # 9: too few fields
        f"{p},teleport,2024-01-01,NA\n"  # 10: unknown kind; "NA" is a ref, not missing
    )
    report = file(store, path)
    # a record is one line: the open quote is line 4's error, and line 5 is read on its own
    assert errors_at(report) == {
        4: {"(row)"},
        5: {"(row)"},
        6: {"occurred"},
        9: {"(row)"},
        10: {"kind"},
    }


def test_csv_with_a_byte_order_mark_and_crlf(store, tmp_path):
    path = tmp_path / "records.csv"
    text = f"person,kind,occurred,ref\r\n{PERSONS[0]},red_light,2024-01-01,a\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert file(store, path).accepted == 1


def test_csv_that_is_not_utf8_names_the_line(store, tmp_path):
    path = tmp_path / "records.csv"
    path.write_bytes(
        f"person,kind,occurred,ref\n{PERSONS[0]},red_light,2024-01-01,".encode() + b"caf\xe9\n"
    )
    with pytest.raises(FileError, match="line 2 is not UTF-8 text"):
        file(store, path)


# providers ----------------------------------------------------------------------------------
def test_an_unregistered_provider_is_refused(store, tmp_path):
    path = write(tmp_path, "csv", [row("a0")])
    with pytest.raises(ProviderError, match=rf"{OTHER_ORG} is not registered") as info:
        ingest_file(store, path, OTHER_ORG, today=TODAY)
    assert str(path) in str(info.value)


def test_an_invalid_provider_code_says_what_was_expected(store, tmp_path):
    path = write(tmp_path, "csv", [row("a0")])
    bad = ORG[:17] + ("0" if ORG[17] != "0" else "1")
    with pytest.raises(InvalidIdentifier, match=rf"check character is '{bad[17]}', expected"):
        ingest_file(store, path, bad, today=TODAY)
    with pytest.raises(InvalidIdentifier, match="expected 18"):
        ingest_file(store, path, "BANK", today=TODAY)


@BOTH_BACKENDS
def test_another_providers_refs_are_its_own(store, tmp_path):
    store.add_organisation(Organisation(OTHER_ORG, "Other Bank", ("traffic",)))
    path = write(tmp_path, "csv", [row("a0")])
    file(store, path)
    other = ingest_file(store, path, OTHER_ORG, today=TODAY)
    assert other.accepted == 1 and other.duplicates == 0
    assert store.count_records() == 2


# idempotency ------------------------------------------------------------------------------
@BACKENDS_AND_FORMATS
def test_filing_the_same_file_twice_writes_nothing_new(store, tmp_path, fmt):
    rows = [
        row("a0"),
        row("a1", kind="red_light", value=None),
        row("a2", kind="purchase", value="10.10", category="books"),
    ]
    path = write(tmp_path, fmt, rows)
    first = file(store, path)
    before = snapshot(store)[:2], term_seqs(store)
    again = file(store, path)
    assert again.errors == [] and again.duplicates == 3
    assert again.accepted == 0 and again.receipt is None  # no empty batch
    assert (snapshot(store)[:2], term_seqs(store)) == before
    assert first.receipt.accepted == 3


def test_the_same_records_in_another_format_are_duplicates(store, tmp_path):
    rows = [row("a0"), row("a1", kind="purchase", value="10.1", category="books")]
    file(store, write(tmp_path, "csv", rows))
    for fmt in ("jsonl", "parquet"):
        report = file(store, write(tmp_path, fmt, rows))
        assert (report.duplicates, report.accepted, report.errors) == (2, 0, [])
    assert store.count_records() == 2


@BACKENDS_AND_FORMATS
def test_a_reused_ref_with_new_content_asks_for_an_amendment(store, tmp_path, fmt):
    file(store, write(tmp_path, fmt, [row("a0"), row("a1")], name="first"))
    before = snapshot(store)
    report = file(store, write(tmp_path, fmt, [row("a0"), row("a1", value="13")], name="second"))
    error = only_error(report)
    assert (error.line, error.field) == (line_of(fmt, 1), "ref")
    assert "'a1' was already filed as record 2 with different content" in error.reason
    assert "file an amend row with target_ref" in error.reason
    assert snapshot(store) == before


@BOTH_BACKENDS
def test_partial_refiling_counts_duplicates_and_adds_the_new(store, tmp_path):
    file(store, write(tmp_path, "csv", [row("a0"), row("a1")], name="first"))
    report = file(
        store,
        write(tmp_path, "csv", [row("a0"), row("a1"), row("a2"), row("a3", kind="teleport")]),
        partial=True,
    )
    assert (report.duplicates, report.accepted, report.receipt.rejected) == (2, 1, 1)
    assert (report.receipt.first_seq, report.receipt.last_seq) == (3, 3)


# corrections --------------------------------------------------------------------------------
@pytest.fixture
def filed(store, tmp_path):
    """Three records: f1 and f2 about PERSONS[0], f3 about PERSONS[1]."""
    rows = [
        row("f1"),
        row("f2", kind="red_light", value=None),
        row("f3", person=PERSONS[1], kind="purchase", value="20", category="books"),
    ]
    report = file(store, write(tmp_path, "csv", rows, name="filed"))
    assert report.receipt.last_seq == 3
    return store


def amend(ref: str, target: str, **changes: str | None) -> dict[str, str | None]:
    return row(ref, action="amend", target_ref=target, **changes)


def retract(ref: str, target: str) -> dict[str, str | None]:
    return {
        "person": None,
        "kind": None,
        "occurred": None,
        "ref": ref,
        "value": None,
        "action": "retract",
        "target_ref": target,
    }


@BACKENDS_AND_FORMATS
def test_amend_and_retract_correct_earlier_records(filed, tmp_path, fmt):
    store = filed
    rows = [amend("c1", "f1", value="15"), retract("c2", "f3")]
    report = file(store, write(tmp_path, fmt, rows, name="corrections"))
    assert report.errors == [] and report.receipt.accepted == 2
    amendment, retraction = store.record(4), store.record(5)
    assert (amendment.action, amendment.target, amendment.value) == (Action.AMEND, 1, 15.0)
    assert (retraction.action, retraction.target) == (Action.RETRACT, 3)
    # a retraction carries what it retracts
    assert (retraction.person, retraction.kind, retraction.category) == (
        PERSONS[1],
        "purchase",
        "books",
    )
    assert (store.corrected_by(1), store.corrected_by(3), store.corrected_by(2)) == (4, 5, None)
    assert term_seqs(store) == {2, 4}  # corrected records no longer count

    again = file(store, write(tmp_path, fmt, rows, name="corrections"))
    assert (again.duplicates, again.accepted, again.errors) == (2, 0, [])
    assert store.count_records() == 5


def _refused(store, tmp_path, rows, line, field, fragment, name="bad"):
    before = snapshot(store)
    error = only_error(file(store, write(tmp_path, "csv", rows, name=name)))
    assert (error.line, error.field) == (line, field)
    assert fragment in error.reason
    assert snapshot(store) == before


@BOTH_BACKENDS
def test_a_record_is_corrected_only_once(filed, tmp_path):
    file(filed, write(tmp_path, "csv", [amend("c1", "f1", value="15")], name="c1"))
    _refused(
        filed,
        tmp_path,
        [amend("c2", "f1", value="16")],
        2,
        "target_ref",
        "'f1' (record 1) was already corrected by record 4; correct that one instead",
    )
    # the amendment itself may be corrected
    assert file(filed, write(tmp_path, "csv", [amend("c3", "c1", value="16")])).accepted == 1


def test_two_corrections_of_one_record_in_one_file(filed, tmp_path):
    rows = [amend("c1", "f1", value="15"), retract("c2", "f1")]
    _refused(filed, tmp_path, rows, 3, "target_ref", "line 2 already corrects 'f1'")


def test_a_retraction_cannot_be_corrected(filed, tmp_path):
    file(filed, write(tmp_path, "csv", [retract("x1", "f2")], name="x1"))
    _refused(
        filed,
        tmp_path,
        [retract("x2", "x1")],
        2,
        "target_ref",
        "'x1' is itself a retraction and cannot be corrected",
    )
    _refused(
        filed,
        tmp_path,
        [amend("x3", "x1")],
        2,
        "target_ref",
        "'x1' is itself a retraction",
        name="bad2",
    )


def test_a_correction_cannot_name_a_ref_in_the_same_file(filed, tmp_path):
    rows = [row("n1"), amend("n2", "n1", value="20")]
    _refused(
        filed,
        tmp_path,
        rows,
        3,
        "target_ref",
        "names 'n1', filed in this same file; file corrections in a later batch",
    )


@BOTH_BACKENDS
def test_a_correction_cannot_move_a_record_to_another_person(filed, tmp_path):
    _refused(
        filed,
        tmp_path,
        [amend("c1", "f1", person=PERSONS[2])],
        2,
        "person",
        f"cannot move a record to another person ('f1' is about {PERSONS[0]})",
    )
    wrong = retract("c2", "f3") | {"person": PERSONS[0]}
    _refused(filed, tmp_path, [wrong], 2, "person", "cannot move a record", name="bad2")


def test_a_correction_needs_a_known_target(filed, tmp_path):
    _refused(
        filed,
        tmp_path,
        [amend("c1", None)],
        2,
        "target_ref",
        "amend needs the ref of the record it corrects",
    )
    _refused(
        filed,
        tmp_path,
        [amend("c2", "nope")],
        2,
        "target_ref",
        f"no record filed by {ORG} has ref 'nope'",
        name="bad2",
    )


def test_a_target_ref_on_a_plain_row_is_refused(filed, tmp_path):
    _refused(
        filed,
        tmp_path,
        [row("p1", target_ref="f1")],
        2,
        "target_ref",
        "only amend and retract rows name a target_ref",
    )


def test_a_reused_ref_cannot_turn_into_a_correction(filed, tmp_path):
    _refused(
        filed,
        tmp_path,
        [amend("f2", "f1")],
        2,
        "ref",
        "'f2' was already filed as record 2 with different content",
    )


# property: all or nothing, exactly the good rows, nothing lost or doubled ------------------------
GOOD_ROWS = [
    dict(),
    dict(kind="red_light", value=None),
    dict(kind="purchase", value="12.5", category="groceries"),
    dict(kind="loan_default", value="5000", person=PERSONS[1]),
]
BAD_ROWS = [
    dict(occurred="2024-13-01"),
    dict(occurred="2023-02-29"),
    dict(value="nan"),
    dict(occurred="2030-01-01"),
    dict(kind="loan_default", value="-5"),
    dict(kind="pregnancy_test", value=None),
    dict(person=UNREGISTERED),
    dict(person=BAD_CHECK_ID),
    dict(kind="purchase", value="10", category="medicine"),
    dict(kind="grade_point", value="3"),
    dict(kind="red_light", value="3"),
]

mixes = st.lists(
    st.tuples(st.booleans(), st.integers(0, len(GOOD_ROWS) - 1), st.integers(0, len(BAD_ROWS) - 1)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(mix=mixes, fmt=st.sampled_from(FORMATS))
def test_property_all_or_nothing_and_exactly_the_good_rows(template, mix, fmt):
    rows = [
        row(f"h{i}", **(BAD_ROWS[b] if bad else GOOD_ROWS[g])) for i, (bad, g, b) in enumerate(mix)
    ]
    good_refs = {r["ref"] for r, (bad, _, _) in zip(rows, mix, strict=True) if not bad}
    bad_lines = {line_of(fmt, i) for i, (bad, _, _) in enumerate(mix) if bad}
    # rejected whole for other reasons, a file does not say who is unregistered
    unregistered = {line_of(fmt, i) for i, (bad, _, b) in enumerate(mix) if bad and b == 6}
    whole_lines = bad_lines - unregistered if bad_lines - unregistered else bad_lines
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(template, Path(directory))
        try:
            path = write(Path(directory), fmt, rows)
            whole = file(store, path)
            assert {e.line for e in whole.errors} == whole_lines  # (d)
            if bad_lines:  # (a)
                assert whole.rejected_whole and store.count_records() == 0
                assert batches(store) == 0 and term_seqs(store) == set()
            else:
                assert whole.accepted == len(rows)

            partial = file(store, path, partial=True)
            assert {e.line for e in partial.errors} == bad_lines
            ledger = set(store.existing_refs(ORG, [r["ref"] for r in rows]))
            assert ledger == good_refs and store.count_records() == len(good_refs)  # (b)
            assert len(term_seqs(store)) == len(good_refs)

            for partial_mode in (True, False, True):  # (c)
                again = file(store, path, partial=partial_mode)
                assert store.count_records() == len(good_refs)
                assert again.accepted == 0
                if partial_mode or not bad_lines:
                    assert again.duplicates == len(good_refs)
            assert store.max_seq() == len(good_refs)
        finally:
            store.close()
