"""The columnar copy of the ledger: Parquet segments kept current at filing, for bulk readers.

The row store (SQLite, PostgreSQL) is the truth and answers single-record questions; rebuilds
and other bulk readers read this copy instead (docs/ledger.md, "The columnar copy"). It lives
in ``DATA_DIR/columnar/``:

- ``manifest.json``: the segments, the last sequence number copied, and the dictionaries that
  turn kinds, categories and organisations into small integer codes (append-only, so a code
  never changes meaning);
- ``sorted-*.parquet``: segments sorted by (person, seq), made by compaction;
- ``delta-*.parquet``: one per filing, in sequence order, small;
- ``persons.parquet``: every registered person's key, sorted.

Persons are int64 keys (:mod:`opencredit.ledger.person_keys`); a provider's own ``ref`` is not
copied (no bulk reader needs it, and it would be most of the bytes). Segment files are written
once and never changed; the manifest is replaced atomically after them, so a reader sees a
whole state or the previous one. Writers hold an exclusive lock on ``.lock``, readers a shared
one while they read. A crash after the row store's commit and before the segment is written
leaves the copy behind: the next writer or reader catches up from the row store from the
copy's last sequence number on, so nothing is missed or counted twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opencredit.catalog import KINDS, PURCHASE_CATEGORIES
from opencredit.ledger.person_keys import to_keys
from opencredit.ledger.store import Store

if TYPE_CHECKING:
    import pyarrow.dataset

#: One segment row per ledger entry. ``occurred`` in days since 1970-01-01; codes index the
#: manifest's dictionaries; ``action`` indexes :data:`ACTIONS`.
SEGMENT_SCHEMA = pa.schema(
    [
        ("person", pa.int64()),
        ("seq", pa.int64()),
        ("kind", pa.int16()),
        ("occurred", pa.int32()),
        ("value", pa.float64()),
        ("category", pa.int16()),
        ("org", pa.int32()),
        ("action", pa.int8()),
        ("target", pa.int64()),
    ]
)
ACTIONS = ("file", "amend", "retract")
FORMAT = 1
#: Merge the deltas into one sorted segment beyond this many (or when they hold more than a
#: quarter of the largest segment's rows, at most 4 Mi); see ``_compact_if_due``.
MAX_DELTAS = 16
MAX_RUNS = 8
#: A filing this large is sorted before it is written: a sorted segment at once.
SORT_AT_FILING = 1 << 16
#: Records read from the store at a time when the copy catches up (bounded memory).
CATCH_UP_ROWS = 100_000
_ROW_GROUP = 1 << 20

_thread_locks: dict[Path, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@dataclass
class Segment:
    """One segment file and the sequence numbers it holds."""

    file: str
    first_seq: int
    last_seq: int
    rows: int
    sorted: bool


@dataclass
class Manifest:
    """What the copy holds: segments, last sequence number, dictionaries, persons."""

    last_seq: int = 0
    segments: list[Segment] = field(default_factory=list)
    kinds: list[str] = field(default_factory=lambda: [k.id for k in KINDS])
    categories: list[str] = field(default_factory=lambda: list(PURCHASE_CATEGORIES))
    orgs: list[str] = field(default_factory=list)
    persons: int = 0
    #: (person key, kind, occurred) of record ``last_seq``: tells a copy of another ledger.
    last_record: list | None = None
    format: int = FORMAT

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        """A manifest from its JSON form."""
        data = dict(data)
        data["segments"] = [Segment(**s) for s in data["segments"]]
        return cls(**data)


class ColumnarCopy:
    """The columnar copy in ``directory`` (usually ``DATA_DIR/columnar``)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        with _thread_locks_guard:
            self._thread_lock = _thread_locks.setdefault(self.dir.resolve(), threading.Lock())

    # locking and the manifest ----------------------------------------------------------------
    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.dir / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def manifest(self) -> Manifest | None:
        """The current manifest, or None if there is no copy yet."""
        try:
            text = (self.dir / "manifest.json").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        manifest = Manifest.from_json(json.loads(text))
        return manifest if manifest.format == FORMAT else None

    def _save(self, manifest: Manifest) -> None:
        tmp = self.dir / "manifest.json.tmp"
        tmp.write_text(json.dumps(asdict(manifest)), encoding="utf-8")
        os.replace(tmp, self.dir / "manifest.json")
        listed = {s.file for s in manifest.segments} | {"persons.parquet"}
        for path in self.dir.glob("*.parquet"):  # compacted segments, a crash's leftovers
            if path.name not in listed:
                path.unlink(missing_ok=True)

    # writing ---------------------------------------------------------------------------------
    def append(self, records: pa.Table, store: Store) -> None:
        """Add a filing's records (RECORD_SCHEMA, just committed to ``store``) as a delta
        segment; if the copy is behind them, catch up from ``store`` instead."""
        if records.num_rows == 0:
            return
        with self._locked(exclusive=True):
            manifest = self.manifest()
            first = pc.min(records.column("seq")).as_py()
            if manifest is None or first > manifest.last_seq + 1:
                self._catch_up(store, manifest)
                return
            records = records.filter(pc.greater(records.column("seq"), manifest.last_seq))
            if records.num_rows:
                self._write_delta(manifest, records)
                self._compact_if_due(manifest)
                self._save(manifest)

    def sync(self, store: Store) -> Manifest:
        """Bring the copy level with ``store`` (records and persons); returns its manifest."""
        with self._locked(exclusive=True):
            manifest = self.manifest()
            if (
                manifest is None
                or not self._current(manifest, store)
                or not self._same_ledger(manifest, store)
            ):
                manifest = self._catch_up(store, manifest)
            return manifest

    def _current(self, manifest: Manifest, store: Store) -> bool:
        return manifest.last_seq == store.max_seq() and manifest.persons == store.count_persons()

    def _catch_up(self, store: Store, manifest: Manifest | None) -> Manifest:
        if manifest is not None and not self._same_ledger(manifest, store):
            manifest = None  # a copy of another ledger (or of a store restored from backup)
        if manifest is None:
            manifest = Manifest()
        # in bounded batches: a catch-up after a large filing reads millions of records
        for batch in store.export_records(after=manifest.last_seq, batch_rows=CATCH_UP_ROWS):
            self._write_delta(manifest, pa.Table.from_batches([batch]))
        self._compact_if_due(manifest)  # once: after each batch would sort n^2 / batch rows
        if manifest.persons != store.count_persons():
            self._write_persons(manifest, store.export_persons().column("id"))
        self._save(manifest)
        return manifest

    def _same_ledger(self, manifest: Manifest, store: Store) -> bool:
        if manifest.last_seq == 0:
            return True
        if manifest.last_seq > store.max_seq():
            return False
        record = store.record(manifest.last_seq)
        return record is not None and manifest.last_record == _fingerprint(
            int(record.person[:17]), record.kind, record.occurred.toordinal()
        )

    def add_persons(self, ids: pa.Array | pa.ChunkedArray, store: Store) -> None:
        """Merge newly registered persons' ``ids`` into the copy (after ``store`` has them)."""
        with self._locked(exclusive=True):
            manifest = self.manifest()
            if manifest is None:
                self._catch_up(store, None)
                return
            known = self.persons_keys()
            merged = np.union1d(known, to_keys(ids))
            if len(merged) != store.count_persons():  # ids the store refused, or others'
                self._write_persons(manifest, store.export_persons().column("id"))
            else:
                self._write_person_keys(manifest, merged)
            self._save(manifest)

    def _write_persons(self, manifest: Manifest, ids: pa.ChunkedArray) -> None:
        self._write_person_keys(manifest, np.unique(to_keys(ids)))

    def _write_person_keys(self, manifest: Manifest, keys: np.ndarray) -> None:
        tmp = self.dir / "persons.parquet.tmp"
        pq.write_table(pa.table({"person": keys}), tmp, compression="zstd")
        os.replace(tmp, self.dir / "persons.parquet")
        manifest.persons = len(keys)

    def _write_delta(self, manifest: Manifest, records: pa.Table) -> None:
        segment = encode(records, manifest)
        first, last = records.column("seq")[0].as_py(), records.column("seq")[-1].as_py()
        large = segment.num_rows >= SORT_AT_FILING
        if large:
            segment = segment.sort_by([("person", "ascending"), ("seq", "ascending")])
        name = f"{'sorted' if large else 'delta'}-{first:012d}-{last:012d}.parquet"
        _write(segment, self.dir / name)
        manifest.segments.append(Segment(name, first, last, segment.num_rows, sorted=large))
        manifest.last_seq = last
        i = records.num_rows - 1
        manifest.last_record = _fingerprint(
            int(records.column("person")[i].as_py()[:17]),
            records.column("kind")[i].as_py(),
            records.column("occurred")[i].as_py().toordinal(),
        )

    def _compact_if_due(self, manifest: Manifest) -> None:
        """Tiers, as a log-structured merge: many small deltas become one sorted segment;
        beyond :data:`MAX_RUNS` sorted segments, all but the largest few are merged. The
        largest are left alone, so a filing never rewrites the whole ledger (``compact``
        does, on demand); the rebuild reads any number of sorted segments at the same speed."""
        deltas = [s for s in manifest.segments if not s.sorted]
        base_rows = max((s.rows for s in manifest.segments if s.sorted), default=0)
        limit = min(max(base_rows // 4, 1 << 16), 1 << 22)
        if deltas and (len(deltas) > MAX_DELTAS or sum(s.rows for s in deltas) > limit):
            self._merge(manifest, deltas)
        runs = sorted((s for s in manifest.segments if s.sorted), key=lambda s: -s.rows)
        if len(runs) > MAX_RUNS:
            self._merge(manifest, runs[MAX_RUNS // 2 :])

    def compact(self) -> None:
        """Merge every segment into one base sorted by (person, seq)."""
        with self._locked(exclusive=True):
            manifest = self.manifest()
            if manifest is not None and len(manifest.segments) > 1:
                self._merge(manifest, list(manifest.segments))
                self._save(manifest)

    def _merge(self, manifest: Manifest, segments: list[Segment]) -> None:
        first = min(s.first_seq for s in segments)
        last = max(s.last_seq for s in segments)
        name = f"sorted-{first:012d}-{last:012d}.parquet"
        rows = _write_sorted([self.dir / s.file for s in segments], self.dir / name)
        merged = Segment(name, first, last, rows, sorted=True)
        gone = {s.file for s in segments}
        manifest.segments = [s for s in manifest.segments if s.file not in gone] + [merged]

    # reading ---------------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[Manifest]:
        """Hold the copy still (a shared lock) while its segments are read."""
        with self._locked(exclusive=False):
            manifest = self.manifest()
            if manifest is None:
                raise FileNotFoundError(f"no columnar copy in {self.dir}")
            yield manifest

    def read_segments(
        self, manifest: Manifest, columns: list[str] | None = None
    ) -> list[tuple[pa.Table, bool]]:
        """Every segment as (table, sorted by person) (call inside :meth:`reading`)."""
        return [
            (pq.read_table(self.dir / s.file, columns=columns), s.sorted) for s in manifest.segments
        ]

    def persons_keys(self) -> np.ndarray:
        """Every registered person's key, sorted."""
        path = self.dir / "persons.parquet"
        if not path.exists():
            return np.empty(0, dtype=np.int64)
        return pq.read_table(path).column("person").to_numpy()

    def bytes_on_disk(self) -> int:
        """Total size of the copy's files."""
        return sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())


def scan(data_dir: str | Path) -> pyarrow.dataset.Dataset:
    """The columnar copy of the ledger in ``data_dir`` as a pyarrow dataset (SEGMENT_SCHEMA;
    decode codes with the manifest's dictionaries). Call after ``Workspace.columnar()`` has
    caught the copy up; the files stay while no compaction runs."""
    import pyarrow.dataset

    copy = ColumnarCopy(Path(data_dir) / "columnar")
    manifest = copy.manifest()
    files = [str(copy.dir / s.file) for s in manifest.segments] if manifest else []
    return pyarrow.dataset.dataset(files, schema=SEGMENT_SCHEMA, format="parquet")


def encode(records: pa.Table, manifest: Manifest) -> pa.Table:
    """Ledger rows (RECORD_SCHEMA) as a segment (SEGMENT_SCHEMA), new dictionary values
    appended to ``manifest``'s dictionaries."""
    return pa.table(
        {
            "person": to_keys(records.column("person")),
            "seq": records.column("seq").cast(pa.int64()),
            "kind": _codes(records.column("kind"), manifest.kinds, pa.int16()),
            "occurred": records.column("occurred").cast(pa.date32()).cast(pa.int32()),
            "value": records.column("value").cast(pa.float64()),
            "category": _codes(records.column("category"), manifest.categories, pa.int16()),
            "org": _codes(records.column("org"), manifest.orgs, pa.int32()),
            "action": _codes(records.column("action"), list(ACTIONS), pa.int8(), grow=False),
            "target": records.column("target").cast(pa.int64()),
        },
        schema=SEGMENT_SCHEMA,
    )


def _codes(
    column: pa.ChunkedArray, dictionary: list[str], type_: pa.DataType, grow: bool = True
) -> pa.Array:
    """``column``'s values as indices into ``dictionary`` (extended with new values)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if grow:
        known = set(dictionary)
        for value in pc.unique(column.drop_null()).to_pylist():
            if value not in known:
                dictionary.append(value)
                known.add(value)
    indices = pc.index_in(column, value_set=pa.array(dictionary, pa.string()))
    if indices.null_count != column.null_count:
        raise ValueError(f"values outside the dictionary {dictionary}")
    return indices.cast(type_)


def _fingerprint(person: int, kind: str, ordinal: int) -> list:
    return [person, kind, ordinal]


#: Keys written as deltas rather than a dictionary: a sorted person column shrinks to almost
#: nothing and decodes several times faster (a dictionary of a million keys does not fit).
_DELTA_ENCODED = {"person": "DELTA_BINARY_PACKED", "seq": "DELTA_BINARY_PACKED"}


#: What a merge may hold in memory: DuckDB sorts within it and spills the rest to disk, so
#: compacting a copy of any size stays in bounded memory (a filing's peak included).
MERGE_MEMORY = "128MB"


def _write_sorted(sources: list[Path], path: Path) -> int:
    """Write the segments ``sources`` as one segment sorted by (person, seq), streamed: DuckDB
    sorts them (spilling to a temporary folder beside the copy past :data:`MERGE_MEMORY`) and
    the sorted rows are written a row group at a time with the copy's encodings. Returns the
    number of rows."""
    import duckdb

    files = ", ".join("'" + p.as_posix().replace("'", "''") + "'" for p in sources)
    spill = path.parent / "merge-spill"
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{MERGE_MEMORY}'")
        con.execute("SET threads = 1")
        con.execute("SET temp_directory = '" + spill.as_posix().replace("'", "''") + "'")
        columns = ", ".join(SEGMENT_SCHEMA.names)
        relation = con.sql(f"SELECT {columns} FROM read_parquet([{files}]) ORDER BY person, seq")
        # DuckDB 2 names it to_arrow_reader; 1.x fetch_arrow_reader
        to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
        reader = to_reader(_ROW_GROUP)
        tmp = path.with_suffix(".tmp")
        rows = 0
        with pq.ParquetWriter(tmp, SEGMENT_SCHEMA, **_WRITE_OPTIONS) as writer:
            for batch in reader:
                writer.write_batch(batch.cast(SEGMENT_SCHEMA), row_group_size=_ROW_GROUP)
                rows += batch.num_rows
        os.replace(tmp, path)
        return rows
    finally:
        con.close()
        if spill.exists():
            import shutil

            shutil.rmtree(spill, ignore_errors=True)


#: How every segment is written: zstd, dictionaries for the small codes, deltas for the keys.
_WRITE_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": [n for n in SEGMENT_SCHEMA.names if n not in _DELTA_ENCODED],
    "column_encoding": {n: e for n, e in _DELTA_ENCODED.items() if n in SEGMENT_SCHEMA.names},
}


def _write(table: pa.Table, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    pq.write_table(
        table,
        tmp,
        compression="zstd",
        row_group_size=_ROW_GROUP,
        use_dictionary=[n for n in table.column_names if n not in _DELTA_ENCODED],
        column_encoding={n: e for n, e in _DELTA_ENCODED.items() if n in table.column_names},
    )
    os.replace(tmp, path)
