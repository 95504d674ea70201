"""Generate a synthetic nation and stream it to Parquet, a chunk of persons at a time.

Memory stays bounded by the chunk size however many persons are asked for: each chunk of
persons and their records is drawn, appended to the Parquet files as row groups (in the
background, while the next chunk is drawn) and dropped. Each chunk has its own random stream
(PCG64 seeded with the seed and the chunk's number), so the same seed and chunk size give
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from opencredit.catalog.kinds import KINDS, Domain
from opencredit.synth import columns
from opencredit.synth.behaviour import Events, domain_events
from opencredit.synth.people import Window, epoch_day, sample_people, years_before
from opencredit.synth.population import MIN_AGE, Identities, SequenceBook, sample_identities
from opencredit.synth.providers import PROVIDERS, REF_PREFIX, Provider
from opencredit.synth.purchases import CATEGORIES
from opencredit.synth.regions import REGIONS

PERSON_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("region", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
    ]
)
PROVIDER_SCHEMA = pa.schema(
    [("code", pa.string()), ("name", pa.string()), ("domains", pa.list_(pa.string()))]
)
RECORD_SCHEMA = pa.schema(
    [
        ("person", pa.string()),
        ("kind", pa.string()),
        ("occurred", pa.date32()),
        ("value", pa.float64()),
        ("category", pa.string()),
        ("ref", pa.string()),
    ]
)
COMPRESSION = "zstd"
_KIND_NAMES = tuple(kind.id for kind in KINDS)


@dataclass(frozen=True)
class NationFiles:
    """Where a generated nation was written, and how big it is."""

    persons: Path
    providers: Path
    records: dict[str, Path]  # provider code -> its records
    n_persons: int
    n_records: int


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The random stream of chunk number ``chunk``: independent of every other chunk's."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


def persons_table(who: Identities) -> pa.Table:
    """The persons of one chunk as an Arrow table."""
    return pa.table(
        [
            columns.fixed_width_strings(who.ids),
            columns.labels(REGIONS.codes, who.region),
            columns.dates(who.birth_day),
            columns.labels(("F", "M"), who.male.astype(np.int64)),
        ],
        schema=PERSON_SCHEMA,
    )


def providers_table(providers: tuple[Provider, ...]) -> pa.Table:
    """The providers as an Arrow table."""
    return pa.table(
        {
            "code": [p.code for p in providers],
            "name": [p.name for p in providers],
            "domains": [list(p.domains) for p in providers],
        },
        schema=PROVIDER_SCHEMA,
    )


def records_table(events: Events, ids: np.ndarray, prefix: str, first_ref: int) -> pa.Table:
    """One provider's records of one chunk, by person and date, refs counting from ``first_ref``."""
    # One integer key is much faster to sort than three: person, then day, then kind.
    first_day = events.day.min() if len(events) else 0
    days = events.day.max() - first_day + 1 if len(events) else 1
    key = (events.person * days + (events.day - first_day)) * len(KINDS) + events.kind
    order = np.argsort(key, kind="stable")
    refs = np.arange(first_ref, first_ref + len(order), dtype=np.int64)
    return pa.table(
        [
            columns.fixed_width_strings(ids[events.person[order]]),
            columns.labels(_KIND_NAMES, events.kind[order]),
            columns.dates(events.day[order]),
            columns.nullable_floats(events.value[order]),
            columns.labels(CATEGORIES, events.category[order]),
            columns.prefixed_numbers(f"{prefix}-", refs),
        ],
        schema=RECORD_SCHEMA,
    )


def _check_arguments(persons: int, years: int, chunk_persons: int, as_of: dt.date) -> None:
    if persons < 0:
        raise ValueError(f"persons must be 0 or more, not {persons}")
    if years < 1:
        raise ValueError(f"years must be 1 or more, not {years}")
    if chunk_persons < 1:
        raise ValueError(f"chunk_persons must be 1 or more, not {chunk_persons}")
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise TypeError(f"as_of must be a datetime.date, not {type(as_of).__name__}")
    if years_before(as_of, int(MIN_AGE)) > dt.date.today():
        raise ValueError(
            f"as_of {as_of} is too far in the future: the youngest persons (aged {MIN_AGE}) "
            "would be born after today, and resident IDs cannot hold a future birth date"
        )


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("persons, {task.fields[records]:,} records"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )


class _Writers:
    """The nation's Parquet writers. A chunk is written in the background while the next one
    is drawn; only one chunk is ever waiting, so memory stays bounded."""

    def __init__(self, files: NationFiles, stack: ExitStack) -> None:
        def writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
            return stack.enter_context(pq.ParquetWriter(path, schema, compression=COMPRESSION))

        self.persons = writer(files.persons, PERSON_SCHEMA)
        self.records = {code: writer(path, RECORD_SCHEMA) for code, path in files.records.items()}
        # Entered after the writers, so it finishes its work before they close.
        self._pool = stack.enter_context(ThreadPoolExecutor(max_workers=2))
        self._pending: list[Future] = []

    def write(self, persons: pa.Table, records: dict[str, pa.Table]) -> None:
        """Queue one chunk's tables, once the previous chunk is on disk."""
        self.wait()
        jobs = [(self.persons, persons), *((self.records[c], t) for c, t in records.items())]
        self._pending = [self._pool.submit(w.write_table, t) for w, t in jobs]

    def wait(self) -> None:
        """Block until every queued table is written (and raise if a write failed)."""
        for job in self._pending:
            job.result()
        self._pending = []


def _draw_chunk(
    chunk: int, n: int, seed: int, window: Window, book: SequenceBook, next_ref: dict[str, int]
) -> tuple[pa.Table, dict[str, pa.Table]]:
    """Persons and every provider's records for chunk number ``chunk``; advances ``next_ref``."""
    rng = chunk_rng(seed, chunk)
    who = sample_identities(n, window.end_day, rng, book)
    people = sample_people(who, window, rng)
    records = {}
    for provider in PROVIDERS:
        events = Events.concat(
            [domain_events(Domain(d), people, window, rng) for d in provider.domains]
        )
        prefix = REF_PREFIX[provider.domains[0]]
        records[provider.code] = records_table(events, who.ids, prefix, next_ref[provider.code])
        next_ref[provider.code] += len(events)
    return persons_table(who), records


def generate_nation(
    out_dir: Path,
    persons: int,
    *,
    seed: int = 2015,
    as_of: dt.date,
    years: int = 3,
    chunk_persons: int = 100_000,
    quiet: bool = False,
) -> NationFiles:
    """Write ``persons`` synthetic persons and their records of the last ``years`` years.

    Files in ``out_dir``: ``persons.parquet``, ``providers.parquet`` and one
    ``records-<domain>.parquet`` per provider. Same arguments, byte-identical files.
    """
    _check_arguments(persons, years, chunk_persons, as_of)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    window = Window(as_of, years)
    book = SequenceBook(len(REGIONS.codes), epoch_day(as_of))
    persons_path = out_dir / "persons.parquet"
    providers_path = out_dir / "providers.parquet"
    records = {p.code: out_dir / f"records-{p.domains[0]}.parquet" for p in PROVIDERS}
    files = NationFiles(persons_path, providers_path, records, persons, n_records=0)
    pq.write_table(providers_table(PROVIDERS), providers_path, compression=COMPRESSION)

    next_ref = dict.fromkeys(records, 1)
    with ExitStack() as stack:
        writers = _Writers(files, stack)
        progress = stack.enter_context(_progress(quiet))
        task = progress.add_task("Generating nation", total=persons, records=0)
        for chunk, start in enumerate(range(0, persons, chunk_persons)):
            n = min(chunk_persons, persons - start)
            writers.write(*_draw_chunk(chunk, n, seed, window, book, next_ref))
            drawn = sum(next_ref.values()) - len(next_ref)
            progress.update(task, advance=n, records=drawn)
        writers.wait()

    n_records = sum(next_ref.values()) - len(next_ref)
    return NationFiles(persons_path, providers_path, records, persons, n_records)
