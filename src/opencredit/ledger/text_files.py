"""CSV and JSON Lines, read strictly: one record per line, and every line read on its own.

A record's values never hold a line break, so a line is a row: a quote left open at the end of
a line is that line's error, never a field that swallows the next row. A line longer than
:data:`MAX_LINE_BYTES` is refused without being parsed. In JSON Lines an object is flat (text
or numbers, no nested objects or arrays), a key appears once (a later one would otherwise hide
an earlier one), and text fields are JSON strings. See docs/ledger.md.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from opencredit.ledger.files import (
    COLUMNS,
    REQUIRED_COLUMNS,
    FileError,
    RawRows,
    RowError,
    check_columns,
    complete,
)

#: The longest line a records file may have. A record is a few short fields (the longest, a
#: ref, is 64 characters): this leaves room for padding and quoting, not for a stray quote
#: that ran to the end of the file.
MAX_LINE_BYTES = 8192
_SHOWN = 200  # characters of a bad line shown in its error


def read_csv(data: bytes, source: str) -> RawRows:
    """Rows of a CSV file whose first line names the columns."""
    try:
        # A spreadsheet's byte-order mark is not part of the first column's name.
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            f"{source}: line {line} is not UTF-8 text ({exc.reason}); expected a "
            "CSV file saved as UTF-8"
        ) from exc
    if not text.strip():
        raise FileError(f"{source}: empty file; expected a header line naming the columns")
    lengths = _line_lengths(data)
    first = text.split("\n", 1)[0].removesuffix("\r")
    if lengths[0] > MAX_LINE_BYTES:
        raise FileError(f"{source}: line 1 is {lengths[0]:,} bytes long; {_LONG}")
    try:
        header = [h.strip() for h in _one_line(first)]
    except csv.Error as exc:
        raise FileError(f"{source}: line 1 (the header) cannot be read as CSV: {exc}") from None
    check_columns(source, header)
    fast = None
    if b'"' not in data and lengths.max() <= MAX_LINE_BYTES:
        fast = _read_csv_fast(data, header, len(lengths))
    if fast is not None:
        return RawRows(source, complete(fast), list(range(2, fast.num_rows + 2)), [], "line")
    return _read_csv_by_line(source, text, header)


_LONG = f"a line of a records file is at most {MAX_LINE_BYTES:,} bytes (a quote left open?)"


def _line_lengths(data: bytes) -> np.ndarray:
    """Bytes in each line (without its line break), the last line included if unterminated."""
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    ends = np.append(breaks, len(data)) if not data.endswith(b"\n") else breaks
    starts = np.concatenate(([0], breaks + 1))[: len(ends)]
    return ends - starts


def _one_line(line: str) -> list[str]:
    """The fields of one line; a quote left open, or a stray line break, is a csv.Error."""
    return next(csv.reader([line], strict=True), [])


def _read_csv_fast(data: bytes, header: list[str], physical: int) -> pa.Table | None:
    """With no quote in the file, Arrow reads it with quoting off: a row per line, nothing to
    open or close. Used when it gives exactly one row per line after the header; else None
    (blank lines, a wrong number of fields) and each line is read on its own."""
    malformed = []

    def bad_row(row: pacsv.InvalidRow) -> str:
        malformed.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(quote_char=False, invalid_row_handler=bad_row),
            convert_options=pacsv.ConvertOptions(
                # Only an empty field is missing: "NA" or "null" may be someone's ref.
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid:
        return None
    if malformed or table.num_rows != physical - 1 or b"\r" in data.replace(b"\r\n", b""):
        return None  # a lone carriage return: Arrow breaks the line there, Python does not
    return table


def _read_csv_by_line(source: str, text: str, header: list[str]) -> RawRows:
    """Parse each line on its own, keeping its number; a line that is not one row of the
    header's width becomes a :class:`RowError`. Blank lines are skipped."""
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    errors: list[RowError] = []
    for number, line in enumerate(text.split("\n")[1:], start=2):
        line = line.removesuffix("\r")
        if not line:
            continue
        size = len(line.encode("utf-8"))
        if size > MAX_LINE_BYTES:
            errors.append(RowError(number, "(row)", f"is {size:,} bytes long; {_LONG}"))
            continue
        try:
            row = _one_line(line)
        except csv.Error as exc:
            why = f"cannot be read as CSV ({exc}); a quoted value must close on its own line"
            errors.append(RowError(number, "(row)", why, line[:_SHOWN]))
            continue
        if len(row) != width:
            why = f"expected {width} fields, found {len(row)}"
            errors.append(RowError(number, "(row)", why, line[:_SHOWN]))
            continue
        lines.append(number)
        for values, value in zip(columns, row, strict=True):
            values.append(value if value != "" else None)
    table = pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )
    return RawRows(source, complete(table), lines, errors, "line")


# JSON Lines --------------------------------------------------------------------------------
class _Number(str):
    """A JSON number kept as written (``12.50``, ``1e400``), so validation reads it as text."""

    __slots__ = ()


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, object]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_Number, parse_float=_Number, parse_constant=_Number
)


def read_jsonl(data: bytes, source: str) -> RawRows:
    """Rows of a JSON Lines file: one flat JSON object per line."""
    rows: list[dict] = []
    lines: list[int] = []
    errors: list[RowError] = []
    seen_columns: set[str] = set()
    for number, line in enumerate(data.split(b"\n"), start=1):
        obj = _json_line(number, line, errors)
        if obj is None:
            continue
        seen_columns.update(obj)
        rows.append(obj)
        lines.append(number)
    check_columns(source, sorted(seen_columns) or list(REQUIRED_COLUMNS))
    cols = {}
    for name in COLUMNS:
        values = [row.get(name) for row in rows]
        cols[name] = pa.array(values, pa.string())
    return RawRows(source, pa.table(cols), lines, errors, "line")


def _json_line(number: int, data: bytes, errors: list[RowError]) -> dict | None:
    """Line ``number`` as a flat object of text (numbers as written), or None: blank, or an
    error added to ``errors``."""
    if len(data) > MAX_LINE_BYTES:
        errors.append(RowError(number, "(row)", f"is {len(data):,} bytes long; {_LONG}"))
        return None
    try:
        text = data.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        shown = data[:_SHOWN].decode("utf-8", "replace")
        errors.append(RowError(number, "(row)", f"not UTF-8 text ({exc.reason})", shown))
        return None
    if not text.strip():
        return None
    try:
        obj = _DECODER.decode(text)
    except _DuplicateKey as exc:
        errors.append(
            RowError(
                number,
                str(exc)[:80],
                "appears more than once in this object; expected each key once",
                text[:_SHOWN],
            )
        )
        return None
    except json.JSONDecodeError as exc:
        errors.append(RowError(number, "(row)", f"not valid JSON: {exc.msg}", text[:_SHOWN]))
        return None
    except RecursionError:
        why = "not a flat JSON object: nested too deeply"
        errors.append(RowError(number, "(row)", why, text[:_SHOWN]))
        return None
    if not isinstance(obj, dict):
        errors.append(RowError(number, "(row)", "expected a JSON object per line", text[:_SHOWN]))
        return None
    bad = False
    for key, value in obj.items():
        why = _json_value_problem(key, value)
        if why:
            shown = json.dumps(value)[:_SHOWN] if not isinstance(value, str) else value[:_SHOWN]
            errors.append(RowError(number, key[:80], why, shown))
            bad = True
    return None if bad else obj


def _json_value_problem(key: str, value: object) -> str | None:
    """Why ``value`` cannot be the field ``key`` of a record, or None."""
    if value is None or type(value) is str:
        return None
    if isinstance(value, _Number):
        return None if key == "value" else "expected text (a JSON string), found a number"
    if isinstance(value, bool):
        return (
            f"expected {'a number or ' if key == 'value' else ''}text, found {str(value).lower()}"
        )
    what = "an object" if isinstance(value, dict) else "an array"
    return f"expected {'a number or ' if key == 'value' else ''}text, found {what}"
