"""Resident IDs (GB 11643-1999): published examples, each error, ISO 7064 MOD 11-2 guarantees."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.errors import InvalidIdentifier
from opencredit.registry.resident_id import (
    PROVINCES,
    check_char,
    is_valid_resident_id,
    make_resident_id,
    parse_resident_id,
    valid_mask,
)

CHECK_SET = "0123456789X"


def with_check(body: str) -> str:
    """``body`` completed with its right check character, to reach the checks after it."""
    return body + check_char(body)


# The two examples printed in GB 11643-1999 itself.
@pytest.mark.parametrize(
    ("value", "region", "birth", "sequence", "sex"),
    [
        ("11010519491231002X", "110105", dt.date(1949, 12, 31), 2, "F"),
        ("440524188001010014", "440524", dt.date(1880, 1, 1), 1, "M"),
    ],
)
def test_published_examples(
    value: str, region: str, birth: dt.date, sequence: int, sex: str
) -> None:
    parsed = parse_resident_id(value)
    assert (parsed.value, parsed.region, parsed.birth_date) == (value, region, birth)
    assert (parsed.sequence, parsed.sex) == (sequence, sex)
    assert is_valid_resident_id(value)


def test_lower_case_x_and_surrounding_space_are_accepted() -> None:
    assert parse_resident_id(" 11010519491231002x\n").value == "11010519491231002X"


def test_check_character_x_stands_for_ten() -> None:
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11010519491231002", "has 17 characters; expected 18"),
        ("11010519491231002XX", "has 19 characters; expected 18"),
        ("", "has 0 characters; expected 18"),
        ("1101051949A231002X", "character 11 is 'A'; the first 17 characters must be digits"),
        ("11010519491231002-", "check character '-' must be a digit or X"),
        ("１１０１０５１９４９１２３１００２X", "character 1 is '１'"),
        (with_check("99010519491231002"), "starts with 99, which is not a province code"),
        (with_check("00010519491231002"), "starts with 00, which is not a province code"),
        (with_check("11010519490230002"), "birth date 19490230 is not a real date"),
        (with_check("11010519491301002"), "birth date 19491301 is not a real date"),
        (with_check("11010519000229002"), "birth date 19000229 is not a real date"),
        (with_check("11010518791231002"), "1879-12-31 is outside 1880 to today"),
        (with_check("11010529991231002"), "2999-12-31 is outside 1880 to today"),
        ("110105194912310021", "check character is '1', expected 'X'"),
        ("44052418800101001X", "check character is 'X', expected '4'"),
    ],
)
def test_each_error_says_what_is_wrong(value: str, message: str) -> None:
    assert not is_valid_resident_id(value)
    with pytest.raises(InvalidIdentifier, match=message):
        parse_resident_id(value)


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="must be text, not int"):
        parse_resident_id(110105194912310020)  # type: ignore[arg-type]
    assert not is_valid_resident_id(None)  # type: ignore[arg-type]


def test_leap_day_is_a_real_date() -> None:
    assert parse_resident_id(with_check("11010520000229002")).birth_date == dt.date(2000, 2, 29)


regions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCES)),
    st.text("0123456789", min_size=4, max_size=4),
)
birth_dates = st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date.today())
sequences = st.integers(0, 999)
valid_ids = st.builds(make_resident_id, regions, birth_dates, sequences)


@settings(max_examples=200, deadline=None)
@given(regions, birth_dates, sequences)
def test_make_round_trips_through_parse(region: str, birth: dt.date, sequence: int) -> None:
    parsed = parse_resident_id(make_resident_id(region, birth, sequence))
    assert (parsed.region, parsed.birth_date, parsed.sequence) == (region, birth, sequence)
    assert parsed.sex == ("M" if sequence % 2 else "F")


@pytest.mark.parametrize(
    ("region", "birth", "sequence"),
    [
        ("990105", dt.date(1949, 12, 31), 2),
        ("11010", dt.date(1949, 12, 31), 2),
        ("11010a", dt.date(1949, 12, 31), 2),
        ("110105", dt.date(1879, 12, 31), 2),
        ("110105", dt.date.today() + dt.timedelta(days=1), 2),
        ("110105", dt.date(1949, 12, 31), 1000),
        ("110105", dt.date(1949, 12, 31), -1),
    ],
)
def test_make_refuses_parts_that_cannot_form_a_valid_id(
    region: str, birth: dt.date, sequence: int
) -> None:
    with pytest.raises(InvalidIdentifier):
        make_resident_id(region, birth, sequence)


@settings(max_examples=200, deadline=None)
@given(valid_ids, st.integers(0, 17), st.integers(1, 10))
def test_every_single_substitution_is_detected(value: str, position: int, shift: int) -> None:
    """MOD 11-2: weights are non-zero mod the prime 11, so one changed character always shows."""
    alphabet = CHECK_SET if position == 17 else CHECK_SET[:10]
    step = (shift - 1) % (len(alphabet) - 1) + 1  # never a whole turn back to the same character
    new = alphabet[(alphabet.index(value[position]) + step) % len(alphabet)]
    corrupted = value[:position] + new + value[position + 1 :]
    assert check_char(corrupted[:17]) != corrupted[17]
    assert not is_valid_resident_id(corrupted)
    with pytest.raises(InvalidIdentifier):
        parse_resident_id(corrupted)


@settings(max_examples=200, deadline=None)
@given(valid_ids, st.integers(0, 15))
def test_every_adjacent_transposition_is_detected(value: str, position: int) -> None:
    """MOD 11-2 also catches two neighbouring body digits swapped, unless they are equal."""
    a, b = value[position], value[position + 1]
    swapped = value[:position] + b + a + value[position + 2 :]
    assert (check_char(swapped[:17]) == swapped[17]) is (a == b)
    assert is_valid_resident_id(swapped) is (a == b)


def _corrupt(value: str, how: int, position: int, char: str) -> str:
    """A near miss of ``value``: one of several ways bulk files go wrong."""
    if how == 0:
        return value[:position] + char + value[position + 1 :]
    if how == 1:
        return value[:position] + value[position + 1 :]
    if how == 2:
        return value[:position] + char + value[position:]
    return value.lower() if value.endswith("X") else f"  {value}\t"


candidates = st.one_of(
    valid_ids,
    st.builds(
        _corrupt,
        valid_ids,
        st.integers(0, 3),
        st.integers(0, 17),
        st.sampled_from("0123456789Xx A-１é"),
    ),
    # Bodies with their right check character: only the region and date checks can reject.
    st.builds(
        lambda region, year, month, day, seq: with_check(
            f"{region}{year:04d}{month:02d}{day:02d}{seq:03d}"
        ),
        st.one_of(regions, st.text("0123456789", min_size=6, max_size=6)),
        st.integers(1870, dt.date.today().year + 1),
        st.integers(0, 13),
        st.integers(0, 32),
        sequences,
    ),
    st.text(max_size=20),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(candidates, max_size=20))
def test_valid_mask_agrees_with_is_valid(ids: list[str]) -> None:
    mask = valid_mask(ids)
    assert mask.dtype == bool
    assert mask.tolist() == [is_valid_resident_id(v) for v in ids]


def test_valid_mask_takes_arrays_and_empty_input() -> None:
    ids = np.array(["11010519491231002X", "110105194912310021", "440524188001010014"])
    assert valid_mask(ids).tolist() == [True, False, True]
    assert valid_mask([]).tolist() == []
    assert valid_mask(["short", "1"]).tolist() == [False, False]
