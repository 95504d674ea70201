"""Reading provider files (CSV, JSON Lines, Parquet) into one column layout, keeping line numbers.

Every value is read as it was written (text from CSV and JSON Lines, typed from Parquet) so that
validation (:mod:`opencredit.ledger.ingest`) can say exactly what was wrong where. A row that
cannot be read at all (a CSV line with an open quote or the wrong number of fields, a JSON line
that is not one flat object) becomes a :class:`RowError` instead of stopping the read; a file
that cannot be read at all raises :class:`FileError`. The text formats are read line by line
and strictly (:mod:`opencredit.ledger.text_files`); the rules are in docs/ledger.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
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


def file_format(name: str) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from a file name's extension."""
    suffix = Path(name).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise FileError(f"{name}: unknown file type {suffix!r}; expected .csv, .jsonl or .parquet")
    return fmt


def read_rows(path: str | Path) -> RawRows:
    """Read a provider file; the format is chosen by its extension."""
    path = Path(path)
    fmt = file_format(str(path))
    if not path.is_file():
        raise FileError(f"{path}: no such file")
    if fmt == "parquet":
        return _read_parquet(pa.memory_map(str(path)), str(path))
    return read_data(path.read_bytes(), str(path))


def read_data(data: bytes, source: str) -> RawRows:
    """Read a provider file's bytes (an upload, say); ``source`` names it in every message and
    its extension gives the format."""
    fmt = file_format(source)
    if fmt == "parquet":
        return _read_parquet(pa.BufferReader(data), source)
    from opencredit.ledger import text_files

    reader = text_files.read_csv if fmt == "csv" else text_files.read_jsonl
    return reader(data, source)


def check_columns(source: str, names: list[str]) -> None:
    """Refuse repeated, unknown, person-attribute and special-category columns, and missing
    required ones; the error names the column and what was expected."""
    from opencredit.catalog import person_attribute_in, special_category_of

    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FileError(
            f"{source}: column {repeated[0]!r} appears more than once; expected each column once"
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
            f"{source}: column {name[:80]!r} is refused: {why}; expected columns "
            f"{', '.join(REQUIRED_COLUMNS)} and optionally "
            f"{', '.join(OPTIONAL_COLUMNS)}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileError(
            f"{source}: missing required column(s) {', '.join(missing)}; the columns "
            f"are {', '.join(REQUIRED_COLUMNS)} and optionally "
            f"{', '.join(OPTIONAL_COLUMNS)}"
        )


def complete(table: pa.Table) -> pa.Table:
    """Add absent optional columns as nulls and order the columns."""
    n = table.num_rows
    cols = {}
    for name in COLUMNS:
        cols[name] = table.column(name) if name in table.column_names else pa.nulls(n, pa.string())
    return pa.table(cols)


def _read_parquet(source_file: pa.NativeFile, source: str) -> RawRows:
    try:
        table = pq.read_table(source_file)
    except (pa.ArrowException, OSError) as exc:
        raise FileError(f"{source}: cannot be read as Parquet: {_short(exc)}") from exc
    check_columns(source, table.column_names)
    columns = {name: _flat_column(source, name, table.column(name)) for name in table.column_names}
    table = complete(pa.table(columns))
    return RawRows(source, table, list(range(1, table.num_rows + 1)), [], "row")


def _flat_column(source: str, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A Parquet column as one of the types validation reads (text, number, date): nested
    columns are refused, dictionaries decoded, binary columns decoded as UTF-8."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            return column.cast(pa.string())
        except pa.ArrowInvalid:
            for number, value in enumerate(column.to_pylist(), start=1):
                try:
                    None if value is None else value.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise FileError(
                        f"{source}: row {number}, column {name!r} is not UTF-8 text "
                        f"({exc.reason}); expected text"
                    ) from None
            raise
    plain = (
        pa.types.is_null(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_date(kind)
        or pa.types.is_timestamp(kind)
    )
    if not plain:
        raise FileError(
            f"{source}: column {name!r} has type {kind}; expected text, a number or a date "
            "(records are flat: no lists, structs or maps)"
        )
    return column


def _short(exc: BaseException) -> str:
    """An exception's message, first line only and bounded."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
