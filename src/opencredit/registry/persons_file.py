"""Reading a registry file of persons (Parquet: id, region, birth_date, sex), checked whole.

A file with any bad row is refused and nothing is registered. Each person's region, birth
date and sex must be the ones their resident ID encodes (GB 11643-1999), so the registry
never holds attributes that contradict the ID.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opencredit.errors import OpenCreditError
from opencredit.registry.resident_id import parse_resident_id, valid_mask

COLUMNS = ("id", "region", "birth_date", "sex")
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("region", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
    ]
)
#: Bad rows named in the error; the count says how many there are in all.
ROWS_NAMED = 5
_EXPECTED = f"expected a Parquet file with columns {', '.join(COLUMNS)}"


class PersonsFileError(OpenCreditError, ValueError):
    """A persons file that cannot be registered: unreadable, wrong columns or bad rows."""


def read_persons(path: str | Path) -> pa.Table:
    """The persons in ``path``, checked; :class:`PersonsFileError` names what is wrong."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        raise PersonsFileError(f"{path}: not a .parquet file; {_EXPECTED}")
    if not path.is_file():
        raise PersonsFileError(f"{path}: no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise PersonsFileError(f"{path}: not a readable Parquet file ({exc})") from None
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise PersonsFileError(f"{path}: no column {', '.join(missing)}; {_EXPECTED}")
    try:
        table = table.select(list(COLUMNS)).cast(SCHEMA)
    except (pa.ArrowException, ValueError) as exc:
        raise PersonsFileError(
            f"{path}: a column has the wrong type ({exc}); expected id, region and sex as "
            "text and birth_date as a date"
        ) from None
    _check_rows(path, table)
    return table


def _check_rows(path: Path, table: pa.Table) -> None:
    ids = pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(table.column("id"), "")))
    ok = valid_mask(ids.to_pylist())
    good_ids = pc.if_else(pa.array(ok), ids, "000000190001010000")
    birth = pc.strftime(pc.cast(table.column("birth_date"), pa.timestamp("s")), "%Y%m%d")
    digit = pc.cast(pc.utf8_slice_codeunits(good_ids, 16, 17), pa.int8())
    sex = pc.if_else(pc.equal(pc.bit_wise_and(digit, 1), 1), "M", "F")
    agrees = {
        "region": pc.equal(table.column("region"), pc.utf8_slice_codeunits(good_ids, 0, 6)),
        "birth_date": pc.equal(birth, pc.utf8_slice_codeunits(good_ids, 6, 14)),
        "sex": pc.equal(table.column("sex"), sex),
    }
    bad = ~ok
    for column in agrees.values():
        bad |= ~np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    named = []
    for i in rows[:ROWS_NAMED]:
        i = int(i)
        value = ids[i].as_py()
        if not ok[i]:
            try:
                parse_resident_id(value)
                why = "not a valid resident ID"
            except OpenCreditError as exc:
                why = str(exc)
        else:
            wrong = [name for name, column in agrees.items() if not column[i].as_py()]
            why = f"{', '.join(wrong)} differ(s) from what resident ID {value} encodes"
        named.append(f"row {i + 1}: {why}")
    first = f"the first {len(named)}" if len(rows) > len(named) else "each"
    raise PersonsFileError(
        f"{path}: {len(rows):,} bad rows, nothing was registered; {first}: {'; '.join(named)}"
    )
