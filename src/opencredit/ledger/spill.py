"""A filing's records kept for the columnar copy until the filing commits, in bounded memory.

The columnar copy (:mod:`opencredit.ledger.columnar`) is updated after the row store commits.
A filing of one chunk is held as it is; a larger one is written, chunk after chunk, to an
anonymous temporary Parquet file (gone when closed, or when the process dies) and read back
a batch at a time, so the copy is caught up without reading the records back from the store.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

#: Records read back at a time.
READ_ROWS = 100_000


class RecordSpill:
    """The records (RECORD_SCHEMA) of one filing attempt, in sequence order."""

    def __init__(self) -> None:
        self.first: pa.Table | None = None
        self.file: IO[bytes] | None = None
        self.writer: pq.ParquetWriter | None = None
        self.last_seq: int | None = None

    def add(self, records: pa.Table) -> None:
        """Keep a chunk's records. A chunk that does not follow the last one (the filing was
        rolled back and tried again) starts over."""
        if not records.num_rows:
            return
        first = records.column("seq")[0].as_py()
        if self.last_seq is not None and first <= self.last_seq:
            self.close()
        self.last_seq = records.column("seq")[-1].as_py()
        if self.writer is None and self.first is None:
            self.first = records
            return
        if self.writer is None:
            assert self.first is not None
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
            self.writer = pq.ParquetWriter(self.file, self.first.schema)
            self.writer.write_table(self.first)
            self.first = None
        self.writer.write_table(records.cast(self.writer.schema))

    def batches(self) -> Iterator[pa.Table]:
        """The records kept, a batch at a time."""
        if self.first is not None:
            yield self.first
            return
        if self.writer is None or self.file is None:
            return
        self.writer.close()
        self.writer = None
        self.file.seek(0)
        for batch in pq.ParquetFile(self.file).iter_batches(batch_size=READ_ROWS):
            yield pa.Table.from_batches([batch])

    def close(self) -> None:
        """Drop what is kept."""
        if self.writer is not None:
            self.writer.close()
        if self.file is not None:
            self.file.close()
        self.first = self.file = self.writer = None
        self.last_seq = None
