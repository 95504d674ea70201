"""The ledger as Parquet, partitioned by person, for engines that run elsewhere (Spark).

An export is one directory::

    manifest.json                 what was exported (ExportManifest)
    records/part=K/*.parquet      the ledger up to the head seq (RECORD_SCHEMA)
    persons/part=K/*.parquet      the registry: ``id`` (and the attributes if asked for)
    disputes.parquet              every dispute (seq, opened, resolved)
    policies/<id@version>.toml    the installed policy documents

``part`` is :func:`partition_of` the person: the first 8 hex digits of the MD5 of the resident
ID (UTF-8) as an unsigned 32-bit integer, modulo the number of partitions. MD5 is there in
Python, DuckDB and Spark alike (:func:`partition_sql`), so a record and its person land in the
same partition whoever computes it, and a job can take one partition of records and persons
at a time. (MD5 spreads IDs evenly; it is not used for security here.)

Records come from a *source*: a function of the head seq returning Arrow record batches. Today
that is the row store's :meth:`Store.export_records`; a columnar copy of the ledger can be
swapped in without touching the writer. The writer streams the batches through DuckDB's
partitioned ``COPY``, so memory stays bounded whatever the ledger's size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opencredit.errors import OpenCreditError
from opencredit.ledger.records import Record
from opencredit.ledger.store import RECORD_SCHEMA, Store
from opencredit.scoring.batch import DISPUTE_SCHEMA

FORMAT = "opencredit-ledger-export"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
DEFAULT_PARTITIONS = 64
#: More would mean directories of a few persons each (1,024 suit 1.4 billion: docs/SCALING.md).
MAX_PARTITIONS = 65_536
#: How the partition is computed, as written into every manifest.
PARTITION_HASH = "md5: int(md5(utf8(person)).hex[0:8], 16) % partitions"

#: DuckDB's memory while writing (it spills to disk beyond it), and the rows read per batch.
EXPORT_MEMORY = "512MB"
EXPORT_BATCH_ROWS = 100_000

#: Given the head seq, the ledger up to it (RECORD_SCHEMA) as Arrow record batches.
RecordSource = Callable[[int], Iterable[pa.RecordBatch]]


class ExportError(OpenCreditError):
    """An export that cannot be written or read as asked."""


class ExportManifest(BaseModel):
    """What an export holds: which ledger prefix, how partitioned, under which policies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["opencredit-ledger-export"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    created: dt.datetime
    head_seq: int = Field(ge=0, description="the ledger up to this sequence number")
    #: :func:`record_fingerprint` of the record at ``head_seq`` (None for an empty ledger):
    #: another ledger of the same length has another last record.
    head_record_sha256: str | None = Field(pattern=r"^[0-9a-f]{64}$")
    records: int = Field(ge=0)
    persons: int = Field(ge=0)
    disputes: int = Field(ge=0)
    partitions: int = Field(ge=1)
    partition_hash: str = PARTITION_HASH
    with_attributes: bool = False
    #: Merkle tree size and root at the head, when the store keeps a tree (None until then).
    tree_size: int | None = None
    tree_root: str | None = None
    #: Installed policies: key -> SHA-256 of the published document.
    policies: dict[str, str] = Field(default_factory=dict)


def document_hash(document: str) -> str:
    """SHA-256 of a policy document (UTF-8), hex: how exports and imports name a version."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def record_fingerprint(record: Record) -> str:
    """SHA-256 of a ledger entry's fields, hex: names the entry, and the ledger it ends."""
    fields = [
        record.seq,
        record.person,
        record.kind,
        record.occurred.isoformat(),
        record.value,
        record.category,
        record.org,
        record.ref,
        str(record.action),
        record.target,
    ]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def head_fingerprint(store: Store, head: int) -> str | None:
    """:func:`record_fingerprint` of the record at ``head``; None if there is none."""
    record = store.record(head) if head else None
    return record_fingerprint(record) if record else None


def partition_of(person: str, partitions: int) -> int:
    """The partition of ``person`` (see the module docstring)."""
    return int(hashlib.md5(person.encode("utf-8")).hexdigest()[:8], 16) % partitions


def partition_sql(column: str, partitions: int, dialect: str = "duckdb") -> str:
    """:func:`partition_of` as a SQL expression over ``column`` in DuckDB or Spark SQL."""
    if dialect == "duckdb":
        return f"(('0x' || substr(md5({column}), 1, 8))::UBIGINT % {int(partitions)})"
    if dialect == "spark":
        return f"pmod(CAST(conv(substr(md5({column}), 1, 8), 16, 10) AS BIGINT), {int(partitions)})"
    raise ValueError(f"no partition expression for dialect {dialect!r}")


def store_records(store: Store, batch_rows: int = EXPORT_BATCH_ROWS) -> RecordSource:
    """The row store as a record source (:meth:`Store.export_records`, in batches)."""
    return lambda head: store.export_records(head, batch_rows=batch_rows)


def export_ledger(
    store: Store,
    out: str | Path,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    with_attributes: bool = False,
    source: RecordSource | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportManifest:
    """Write the ledger up to its current head, the registry, the disputes and the policies
    to ``out`` (which must not exist, or be empty) as a partitioned Parquet export.

    The export is written beside ``out`` and renamed into place at the end, so ``out`` never
    holds half an export. ``progress`` is called with the number of records of each batch
    written."""
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise ExportError(f"--partitions must be 1 to {MAX_PARTITIONS:,}, not {partitions:,}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty directory; choose another")
    head = store.max_seq()  # read first: everything below is of this prefix
    documents = store.policy_documents()
    work = out.with_name(out.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        batches = _Counted((source or store_records(store))(head), progress)
        try:
            records = _write_partitioned(
                pa.RecordBatchReader.from_batches(RECORD_SCHEMA, iter(batches)),
                work / "records",
                partitions,
            )
        except duckdb.Error:
            if batches.error is not None:
                raise batches.error from None
            raise
        persons = store.export_persons()
        if not with_attributes:
            persons = persons.select(["id"])
        _write_partitioned(persons, work / "persons", partitions, column="id")
        disputes = _disputes_table(store)
        pq.write_table(disputes, work / "disputes.parquet")
        (work / "policies").mkdir()
        for key, document in documents.items():
            (work / "policies" / f"{key}.toml").write_text(document, encoding="utf-8")
        manifest = ExportManifest(
            created=dt.datetime.now(dt.UTC),
            head_seq=head,
            head_record_sha256=head_fingerprint(store, head),
            records=records,
            persons=persons.num_rows,
            disputes=disputes.num_rows,
            partitions=partitions,
            with_attributes=with_attributes,
            policies={key: document_hash(doc) for key, doc in sorted(documents.items())},
        )
        (work / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        if out.exists():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def read_manifest(directory: str | Path) -> ExportManifest:
    """The manifest of an export directory; a clear error if it is missing or malformed."""
    return read_json_model(
        Path(directory) / MANIFEST_FILE,
        ExportManifest,
        ExportError,
        f"{directory} is not an opencredit export: no {MANIFEST_FILE}",
    )


_Model = TypeVar("_Model", bound=BaseModel)


def read_json_model(
    path: Path, model: type[_Model], error: type[OpenCreditError], missing: str
) -> _Model:
    """``model`` read from the JSON file ``path`` (a manifest); ``error(missing)`` if there is
    no such file, and ``error`` naming the file and the first bad field if it is malformed."""
    try:
        return model.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise error(missing) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise error(f"{path}: {where}: {first['msg']}") from None


class _Counted:
    """Batches passed through, counted for ``progress``; an error of the source is kept, so
    that it (not DuckDB's wrapping of it) is what the caller sees."""

    def __init__(
        self, batches: Iterable[pa.RecordBatch], progress: Callable[[int], None] | None
    ) -> None:
        self.batches, self.progress = batches, progress
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self.batches:
                yield batch
                if self.progress:
                    self.progress(batch.num_rows)
        except BaseException as exc:
            self.error = exc
            raise


def _write_partitioned(
    data: pa.RecordBatchReader | pa.Table, directory: Path, partitions: int, column: str = "person"
) -> int:
    """Write ``data`` under ``directory/part=K/`` (hive style); returns the rows written."""
    con = duckdb.connect()
    try:
        # no progress bar of DuckDB's own; order within a partition is not promised, and not
        # keeping it lets DuckDB stream instead of buffering
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET memory_limit = '{EXPORT_MEMORY}'")
        con.register("data", data)
        target = directory.as_posix().replace("'", "''")
        written = con.execute(
            f"COPY (SELECT *, {partition_sql(column, partitions)} AS part FROM data) "
            f"TO '{target}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (part))"
        ).fetchone()
        directory.mkdir(exist_ok=True)  # an empty source writes no directory
        return int(written[0]) if written else 0
    finally:
        con.close()


def _disputes_table(store: Store) -> pa.Table:
    ds = store.disputes()
    return pa.table(
        {
            "seq": [d.seq for d in ds],
            "opened": [d.opened for d in ds],
            "resolved": [d.resolved for d in ds],
        },
        schema=DISPUTE_SCHEMA,
    )
