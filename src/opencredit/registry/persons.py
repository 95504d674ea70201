"""Registering persons: a file of resident IDs, checked whole before anything is written.

The only required column is ``id``. ``region``, ``birth_date`` and ``sex`` may be given, and
then must say what the ID says (GB 11643: region digits 1-6, birth date 7-14, an odd 17th digit
for a man): the registry keeps the attributes the ID encodes, so a file cannot register a
person whose attributes contradict their ID. Any other column is refused, by name (one that
reveals special-category data says so); nothing is dropped silently. A file with any bad row
registers nobody; the error names the file, the row and the column (docs/ledger.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opencredit.errors import InvalidIdentifier, OpenCreditError
from opencredit.registry.resident_id import parse_resident_id, valid_mask

#: The registry's columns: ``id`` and the attributes it encodes.
PERSON_COLUMNS = ("id", "region", "birth_date", "sex")
#: Problems named in a refusal before "and N more".
SHOWN_PROBLEMS = 5

_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("region", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
    ]
)


class PersonsRefused(OpenCreditError, ValueError):
    """A persons file (or table) refused whole: nobody was registered."""


def read_persons(path: str | Path) -> pa.Table:
    """A Parquet file of persons, checked (see :func:`check_persons`)."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        raise PersonsRefused(f"{path}: expected a Parquet file (.parquet) of persons")
    if not path.is_file():
        raise PersonsRefused(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise PersonsRefused(f"{path}: cannot be read as Parquet: {first}") from None
    return check_persons(table, str(path))


def check_persons(table: pa.Table, source: str = "persons") -> pa.Table:
    """The persons of ``table`` with the attributes their IDs encode (the registry's schema),
    or :class:`PersonsRefused` naming every bad row and column (the first few in full)."""
    _check_columns(source, table.column_names)
    problems: list[tuple[int, str, str]] = []
    ids = _text(source, table, "id")
    ids = pc.utf8_upper(pc.utf8_trim_whitespace(ids))
    present = _np(pc.is_valid(ids))
    values = ids.to_pylist()
    ok = valid_mask([v if v is not None and v.isascii() else "" for v in values])
    for i in np.flatnonzero(~present):
        problems.append((int(i), "id", "required; expected an 18-character resident ID"))
    for i in np.flatnonzero(present & ~ok):
        try:
            parse_resident_id(values[i])
            why = "not a valid resident ID"
        except InvalidIdentifier as exc:
            why = str(exc)
        problems.append((int(i), "id", why))
    good = present & ok
    safe = pc.if_else(pa.array(good), ids, pa.scalar("110101190001010010"))
    encoded = {
        "region": pc.utf8_slice_codeunits(safe, 0, 6),
        "birth_date": pc.cast(
            pc.strptime(pc.utf8_slice_codeunits(safe, 6, 14), format="%Y%m%d", unit="s"),
            pa.date32(),
        ),
        "sex": pc.if_else(
            pc.equal(
                pc.bit_wise_and(pc.cast(pc.utf8_slice_codeunits(safe, 16, 17), pa.int8()), 1), 1
            ),
            "M",
            "F",
        ),
    }
    for name in ("region", "birth_date", "sex"):
        if name in table.column_names:
            problems += _contradictions(source, table, name, encoded[name], good)
    if problems:
        problems.sort()
        shown = "; ".join(
            f"row {i + 1}, column {col}: {why}" for i, col, why in problems[:SHOWN_PROBLEMS]
        )
        more = len(problems) - SHOWN_PROBLEMS
        rows = len({i for i, _, _ in problems})
        raise PersonsRefused(
            f"{source}: {rows:,} bad row(s), nobody registered: {shown}"
            + (f"; and {more:,} more" if more > 0 else "")
        )
    return pa.table(
        {"id": ids, **{name: encoded[name] for name in ("region", "birth_date", "sex")}},
        schema=_SCHEMA,
    )


def _check_columns(source: str, names: list[str]) -> None:
    from opencredit.catalog import special_category_of

    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise PersonsRefused(f"{source}: column {repeated[0]!r} appears more than once")
    for name in names:
        if name in PERSON_COLUMNS:
            continue
        special = special_category_of(name)
        why = (
            f"it reveals {special}, special-category data that opencredit never records"
            if special
            else "not part of the registry format"
        )
        raise PersonsRefused(
            f"{source}: column {name[:80]!r} is refused, nobody registered: {why}; expected "
            "the column id and optionally region, birth_date, sex (as the ID encodes them)"
        )
    if "id" not in names:
        raise PersonsRefused(f"{source}: no column id; expected a column of resident IDs")


def _text(source: str, table: pa.Table, name: str) -> pa.ChunkedArray:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (
        pa.types.is_string(column.type)
        or pa.types.is_large_string(column.type)
        or pa.types.is_null(column.type)
    ):
        raise PersonsRefused(f"{source}: column {name} has type {column.type}; expected text")
    return pc.cast(column, pa.string())


def _contradictions(
    source: str, table: pa.Table, name: str, encoded: pa.Array, good: np.ndarray
) -> list[tuple[int, str, str]]:
    """Rows whose given ``name`` is missing or differs from what the ID encodes."""
    column = table.column(name)
    if name == "birth_date":
        if pa.types.is_date(column.type):
            given = pc.cast(column, pa.date32())
        else:
            text = pc.utf8_trim_whitespace(_text(source, table, name))
            shaped = pc.match_substring_regex(text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            text = pc.if_else(shaped, text, pa.scalar(None, pa.string()))
            parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
            given = pc.cast(parsed, pa.date32())
            # strptime rolls 2024-02-30 over: only dates that read back as written
            same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text)
            given = pc.if_else(pc.fill_null(same, False), given, pa.scalar(None, pa.date32()))
        expected = "a date YYYY-MM-DD"
    else:
        given = pc.utf8_trim_whitespace(_text(source, table, name))
        if name == "sex":
            given = pc.utf8_upper(given)
        expected = "6 digits" if name == "region" else "M or F"
    # a missing attribute contradicts nothing: the registry keeps what the ID says
    differs = good & _np(pc.is_valid(column)) & ~_np(pc.equal(given, encoded))
    if not differs.any():
        return []
    raw = column.to_pylist()
    return [
        (
            int(i),
            name,
            f"{str(raw[i])[:40]!r} contradicts the resident ID, which says "
            f"{encoded[int(i)].as_py()} (expected {expected}, as the ID encodes it)",
        )
        for i in np.flatnonzero(differs)
    ]


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)
