"""Reading a provider file chunk by chunk, so that a file of any size is filed in bounded memory.

:func:`read_chunks` yields the rows of a CSV, JSON Lines or Parquet file as :class:`RawRows`
of at most about :data:`CHUNK_ROWS` rows (text files are cut at line breaks every
:data:`CHUNK_BYTES` bytes), each with the true line (or row) numbers of its rows and the read
errors of its lines. Each chunk is read by the very functions that read a whole file
(:mod:`opencredit.ledger.text_files`, :mod:`opencredit.ledger.files`), so a file reads the same
in one chunk or in many; :mod:`opencredit.ledger.ingest` validates and files the chunks in one
transaction (docs/ledger.md, "Filing a large file").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from opencredit.ledger import text_files
from opencredit.ledger.files import (
    COLUMNS,
    REQUIRED_COLUMNS,
    FileError,
    RawRows,
    RowError,
    _flat_column,
    _short,
    check_columns,
    complete,
    file_format,
)

#: Rows validated and written at a time: large enough that per-chunk costs (a few queries)
#: vanish, small enough that a chunk's Arrow columns and masks stay within tens of megabytes.
CHUNK_ROWS = 100_000
#: Bytes of a text file read at a time (about CHUNK_ROWS records of ~80 bytes); a chunk
#: always ends at a line break.
CHUNK_BYTES = 8 << 20


def read_chunks(
    path: str | Path, chunk_rows: int | None = None, chunk_bytes: int | None = None
) -> Iterator[RawRows]:
    """The rows of the file at ``path`` in chunks (the format by its extension). A file that
    cannot be read at all raises :class:`FileError`, possibly after earlier chunks."""
    path = Path(path)
    fmt = file_format(str(path))
    if not path.is_file():
        raise FileError(f"{path}: no such file")
    rows = chunk_rows or CHUNK_ROWS
    size = chunk_bytes or CHUNK_BYTES
    if fmt == "parquet":
        yield from _parquet_chunks(path, rows)
        return
    with path.open("rb") as fh:
        if fmt == "csv":
            yield from _csv_chunks(fh, str(path), size)
        else:
            yield from _jsonl_chunks(fh, str(path), size)


def chunks_of(raw: RawRows, chunk_rows: int | None = None) -> Iterator[RawRows]:
    """Rows already read (an upload, say) in chunks of at most ``chunk_rows``; read errors go
    with the chunk of their line."""
    rows = chunk_rows or CHUNK_ROWS
    n = raw.table.num_rows
    if n <= rows:
        yield raw
        return
    errors = sorted(raw.errors, key=lambda e: e.line)
    taken = 0
    for start in range(0, n, rows):
        lines = raw.lines[start : start + rows]
        last = raw.lines[start + rows] if start + rows < n else None
        mine = []
        while taken < len(errors) and (last is None or errors[taken].line < last):
            mine.append(errors[taken])
            taken += 1
        yield RawRows(raw.source, raw.table.slice(start, rows), lines, mine, raw.line_word)
    if taken < len(errors):  # errors after the last row
        yield RawRows(raw.source, raw.table.slice(0, 0), [], errors[taken:], raw.line_word)


# text files ----------------------------------------------------------------------------------
def _line_blocks(fh: BinaryIO, size: int) -> Iterator[tuple[int, bytes, list[RowError]]]:
    """``(first line number, whole lines, errors)`` blocks of about ``size`` bytes. A line
    longer than :data:`text_files.MAX_LINE_BYTES` that does not fit a block is not held: it
    becomes an error of its own and a blank line in the block (blank lines are skipped)."""
    number = 1  # of the first line in ``pending``
    pending = b""
    errors: list[RowError] = []
    skipping: int | None = None  # bytes so far of a line too long to hold
    while data := fh.read(size):
        if skipping is not None:
            end = data.find(b"\n")
            if end < 0:
                skipping += len(data)
                continue
            errors.append(_too_long(number, skipping + end))
            pending, data, skipping = b"\n", data[end + 1 :], None  # that line, blank
        pending += data
        cut = pending.rfind(b"\n")
        if cut >= 0:
            block, pending = pending[: cut + 1], pending[cut + 1 :]
            yield number, block, errors
            number += block.count(b"\n")
            errors = []
        if len(pending) > text_files.MAX_LINE_BYTES:
            skipping, pending = len(pending), b""
    if skipping is not None:
        errors.append(_too_long(number, skipping))
    if pending or errors:
        yield number, pending, errors


def _too_long(number: int, size: int) -> RowError:
    return RowError(number, "(row)", f"is {size:,} bytes long; {_LONG}")


_LONG = text_files._LONG


def _utf8(block: bytes, first: int, source: str) -> None:
    """Refuse a block that is not UTF-8, naming the line, as a whole file would be."""
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = block[: exc.start].count(b"\n") + first
        raise FileError(
            f"{source}: line {line} is not UTF-8 text ({exc.reason}); expected a "
            "CSV file saved as UTF-8"
        ) from exc


def _csv_chunks(fh: BinaryIO, source: str, size: int) -> Iterator[RawRows]:
    """Each block is read as a whole file would be: the header line, then its lines."""
    header: bytes | None = None
    for first, block, errors in _line_blocks(fh, size):
        if header is None:
            if errors and errors[0].line == 1:
                raise FileError(f"{source}: line 1 {errors[0].reason}")
            end = block.find(b"\n")
            header = block[: end + 1] if end >= 0 else block + b"\n"
            block, first = block[len(header) :] if end >= 0 else b"", first + 1
            _utf8(header, 1, source)
        _utf8(block, first, source)
        raw = text_files.read_csv(header + block, source)
        yield _shifted(raw, first - 2, errors)
    if header is None:
        text_files.read_csv(b"", source)  # an empty file: refused as such


def _jsonl_chunks(fh: BinaryIO, source: str, size: int) -> Iterator[RawRows]:
    """Each line read as a whole file's would be; the columns are checked chunk by chunk
    (unknown and refused ones at once) and, for the required ones, over the whole file."""
    seen: set[str] = set()
    for first, block, errors in _line_blocks(fh, size):
        rows: list[dict] = []
        lines: list[int] = []
        for number, line in enumerate(block.split(b"\n"), start=first):
            obj = text_files._json_line(number, line, errors)
            if obj is None:
                continue
            rows.append(obj)
            lines.append(number)
        keys = set().union(*rows) if rows else set()
        if keys - seen:
            check_columns(source, sorted(keys | seen | set(REQUIRED_COLUMNS)))
            seen |= keys
        table = pa.table(
            {name: pa.array([row.get(name) for row in rows], pa.string()) for name in COLUMNS}
        )
        errors.sort(key=lambda e: e.line)
        yield RawRows(source, table, lines, errors, "line")
    check_columns(source, sorted(seen) or list(REQUIRED_COLUMNS))


def _shifted(raw: RawRows, offset: int, errors: list[RowError]) -> RawRows:
    """A block's rows with their numbers in the file, and the block's own errors added."""
    moved = [RowError(e.line + offset, e.field, e.reason, e.value) for e in raw.errors]
    lines = [line + offset for line in raw.lines]
    return RawRows(
        raw.source, raw.table, lines, sorted(errors + moved, key=lambda e: e.line), "line"
    )


# Parquet -------------------------------------------------------------------------------------
def _parquet_chunks(path: Path, rows: int) -> Iterator[RawRows]:
    source = str(path)
    try:
        parquet = pq.ParquetFile(pa.memory_map(source))
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise FileError(f"{source}: cannot be read as Parquet: {_short(exc)}") from exc
    check_columns(source, schema.names)
    done = 0
    batches = parquet.iter_batches(batch_size=rows)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:
            raise FileError(f"{source}: cannot be read as Parquet: {_short(exc)}") from exc
        if batch is None and done:
            break
        table = pa.table(batch) if batch is not None else schema.empty_table()
        columns = {
            name: _flat_column(source, name, table.column(name)) for name in table.column_names
        }
        table = complete(pa.table(columns))
        yield RawRows(source, table, list(range(done + 1, done + table.num_rows + 1)), [], "row")
        done += table.num_rows
        if batch is None:
            break
