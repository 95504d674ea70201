"""A registry file of persons is checked whole before anything is registered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opencredit.registry import make_resident_id
from opencredit.registry.persons_file import PersonsFileError, read_persons

BORN = dt.date(1990, 3, 7)
MAN = make_resident_id("110101", BORN, 123)  # odd sequence digit: M
WOMAN = make_resident_id("310104", BORN, 124)


def write(tmp_path: Path, rows: dict, name: str = "persons.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(rows), path)
    return path


def test_a_good_file_is_read_with_the_registry_s_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "id": [MAN, WOMAN],
            "region": ["110101", "310104"],
            "birth_date": [BORN, BORN],
            "sex": ["M", "F"],
            "extra": [1, 2],
        },
    )
    table = read_persons(path)
    assert table.column_names == ["id", "region", "birth_date", "sex"]
    assert table.column("birth_date").type == pa.date32()
    assert table.column("id").to_pylist() == [MAN, WOMAN]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("region", "110102", "region differ"),
        ("birth_date", dt.date(1990, 3, 8), "birth_date differ"),
        ("sex", "F", "sex differ"),
        ("id", MAN[:-1] + ("0" if MAN[-1] != "0" else "1"), "check character"),
        ("id", "123", "has 3 characters"),
    ],
)
def test_a_row_contradicting_its_id_refuses_the_file(tmp_path, column, value, message) -> None:
    rows = {"id": [WOMAN, MAN], "region": ["310104", "110101"], "birth_date": [BORN, BORN]}
    rows["sex"] = ["F", "M"]
    rows[column] = [rows[column][0], value]
    with pytest.raises(PersonsFileError, match=message) as info:
        read_persons(write(tmp_path, rows))
    assert "1 bad rows, nothing was registered; each: row 2:" in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("persons.csv", "id,region,birth_date,sex\n", "not a .parquet file"),
        ("persons.parquet", "not parquet at all", "not a readable Parquet file"),
    ],
)
def test_what_is_not_a_persons_parquet_file(tmp_path, name, content, message) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PersonsFileError, match=message):
        read_persons(path)
    with pytest.raises(PersonsFileError, match="no such file"):
        read_persons(tmp_path / "missing.parquet")


def test_missing_columns_and_wrong_types_are_named(tmp_path: Path) -> None:
    with pytest.raises(PersonsFileError, match="no column birth_date, sex"):
        read_persons(write(tmp_path, {"id": [MAN], "region": ["110101"]}))
    with pytest.raises(PersonsFileError, match="wrong type"):
        read_persons(
            write(tmp_path, {"id": [MAN], "region": ["110101"], "birth_date": [1], "sex": ["M"]})
        )
