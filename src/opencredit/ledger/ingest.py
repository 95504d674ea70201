"""Filing records: validate every row of a provider's file and append it in one transaction.

A file is read, checked and written a chunk at a time (:mod:`.stream`), all chunks in one
store transaction (:meth:`Store.append_stream`), so a file of any size is filed in bounded
memory and all or nothing; a file of one chunk is checked first and appended with
:meth:`Store.append`. The outcome does not depend on the chunk size (docs/ledger.md, "Filing
a large file").

By default a file with any bad row is rejected whole and nothing is written; with
``partial=True`` the good rows go in and the bad ones are reported. Either way the report
names every bad row (line, field, reason). Filing a reference the organisation already used
never makes a second record: the same content is counted as a duplicate, different content is
an error (correct a record by filing an amendment that names it in ``target_ref``).

Checks run column-wise over Arrow arrays, so a million-row file validates in seconds; only
rows that fail get a per-row message. The rules (refs, numbers, dates, ages) are in
docs/ledger.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from opencredit.catalog import KINDS, PURCHASE_CATEGORIES, check_category, get_kind
from opencredit.clock import today as clock_today
from opencredit.errors import ConcurrentFiling, OpenCreditError
from opencredit.ledger.file_refs import FileRefs
from opencredit.ledger.files import RawRows, RowError, file_format
from opencredit.ledger.records import Action, Record
from opencredit.ledger.refs import check_refs
from opencredit.ledger.store import BatchReceipt, Store, TermMaker
from opencredit.ledger.stream import chunks_of, read_chunks
from opencredit.ledger.values import reads_back, to_float
from opencredit.registry import parse_org_code, parse_resident_id
from opencredit.registry.resident_id import valid_mask

EARLIEST = dt.date(1900, 1, 1)
_CORRECTIONS = ("amend", "retract")
#: What a row about an ID the registry does not hold is told: no more than that it cannot be
#: filed, so that a batch says nothing about who is registered (docs/ledger.md).
UNFILEABLE = "cannot be filed for this resident ID"


@dataclass
class IngestReport:
    """What happened to a file: counts, every bad row, and the receipt if anything was written."""

    source: str
    org: str
    rows: int
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0
    receipt: BatchReceipt | None = None
    line_word: str = "line"
    #: Exact counts when ``errors`` lists only the first :data:`MAX_LISTED_ERRORS`.
    error_count: int | None = None
    bad_row_count: int | None = None

    @property
    def bad_rows(self) -> int:
        """How many distinct rows have at least one error."""
        if self.bad_row_count is not None:
            return self.bad_row_count
        return len({e.line for e in self.errors})

    @property
    def errors_found(self) -> int:
        """How many errors there are (``errors`` may list only the first of them)."""
        return self.error_count if self.error_count is not None else len(self.errors)

    @property
    def accepted(self) -> int:
        """How many records were written."""
        return self.receipt.accepted if self.receipt else 0

    @property
    def rejected_whole(self) -> bool:
        """True if the file was refused and nothing written (a file with nothing new to
        write, no rows or only duplicates, is not refused: it writes no batch)."""
        return self.receipt is None and bool(self.errors)


class ProviderError(OpenCreditError):
    """The filing organisation is unknown or not licensed for what it files."""


def ingest_file(
    store: Store,
    path: str | Path,
    org: str,
    *,
    partial: bool = False,
    today: dt.date | None = None,
    terms: TermMaker | None = None,
    chunk_rows: int | None = None,
    chunk_bytes: int | None = None,
) -> IngestReport:
    """Validate and file the records in ``path`` for organisation ``org``: read, checked and
    written a chunk at a time (:mod:`.stream`), in one transaction."""
    line_word = "row" if file_format(str(path)) == "parquet" else "line"
    return file_chunks(
        store,
        lambda: read_chunks(path, chunk_rows, chunk_bytes),
        org,
        str(path),
        line_word,
        partial=partial,
        today=today,
        terms=terms,
    )


def ingest_rows(
    store: Store,
    raw: RawRows,
    org: str,
    *,
    partial: bool = False,
    today: dt.date | None = None,
    terms: TermMaker | None = None,
    chunk_rows: int | None = None,
) -> IngestReport:
    """Validate and file rows already read (see :func:`opencredit.ledger.files.read_rows`)."""
    return file_chunks(
        store,
        lambda: chunks_of(raw, chunk_rows),
        org,
        raw.source,
        raw.line_word,
        partial=partial,
        today=today,
        terms=terms,
    )


def file_chunks(
    store: Store,
    chunks: Callable[[], Iterable[RawRows]],
    org: str,
    source: str,
    line_word: str,
    *,
    partial: bool = False,
    today: dt.date | None = None,
    terms: TermMaker | None = None,
) -> IngestReport:
    """Validate and file a file's rows, chunk after chunk (``chunks()`` yields them in line
    order), as ONE batch in ONE store transaction: a file refused, or a process killed half
    way, leaves nothing. Each chunk is checked against the ledger as it was before the file
    and against every ref the file used before it (:class:`FileRefs`), so the outcome and
    the report are the same whatever the chunk size."""
    code = parse_org_code(org).value
    organisation = store.organisation(code)
    if organisation is None:
        raise ProviderError(
            f"{source}: organisation {code} is not registered as a data "
            "provider; expected a provider registered (and licensed) first"
        )
    today = today or clock_today()
    attempt = 1
    while True:
        report = IngestReport(source, code, 0, line_word=line_word)
        raws = iter(chunks())
        head = list(itertools.islice(raws, 2))
        filing = _Filing(
            store,
            lambda head=head, raws=raws: itertools.chain(head, raws),
            code,
            organisation.domains,
            today,
            partial,
            report,
        )
        try:
            if len(head) < 2:
                # One chunk (an upload, a small file): checked before the write transaction,
                # so concurrent writers check theirs meanwhile; a ref filed in between is
                # caught by the unique keys (ConcurrentFiling) and the batch checked again.
                report.receipt = filing.append_one(terms)
            else:
                report.receipt = store.append_stream(
                    code, source, filing.rows, filing.counts, terms=terms
                )
        except _Rejected:
            report.receipt = None
        except ConcurrentFiling:
            # Another batch filed some of these refs (or corrected the same record) after they
            # were checked, and nothing of this one was written: check again, so that the
            # same record counts as a duplicate and a different one as an error, as if the
            # batches had come one after the other.
            if attempt == _ATTEMPTS:
                raise
            attempt += 1
            continue
        finally:
            filing.close()
        return report


#: Errors a report lists (in line order); beyond them it counts. A file of tens of millions
#: of bad rows is reported in bounded memory: its counts are exact.
MAX_LISTED_ERRORS = 100_000


#: The first sequence number of a file checked before its transaction: none of its records
#: is in the ledger yet.
_NONE_YET = 2**63 - 1


class _Rejected(Exception):
    """A file with a bad row, not filed in part: its transaction is rolled back."""


class _Before:
    """The ledger as it was before the file being filed: the file's own records, written in
    its still open transaction from ``first`` on, are not in it."""

    def __init__(self, store: Store, first: int) -> None:
        self.store, self.first = store, first

    def existing_refs(self, org: str, refs: Iterable[str]) -> dict[str, Record]:
        """As :meth:`Store.existing_refs`, before the file."""
        found = self.store.existing_refs(org, refs)
        return {ref: r for ref, r in found.items() if r.seq < self.first}

    def corrected_by(self, seq: int) -> int | None:
        """As :meth:`Store.corrected_by`, before the file."""
        by = self.store.corrected_by(seq)
        return by if by is not None and by < self.first else None

    def unknown_persons(self, ids: Iterable[str]) -> set[str]:
        """As :meth:`Store.unknown_persons`."""
        return self.store.unknown_persons(ids)


class _Filing:
    """One file's chunks checked in turn; the rows to write yielded chunk by chunk."""

    def __init__(
        self,
        store: Store,
        chunks: Callable[[], Iterable[RawRows]],
        org: str,
        domains: tuple[str, ...],
        today: dt.date,
        partial: bool,
        report: IngestReport,
    ) -> None:
        self.store, self.chunks, self.org, self.domains = store, chunks, org, domains
        self.today, self.partial, self.report = today, partial, report
        self.refs = FileRefs()
        self.checked = False  # some rows failed a check (not only the registry's)

    def rows(self, first: int) -> Iterator[pa.Table]:
        """The rows to file, chunk by chunk, given the first sequence number they will have;
        raises :class:`_Rejected` at the end if the file is refused whole."""
        ledger = _Before(self.store, first)
        report = self.report
        unresolved: list[tuple[RowError, str]] = []
        errors_found = bad_rows = unfileable_errors = unfileable_rows = 0
        for raw in self.chunks():
            report.rows += raw.table.num_rows + len(raw.errors)
            checked = _Validator(
                ledger, raw, self.org, self.domains, self.today, self.partial, self.refs
            ).run()
            self.checked |= any(not _unfileable(e) for e in checked.errors)
            errors = raw.errors + checked.errors
            errors.sort(key=lambda e: (e.line, e.field))
            errors_found += len(errors)
            bad_rows += len({e.line for e in errors})
            unfileable = [e for e in checked.errors if _unfileable(e)]
            unfileable_errors += len(unfileable)
            unfileable_rows += len(unfileable)  # one per row, on rows with no other error
            room = MAX_LISTED_ERRORS - len(report.errors)
            if room > 0:
                listed = set(map(id, errors[:room]))
                unresolved += [(e, ref) for e, ref in checked.unresolved if id(e) in listed]
                report.errors.extend(errors[:room])
            report.duplicates += int(checked.duplicate.sum())
            if errors_found and not self.partial:
                continue  # refused: checked to the end for the report, nothing written
            keep = ~(checked.bad | checked.duplicate)
            if keep.any():
                yield checked.table.filter(pa.array(keep))
        self._resolve(unresolved)
        if errors_found and not self.partial and self.checked:
            # as for a single chunk: the registry is asked only of an otherwise good file
            report.errors = [e for e in report.errors if not _unfileable(e)]
            errors_found -= unfileable_errors
            bad_rows -= unfileable_rows
        report.error_count, report.bad_row_count = errors_found, bad_rows
        if errors_found and not self.partial:
            raise _Rejected

    def append_one(self, terms: TermMaker | None) -> BatchReceipt | None:
        """Check a file of one chunk outside any transaction, then append it with
        :meth:`Store.append`; None if there is nothing to write."""
        tables = list(self.rows(_NONE_YET))
        if not tables:
            return None
        duplicates, rejected = self.counts()
        return self.store.append(
            self.org, self.report.source, tables[0], duplicates, rejected, terms=terms
        )

    def _resolve(self, unresolved: list[tuple[RowError, str]]) -> None:
        """A correction naming a ref that a later line of the file uses is told so, as one
        naming an earlier line is."""
        if not unresolved:
            return
        later = self.refs.first_lines({ref for _, ref in unresolved})
        better = {
            id(e): RowError(e.line, e.field, _same_file(ref), e.value)
            for e, ref in unresolved
            if ref in later
        }
        if better:
            self.report.errors = [better.get(id(e), e) for e in self.report.errors]

    def counts(self) -> tuple[int, int]:
        """(duplicates, bad rows) of the whole file, once its last chunk is checked."""
        return self.report.duplicates, self.report.bad_rows

    def close(self) -> None:
        """Drop the file's index of refs."""
        self.refs.close()


def _unfileable(error: RowError) -> bool:
    return error.field == "person" and error.reason == UNFILEABLE


def _same_file(ref: str) -> str:
    return f"names {ref!r}, filed in this same file; file corrections in a later batch"


#: Checks and appends of one batch when concurrent batches keep filing its refs first.
_ATTEMPTS = 3


class _Validator:
    """Column-wise checks of one file's rows; collects errors and a bad-row mask."""

    def __init__(
        self,
        store: _Before,
        raw: RawRows,
        org: str,
        domains: tuple[str, ...],
        today: dt.date,
        partial: bool = False,
        refs: FileRefs | None = None,
    ) -> None:
        self.store, self.raw, self.org, self.domains, self.today = store, raw, org, domains, today
        self.partial = partial
        #: Refs of the file so far (a chunk checked on its own: a new, empty index).
        self.refs = refs if refs is not None else FileRefs()
        #: Errors of corrections naming a ref filed neither before nor earlier in the file
        #: (a later line may use it: see ``_Filing._resolve``).
        self.unresolved: list[tuple[RowError, str]] = []
        self.n = raw.table.num_rows
        self.lines = raw.lines
        self.errors: list[RowError] = []
        self.refused_targets: set[int] = set()  # rows whose target_ref is already an error
        self.bad = np.zeros(self.n, dtype=bool)
        self.duplicate = np.zeros(self.n, dtype=bool)

    def fail(
        self,
        mask: np.ndarray,
        field_name: str,
        reason: Callable[[int], str] | str,
        column: pa.ChunkedArray | None = None,
    ) -> None:
        """Record an error on every row in ``mask``."""
        for i in np.flatnonzero(mask):
            value = column[int(i)].as_py() if column is not None else None
            text = reason(int(i)) if callable(reason) else reason
            self.errors.append(
                RowError(self.lines[i], field_name, text, None if value is None else str(value))
            )
        self.bad |= mask

    def col(self, name: str) -> pa.ChunkedArray:
        return self.raw.table.column(name)

    def run(self) -> _Validator:
        action = pc.fill_null(
            pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(self.col("action"), pa.string()))), "file"
        )
        self._check_action(action)
        is_retract = np.asarray(pc.equal(action, "retract").to_numpy(zero_copy_only=False))
        strings = {
            name: pc.cast(self.col(name), pa.string())
            for name in ("person", "kind", "ref", "category", "target_ref")
        }
        self._required(strings, is_retract)
        strings["ref"] = self._check_refs(strings["ref"])
        strings["target_ref"] = self._check_target_refs(strings["target_ref"])
        person = pc.utf8_upper(pc.utf8_trim_whitespace(strings["person"]))
        self._check_person(person, is_retract)
        kind = pc.utf8_trim_whitespace(strings["kind"])
        kind_index = self._check_kind(kind, is_retract)
        occurred = self._check_occurred()
        self._check_age(person, occurred, kind_index, is_retract)
        value = self._check_value(kind_index, is_retract)
        category = self._check_category(strings["category"], kind_index, is_retract)
        self._check_repeated_refs(strings["ref"])
        self.existing = self.store.existing_refs(
            self.org, [r for r in strings["ref"].to_pylist() if r]
        )
        self.table = pa.table(
            {
                "person": person,
                "kind": kind,
                "occurred": occurred,
                "value": value,
                "category": category,
                "ref": strings["ref"],
                "action": action,
                "target": pa.nulls(self.n, pa.int64()),
            }
        )
        self._check_corrections(strings["target_ref"], is_retract)
        self._check_existing()
        self._check_registered()
        return self

    # each check -------------------------------------------------------------------------
    def _check_action(self, action: pa.ChunkedArray) -> None:
        ok = pc.is_in(action, value_set=pa.array([a.value for a in Action]))
        self.fail(~_np(ok), "action", "expected file, amend or retract", self.col("action"))

    def _required(self, strings: dict[str, pa.ChunkedArray], is_retract: np.ndarray) -> None:
        for name in ("person", "kind", "ref"):
            empty = _np(
                pc.or_kleene(
                    pc.is_null(strings[name]), pc.equal(pc.utf8_trim_whitespace(strings[name]), "")
                )
            )
            empty = np.asarray(pc.fill_null(pa.array(empty), True))
            if name != "ref":
                empty &= ~is_retract  # a retraction takes these from the record it retracts
            self.fail(empty, name, "required; this row has none")
        occurred_missing = _np(pc.is_null(self.col("occurred"))) & ~is_retract
        self.fail(occurred_missing, "occurred", "required; expected a date YYYY-MM-DD")

    def _check_person(self, person: pa.ChunkedArray, is_retract: np.ndarray) -> None:
        present = _np(pc.is_valid(person))
        values = person.to_pylist()
        ok = valid_mask([v if v is not None and v.isascii() else "" for v in values])
        for i in np.flatnonzero(present & ~ok):
            try:
                parse_resident_id(values[i])
                reason = "not a valid resident ID"
            except OpenCreditError as exc:
                reason = str(exc)
            self.fail(_one(self.n, i), "person", reason, person)

    def _check_registered(self) -> None:
        """Rows about IDs the registry does not hold cannot be filed. Asked last, and only of
        rows that would otherwise be filed, of a batch that would otherwise be filed: a batch
        refused for anything else tells nothing of who is registered (docs/ledger.md)."""
        if self.bad.any() and not self.partial:
            return
        person = self.table.column("person")
        good = ~self.bad & ~self.duplicate & _np(pc.is_valid(person))
        if not good.any():
            return
        unknown = self.store.unknown_persons(
            set(pc.unique(person.filter(pa.array(good))).to_pylist())
        )
        if unknown:
            mask = good & _np(pc.is_in(person, value_set=pa.array(sorted(unknown))))
            self.fail(mask, "person", UNFILEABLE, person)

    def _check_age(
        self,
        person: pa.ChunkedArray,
        occurred: pa.Array,
        kind_index: np.ndarray,
        is_retract: np.ndarray,
    ) -> None:
        """No record before the person's birth, nor before its kind's minimum age.

        The birth date is the one the resident ID encodes (the registry refuses persons whose
        attributes contradict their ID), so no registry read is needed."""
        valid = ~self.bad & _np(pc.is_valid(occurred)) & _np(pc.is_valid(person)) & ~is_retract
        if not valid.any():
            return
        births = pc.strptime(
            pc.utf8_slice_codeunits(person, 6, 14), format="%Y%m%d", unit="s", error_is_null=True
        )
        valid &= _np(pc.is_valid(births))
        if not valid.any():
            return

        def parts(dates: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
            year = np.asarray(pc.fill_null(pc.year(dates), 0).to_numpy(zero_copy_only=False))
            month = pc.fill_null(pc.month(dates), 0).to_numpy(zero_copy_only=False)
            day = pc.fill_null(pc.day(dates), 0).to_numpy(zero_copy_only=False)
            return year, np.asarray(month) * 100 + np.asarray(day)

        (by, bmd), (oy, omd) = parts(births), parts(occurred)
        age = oy - by - (omd < bmd)  # whole years on the record's day
        before = valid & ((oy < by) | ((oy == by) & (omd < bmd)))

        def born(i: int) -> str:
            return births[i].as_py().date().isoformat()  # formatted only for failing rows

        self.fail(
            before,
            "occurred",
            lambda i: (
                f"is before the person was born ({born(i)}, as the resident ID "
                "says); a record is of something the person did"
            ),
            occurred,
        )
        k = np.where(kind_index >= 0, kind_index, 0)
        floor = np.array([kd.min_age_years or 0 for kd in KINDS])[k]
        young = valid & ~before & (kind_index >= 0) & (age < floor)
        self.fail(
            young,
            "occurred",
            lambda i: (
                f"the person was {age[i]} then (born {born(i)}, as the resident "
                f"ID says); {KINDS[k[i]].id} records are of persons aged "
                f"{floor[i]} or over"
            ),
            occurred,
        )

    def _check_kind(self, kind: pa.ChunkedArray, is_retract: np.ndarray) -> np.ndarray:
        ids = pa.array([k.id for k in KINDS])
        index = pc.index_in(kind, value_set=ids)
        idx = np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False))
        unknown = (idx < 0) & _np(pc.is_valid(kind))

        def why(i: int) -> str:
            try:
                get_kind(kind[i].as_py())
            except OpenCreditError as exc:
                return str(exc)
            return "unknown kind"

        self.fail(unknown, "kind", why, kind)
        domains = np.array([k.domain.value in self.domains for k in KINDS] + [True])
        unlicensed = (idx >= 0) & ~domains[idx]
        self.fail(
            unlicensed,
            "kind",
            lambda i: (
                f"organisation {self.org} is licensed for "
                f"{', '.join(self.domains) or 'no domain'}, not {KINDS[idx[i]].domain.value}"
            ),
            kind,
        )
        return idx

    def _check_occurred(self) -> pa.Array:
        raw = self.col("occurred")
        if pa.types.is_date(raw.type) or pa.types.is_timestamp(raw.type):
            dates = pc.cast(raw, pa.date32())
        else:
            text = pc.utf8_trim_whitespace(pc.cast(raw, pa.string()))
            parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
            # strptime rolls impossible dates over (2024-02-30 becomes 2024-03-01): keep only
            # dates that read back exactly as written.
            parsed = pc.if_else(reads_back(parsed, text), parsed, pa.scalar(None, parsed.type))
            dates = pc.cast(parsed, pa.date32())
            unreadable = _np(pc.is_valid(raw)) & ~_np(pc.is_valid(dates))
            self.fail(unreadable, "occurred", "not a date; expected YYYY-MM-DD", raw)
        days = np.asarray(
            pc.fill_null(pc.cast(dates, pa.int32()), 0).to_numpy(zero_copy_only=False)
        )
        present = _np(pc.is_valid(dates))
        future = present & (days > (self.today - dt.date(1970, 1, 1)).days)
        self.fail(future, "occurred", f"is in the future; today is {self.today.isoformat()}", dates)
        ancient = present & (days < (EARLIEST - dt.date(1970, 1, 1)).days)
        self.fail(ancient, "occurred", f"is before {EARLIEST.isoformat()}", dates)
        return dates

    def _check_value(self, kind_index: np.ndarray, is_retract: np.ndarray) -> pa.Array:
        raw = self.col("value")
        values, unreadable = to_float(raw)
        self.fail(unreadable, "value", "not a number", raw)
        has = ~np.isnan(values)
        known = (kind_index >= 0) & ~is_retract
        k = np.where(known, kind_index, 0)
        has_unit = np.array([kd.unit is not None for kd in KINDS])[k]
        lo = np.array([kd.min_value if kd.min_value is not None else -np.inf for kd in KINDS])[k]
        hi = np.array([kd.max_value if kd.max_value is not None else np.inf for kd in KINDS])[k]
        self.fail(
            known & has_unit & ~has & ~unreadable,
            "value",
            lambda i: f"kind {KINDS[k[i]].id} needs a value in {KINDS[k[i]].unit}",
        )
        self.fail(
            known & ~has_unit & has,
            "value",
            lambda i: f"kind {KINDS[k[i]].id} carries no value; leave it empty",
            raw,
        )
        low = known & has_unit & has & (values < lo)
        self.fail(
            low,
            "value",
            lambda i: (
                f"{'is negative' if values[i] < 0 else 'is too small'}; expected at least "
                f"{_num(lo[i])} {KINDS[k[i]].unit} for {KINDS[k[i]].id}"
            ),
            raw,
        )
        high = known & has_unit & has & (values > hi)
        self.fail(
            high,
            "value",
            lambda i: (
                f"is too large; expected at most {_num(hi[i])} {KINDS[k[i]].unit} for "
                f"{KINDS[k[i]].id}"
            ),
            raw,
        )
        return pa.array(values, pa.float64(), mask=~has)

    def _check_category(
        self, category: pa.ChunkedArray, kind_index: np.ndarray, is_retract: np.ndarray
    ) -> pa.Array:
        category = pc.utf8_trim_whitespace(category)
        has = _np(pc.is_valid(category)) & _np(pc.fill_null(pc.not_equal(category, ""), False))
        known = (kind_index >= 0) & ~is_retract
        needs = np.array([kd.needs_category for kd in KINDS])[np.where(known, kind_index, 0)]
        self.fail(
            known & needs & ~has, "category", "purchases need a category from the vetted list"
        )
        self.fail(
            known & ~needs & has,
            "category",
            "only purchases carry a category; leave it empty",
            category,
        )
        vetted = _np(pc.is_in(category, value_set=pa.array(list(PURCHASE_CATEGORIES))))

        def why(i: int) -> str:
            try:
                check_category(category[i].as_py())
            except OpenCreditError as exc:
                return str(exc)
            return "not on the vetted list"

        self.fail(has & ~vetted, "category", why, category)
        return pc.if_else(pa.array(has), category, pa.scalar(None, pa.string()))

    def _check_refs(self, ref: pa.ChunkedArray) -> pa.Array:
        """Trimmed refs; a ref that is not an identifier (see :mod:`.refs`) is an error, and
        is not looked up in the store (it may hold text a database cannot)."""
        trimmed, problems = check_refs(ref, "ref")
        for i, reason in problems.items():
            self.fail(_one(self.n, i), "ref", reason, ref)
        return _without(trimmed, problems)

    def _check_target_refs(self, target_ref: pa.ChunkedArray) -> pa.Array:
        """Trimmed target refs, checked as refs; except that a ref this organisation has
        already filed may always be named, so records filed under older, looser rules (or with a
        ref that should not have been accepted) can still be amended or retracted."""
        trimmed, problems = check_refs(target_ref, "target_ref")
        if not problems:
            return trimmed
        values = trimmed.to_pylist()
        filed = self.store.existing_refs(
            self.org, {values[i] for i in problems if _storable(values[i])}
        )
        refused = {i: why for i, why in problems.items() if values[i] not in filed}
        for i, reason in refused.items():
            self.fail(_one(self.n, i), "target_ref", reason, target_ref)
        self.refused_targets = set(refused)
        return _without(trimmed, refused)

    def _check_repeated_refs(self, ref: pa.Array) -> None:
        """A ref an earlier row of the file used (in this chunk or an earlier one) is an
        error naming that row; each ref's first line is noted for the chunks after."""
        earlier = self.refs.first_lines(pc.unique(ref).drop_null().to_pylist())
        distinct = pc.count_distinct(ref, mode="only_valid").as_py() == pc.count(ref).as_py()
        refs = ref.to_pylist()
        if distinct and not earlier:  # no ref repeats: note them, nothing to name
            valid = [i for i, r in enumerate(refs) if r is not None]
            self.refs.add([refs[i] for i in valid], [self.lines[i] for i in valid])
            return
        first: dict[str, int] = dict(earlier)  # ref -> the line that first used it
        new: dict[str, int] = {}
        repeated = np.zeros(self.n, dtype=bool)
        for i, r in enumerate(refs):
            if r is None:
                continue
            if r in first:
                repeated[i] = True
            else:
                first[r] = new[r] = self.lines[i]
        self.refs.add(list(new), list(new.values()))
        self.fail(
            repeated,
            "ref",
            lambda i: (
                f"repeats the ref of {self.raw.line_word} {first[refs[i]]}; "
                "each record needs its own"
            ),
            ref,
        )

    def _check_corrections(self, target_ref: pa.ChunkedArray, is_retract: np.ndarray) -> None:
        """Resolve ``target_ref`` of amendments and retractions; fill retractions from target."""
        action = self.table.column("action")
        named = pc.and_(pc.is_valid(target_ref), pc.not_equal(target_ref, ""))
        stray = np.flatnonzero(_np(pc.and_(pc.equal(action, "file"), named)))
        correcting = np.flatnonzero(_np(pc.is_in(action, value_set=pa.array(_CORRECTIONS))))
        if not len(stray) and not len(correcting):
            return
        actions = action.to_pylist()
        targets = target_ref.to_pylist()
        for i in map(int, stray):
            self.fail(
                _one(self.n, i),
                "target_ref",
                "only amend and retract rows name a target_ref",
                target_ref,
            )
        if not len(correcting):
            return
        wanted = {targets[i] for i in correcting if targets[i]}
        found = self.store.existing_refs(self.org, wanted)
        # refs of this chunk and the earlier ones (noted by _check_repeated_refs)
        own_refs = self.refs.first_lines(wanted - found.keys())
        cols = {name: self.table.column(name).to_pylist() for name in self.table.column_names}
        for i in map(int, correcting):
            ref = targets[i]
            if i in self.refused_targets:
                continue
            if not ref:
                self.fail(
                    _one(self.n, i),
                    "target_ref",
                    f"{actions[i]} needs the ref of the record it corrects",
                )
                continue
            record = found.get(ref)
            if record is None:
                if ref in own_refs:
                    self.fail(_one(self.n, i), "target_ref", _same_file(ref))
                else:
                    self.fail(
                        _one(self.n, i),
                        "target_ref",
                        f"no record filed by {self.org} has ref {ref!r}",
                    )
                    self.unresolved.append((self.errors[-1], ref))
                continue
            refiled = cols["ref"][i] in self.existing  # a duplicate: compared in _check_existing
            problem = None if refiled else self._correction_problem(record, i, cols)
            if problem:
                self.fail(_one(self.n, i), *problem)
                continue
            self.refs.add_correction(record.seq, self.lines[i])
            cols["target"][i] = record.seq
            if is_retract[i]:
                cols["person"][i] = record.person
                cols["kind"][i] = record.kind
                cols["occurred"][i] = record.occurred
                cols["value"][i] = record.value
                cols["category"][i] = record.category
        self.table = pa.table(
            {
                name: pa.array(values, self.table.schema.field(name).type)
                for name, values in cols.items()
            }
        )

    def _correction_problem(
        self, record: Record, i: int, cols: dict[str, list]
    ) -> tuple[str, str] | None:
        if record.action is Action.RETRACT:
            return "target_ref", f"{record.ref!r} is itself a retraction and cannot be corrected"
        line = self.refs.correcting_line(record.seq)
        if line is not None:
            return "target_ref", (f"{self.raw.line_word} {line} already corrects {record.ref!r}")
        corrected_by = self.store.corrected_by(record.seq)
        if corrected_by is not None:
            return "target_ref", (
                f"{record.ref!r} (record {record.seq}) was already corrected by "
                f"record {corrected_by}; correct that one instead"
            )
        person = cols["person"][i]
        if person is not None and person != record.person:
            return "person", (
                f"a correction cannot move a record to another person "
                f"({record.ref!r} is about {record.person}); retract it and file "
                "a new one"
            )
        return None

    def _check_existing(self) -> None:
        """Refs already in the ledger: the same record again is a duplicate, else an error."""
        existing = self.existing
        if not existing:
            return
        refs = self.table.column("ref").to_pylist()
        cols = {name: self.table.column(name).to_pylist() for name in self.table.column_names}
        for i, ref in enumerate(refs):
            record = existing.get(ref)
            if record is None or self.bad[i]:
                continue
            if _same(record, {name: values[i] for name, values in cols.items()}):
                self.duplicate[i] = True
            else:
                self.fail(
                    _one(self.n, i),
                    "ref",
                    (
                        f"{ref!r} was already filed as record {record.seq} with different content; "
                        "to correct it, file an amend row with target_ref"
                    ),
                    self.table.column("ref"),
                )


def _same(record: Record, row: dict) -> bool:
    value = row["value"]
    same_value = (record.value is None and value is None) or (
        record.value is not None and value is not None and math.isclose(record.value, value)
    )
    target = row["target"]
    return (
        record.person == row["person"]
        and record.kind == row["kind"]
        and record.occurred == row["occurred"]
        and same_value
        and record.category == row["category"]
        and record.action.value == row["action"]
        and record.target == target
    )


def _storable(text: str) -> bool:
    """Text a store may be asked about: printable, and no longer than any ref ever was."""
    return text.isprintable() and len(text) <= _LEGACY_REF_LENGTH


#: Refs could be up to 100 characters before :mod:`.refs` limited them.
_LEGACY_REF_LENGTH = 100


def _without(values: pa.Array, rows: dict[int, str]) -> pa.Array:
    """``values`` with the given rows set to null (their problem is already reported)."""
    if not rows:
        return values
    mask = np.zeros(len(values), dtype=bool)
    mask[list(rows)] = True
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _one(n: int, i: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[i] = True
    return mask


def _num(x: float) -> str:
    return f"{x:g}"
