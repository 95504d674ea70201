"""Registering persons and providers: a file is checked whole, refused by file, row and column,
and nothing is written on refusal; attributes always say what the resident ID says."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from unicodedata import category

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.errors import OpenCreditError
from opencredit.registry import make_org_code, make_resident_id
from opencredit.registry.organisations import MAX_ORG_NAME, InvalidName, check_org_name
from opencredit.registry.persons import PersonsRefused, check_persons
from opencredit.registry.resident_id import check_char
from opencredit.workspace import Workspace

MAN = make_resident_id("110101", dt.date(1990, 1, 2), 11)  # odd 17th digit: M
WOMAN = make_resident_id("440300", dt.date(1985, 7, 30), 22)  # even: F
BAD_CHECK = MAN[:17] + ("0" if check_char(MAN[:17]) != "0" else "1")
BANK = make_org_code("110000", 7)


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace(tmp_path / "data", create=True) as ws:
        yield ws


def persons_file(tmp_path: Path, **columns: list) -> Path:
    path = tmp_path / "persons.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def refused(ws: Workspace, path: Path, *parts: str) -> str:
    """Register ``path``; assert it is refused naming ``parts`` and nobody was registered."""
    before = ws.store.count_persons()
    with pytest.raises(PersonsRefused) as caught:
        ws.register_persons(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for part in parts:
        assert part in message, message
    assert ws.store.count_persons() == before
    return message


def test_ids_alone_register_with_the_attributes_they_encode(ws, tmp_path):
    assert ws.register_persons(persons_file(tmp_path, id=[MAN, WOMAN, f" {MAN.lower()} "])) == 2
    man, woman = ws.store.person(MAN), ws.store.person(WOMAN)
    assert (man.region, man.birth_date, man.sex) == ("110101", dt.date(1990, 1, 2), "M")
    assert (woman.region, woman.birth_date, woman.sex) == ("440300", dt.date(1985, 7, 30), "F")


def test_attributes_that_agree_with_the_id_are_accepted(ws, tmp_path):
    path = persons_file(
        tmp_path,
        id=[MAN, WOMAN],
        region=["110101", "440300"],
        birth_date=[dt.date(1990, 1, 2), dt.date(1985, 7, 30)],
        sex=["M", "f"],
    )
    assert ws.register_persons(path) == 2


@pytest.mark.parametrize(
    ("column", "values", "parts"),
    [
        ("sex", ["F", "F"], ["row 1, column sex", "'F' contradicts the resident ID", "says M"]),
        ("region", ["110102", "440300"], ["row 1, column region", "says 110101"]),
        (
            "birth_date",
            [dt.date(1990, 1, 3), dt.date(1985, 7, 30)],
            ["row 1, column birth_date", "says 1990-01-02"],
        ),
        ("birth_date", ["1990-01-02", "1985-07-31"], ["row 2, column birth_date"]),
        ("birth_date", ["1990-01-02", "1985-7-30"], ["row 2, column birth_date"]),
    ],
)
def test_attributes_that_contradict_the_id_are_refused(ws, tmp_path, column, values, parts):
    refused(ws, persons_file(tmp_path, id=[MAN, WOMAN], **{column: values}), *parts)


def test_a_bad_check_digit_is_refused_by_row(ws, tmp_path):
    refused(
        ws,
        persons_file(tmp_path, id=[MAN, BAD_CHECK]),
        "row 2, column id",
        "check character",
        "nobody registered",
    )


@pytest.mark.parametrize(
    ("bad", "part"),
    [("１１０１０１１９９００１０２０１１X", "digits"), (None, "required"), ("abc", "expected 18")],
)
def test_malformed_ids_are_refused_by_row(ws, tmp_path, bad, part):
    refused(ws, persons_file(tmp_path, id=[MAN, bad]), "row 2, column id", part)


@pytest.mark.parametrize(
    ("column", "parts"),
    [
        ("religion", ["'religion' is refused", "religious or philosophical belief"]),
        ("hiv_status", ["'hiv_status' is refused", "health"]),
        ("ethnicity", ["racial or ethnic origin"]),
        ("nickname", ["not part of the registry format", "optionally region, birth_date, sex"]),
    ],
)
def test_unknown_and_special_category_columns_are_refused_not_dropped(ws, tmp_path, column, parts):
    refused(ws, persons_file(tmp_path, id=[MAN], **{column: ["x"]}), *parts)


def test_nested_or_typed_id_columns_are_refused(ws, tmp_path):
    refused(ws, persons_file(tmp_path, id=[[MAN]]), "column id has type", "expected text")
    refused(ws, persons_file(tmp_path, id=[110101]), "column id has type")


def test_a_file_that_is_not_parquet_is_refused(ws, tmp_path):
    path = tmp_path / "persons.parquet"
    path.write_bytes(b"id\n" + MAN.encode())
    refused(ws, path, "cannot be read as Parquet")
    other = tmp_path / "persons.csv"
    other.write_text("id\n" + MAN)
    refused(ws, other, "expected a Parquet file")


def test_many_bad_rows_are_counted_and_the_first_named(ws, tmp_path):
    message = refused(ws, persons_file(tmp_path, id=[BAD_CHECK] * 9), "9 bad row(s)")
    assert "and 4 more" in message


@settings(max_examples=60, deadline=None)
@given(
    region=st.sampled_from(["110101", "310104", "440300", "650102"]),
    born=st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)),
    sequence=st.integers(0, 999),
    claimed=st.sampled_from(["M", "F"]),
)
def test_property_a_sex_attribute_is_kept_only_if_the_id_says_it(region, born, sequence, claimed):
    pid = make_resident_id(region, born, sequence)
    says = "M" if sequence % 2 else "F"
    table = pa.table({"id": [pid], "sex": [claimed], "birth_date": [born]})
    if claimed == says:
        assert check_persons(table).column("sex").to_pylist() == [says]
    else:
        with pytest.raises(PersonsRefused, match="row 1, column sex"):
            check_persons(table)


# organisations ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("Bank\x00", "U+0000"),
        ("Bank\nDrop", "U+000A"),
        ("Ban\u202ek", "U+202E"),
        ("\x1b[31mBank", "U+001B"),
        ("   ", "empty"),
        ("B" * (MAX_ORG_NAME + 1), f"at most {MAX_ORG_NAME}"),
    ],
)
def test_organisation_names_are_printable_and_bounded(ws, name, part):
    with pytest.raises(InvalidName, match=re.escape(part)):
        ws.register_provider(BANK, name, ["finance"])
    assert ws.store.organisation(BANK) is None
    with pytest.raises(InvalidName):  # and the store refuses it too, whoever calls it
        from opencredit.ledger.store import Organisation

        ws.store.add_organisation(Organisation(BANK, name, ("finance",)))
    assert ws.store.organisation(BANK) is None


def test_organisation_names_that_name_special_categories_are_kept(ws):
    """Public registry data about an organisation, and the words would refuse real providers."""
    for name in ("Credit Union of Shenzhen", "Union Hospital", "Temple Street Bakery"):
        assert ws.register_provider(BANK, f"  {name} ", ["finance"]).name == name


def test_an_unknown_domain_is_a_library_error(ws):
    with pytest.raises(OpenCreditError, match="unknown domain 'fiance'"):
        ws.register_provider(BANK, "Bank", ["fiance"])


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=40))
def test_property_a_kept_name_is_printable_trimmed_and_stable(name):
    try:
        kept = check_org_name(name)
    except InvalidName:
        return
    assert kept == kept.strip() and kept and check_org_name(kept) == kept
    shown = ("Zs",)  # spaces of any width: not printable to Python, but seen
    assert all(c.isprintable() or category(c) in shown or c in "\u200c\u200d" for c in kept)


def test_a_trailing_nul_never_passes_for_an_id(ws, tmp_path):
    """NumPy's strings drop trailing NULs; the vectorised check must not."""
    from opencredit.registry.resident_id import valid_mask

    assert valid_mask([MAN + "\x00", MAN]).tolist() == [False, True]
    refused(ws, persons_file(tmp_path, id=[MAN + "\x00"]), "row 1, column id", "19 characters")
