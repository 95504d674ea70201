"""Reading provider files (CSV, JSON Lines, Parquet) into one column layout, keeping line numbers.

Every value is read as it was written (text from CSV and JSON Lines, typed from Parquet) so that
validation (:mod:`opencredit.ledger.ingest`) can say exactly what was wrong where. A row that
cannot be read at all (a CSV row with the wrong number of fields, a JSON line that is not an
object) becomes a :class:`RowError` instead of stopping the read.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opencredit.errors import OpenCreditError

REQUIRED_COLUMNS = ("person", "kind", "occurred", "ref")
OPTIONAL_COLUMNS = ("value", "category", "action", "target_ref")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one row: where (line or row number), which field, and why."""

    line: int
    field: str
    reason: str
    value: str | None = None


@dataclass
class RawRows:
    """A file's rows as read: ``table`` holds COLUMNS, ``lines`` each row's line number."""

    source: str
    table: pa.Table
    lines: list[int]
    errors: list[RowError]
    line_word: str  # "line" for text files, "row" for Parquet


class FileError(OpenCreditError):
    """A file that cannot be ingested at all (missing, unknown format, wrong columns)."""


def read_rows(path: str | Path) -> RawRows:
    """Read a provider file; the format is chosen by its extension."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FileError(
            f"{path}: unknown file type {path.suffix!r}; expected .csv, .jsonl or .parquet"
        )
    if not path.is_file():
        raise FileError(f"{path}: no such file")
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
    return reader(path)


def _check_columns(path: Path, names: list[str]) -> None:
    from opencredit.catalog import person_attribute_in, special_category_of

    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileError(
            f"{path}: column {repeated[0]!r} appears more than once; expected each column once"
        )
    for name in names:
        if name in COLUMNS:
            continue
        attribute = person_attribute_in(name)
        special = special_category_of(name)
        if attribute:
            why = f"it is the person attribute {attribute!r}, which is never filed as conduct"
        elif special:
            why = f"it reveals {special}, special-category data that opencredit refuses"
        else:
            why = "not part of the record format"
        raise FileError(
            f"{path}: column {name!r} is refused: {why}; expected columns "
            f"{', '.join(REQUIRED_COLUMNS)} and optionally "
            f"{', '.join(OPTIONAL_COLUMNS)}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileError(
            f"{path}: missing required column(s) {', '.join(missing)}; the columns "
            f"are {', '.join(REQUIRED_COLUMNS)} and optionally "
            f"{', '.join(OPTIONAL_COLUMNS)}"
        )


def _complete(table: pa.Table) -> pa.Table:
    """Add absent optional columns as nulls and order the columns."""
    n = table.num_rows
    cols = {}
    for name in COLUMNS:
        cols[name] = table.column(name) if name in table.column_names else pa.nulls(n, pa.string())
    return pa.table(cols)


def _read_csv(path: Path) -> RawRows:
    data = path.read_bytes()
    try:
        # A spreadsheet's byte-order mark is not part of the first column's name.
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            f"{path}: line {line} is not UTF-8 text ({exc.reason}); expected a "
            "CSV file saved as UTF-8"
        ) from exc
    header = next(csv.reader([text[: text.find("\n") + 1 or None]]), None)
    if not header:
        raise FileError(f"{path}: empty file; expected a header line naming the columns")
    header = [h.strip() for h in header]
    _check_columns(path, header)
    fast = _read_csv_fast(data, header)
    if fast is not None:
        table, lines = fast
        return RawRows(str(path), _complete(table), lines, [], "line")
    return _read_csv_exactly(path, text, header)


def _read_csv_fast(data: bytes, header: list[str]) -> tuple[pa.Table, list[int]] | None:
    """Parse with Arrow when every line after the header is one row; else None.

    Arrow does not say which line a row came from. When no row was malformed, no value holds a
    line break and the file has exactly one line per row, row ``i`` is on line ``i + 2``;
    otherwise (blank lines, quoted line breaks, bad rows) the exact reader is used.
    """
    malformed = []

    def bad_row(row: pacsv.InvalidRow) -> str:
        malformed.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(invalid_row_handler=bad_row, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                # Only an empty field is missing: "NA" or "null" may be someone's ref.
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid:
        return None
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if malformed or physical != table.num_rows + 1:
        return None
    if b'"' in data:  # only a quoted value can hold a line break
        for column in table.columns:
            for brk in ("\n", "\r"):
                if pc.any(pc.match_substring(column, brk)).as_py():
                    return None
    return table, list(range(2, table.num_rows + 2))


def _read_csv_exactly(path: Path, text: str, header: list[str]) -> RawRows:
    """Parse row by row, keeping each row's first line; a row with the wrong field count
    becomes a :class:`RowError`. Blank lines are skipped."""
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    end = 0
    try:
        next(reader)  # the header, already read
        end = reader.line_num
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                errors.append(
                    RowError(
                        start,
                        "(row)",
                        f"expected {width} fields, found {len(row)}",
                        ",".join(row)[:200],
                    )
                )
                continue
            lines.append(start)
            for values, value in zip(columns, row, strict=True):
                values.append(value if value != "" else None)
    except csv.Error as exc:
        raise FileError(f"{path}: line {end + 1} cannot be read as CSV: {exc}") from exc
    table = pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )
    return RawRows(str(path), _complete(table), lines, errors, "line")


def _read_jsonl(path: Path) -> RawRows:
    rows: list[dict] = []
    lines: list[int] = []
    errors: list[RowError] = []
    seen_columns: set[str] = set()
    with path.open("rb") as fh:
        for number, data in enumerate(fh, start=1):
            try:
                text = data.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                errors.append(
                    RowError(
                        number,
                        "(row)",
                        f"not UTF-8 text ({exc.reason})",
                        data[:200].decode("utf-8", "replace"),
                    )
                )
                continue
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                errors.append(RowError(number, "(row)", f"not valid JSON: {exc.msg}", text[:200]))
                continue
            if not isinstance(obj, dict):
                errors.append(
                    RowError(number, "(row)", "expected a JSON object per line", text[:200])
                )
                continue
            seen_columns.update(obj)
            rows.append(obj)
            lines.append(number)
    _check_columns(path, sorted(seen_columns) or list(REQUIRED_COLUMNS))
    cols = {}
    for name in COLUMNS:
        values = [row.get(name) for row in rows]
        if name == "value":
            cols[name] = _mixed_values(values)
        else:
            cols[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return RawRows(str(path), pa.table(cols), lines, errors, "line")


def _mixed_values(values: list) -> pa.Array:
    """JSON values may be numbers or text; keep both as text for validation to parse."""
    return pa.array(
        [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values],
        pa.string(),
    )


def _read_parquet(path: Path) -> RawRows:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileError(f"{path}: cannot be read as Parquet: {exc}") from exc
    _check_columns(path, table.column_names)
    table = _complete(table)
    return RawRows(str(path), table, list(range(1, table.num_rows + 1)), [], "row")
