"""Unified Social Credit Codes (GB 32100-2015) and their GB 11714 organisation codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencredit.errors import InvalidIdentifier
from opencredit.registry.org_code import (
    CHARSET,
    check_char,
    is_valid_org_code,
    make_org_code,
    org_check_char,
    parse_org_code,
)


def test_example_from_the_standard() -> None:
    parsed = parse_org_code("91350100M000100Y43")
    assert (parsed.authority, parsed.org_type) == ("9", "1")
    assert (parsed.region, parsed.org_code) == ("350100", "M000100Y4")


@pytest.mark.parametrize(
    "value", ["9144030071526726XG", "914403001922038216", "91330100716105852F"]
)
def test_registered_codes_validate(value: str) -> None:
    assert is_valid_org_code(value)


def test_gb_11714_example_check_character() -> None:
    assert org_check_char("D2143569") == "X"  # D2143569-X, the example in GB 11714
    assert org_check_char("M000100Y") == "4"


def test_lower_case_and_surrounding_space_are_accepted() -> None:
    assert parse_org_code(" 91350100m000100y43 ").value == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("91350100M000100Y4", "has 17 characters; expected 18"),
        ("91350100M000100Y433", "has 19 characters; expected 18"),
        ("91350100M000I00Y43", "character 13 is 'I'; expected a digit or a capital letter"),
        ("91350100M000100Y4O", "character 18 is 'O'"),
        ("9135010-M000100Y43", "character 8 is '-'"),
        ("9135A100M000100Y43", "region '35A100' \\(characters 3-8\\) must be 6 digits"),
        ("91350100M000100Y53", "organisation code M000100Y5 has check character '5', expected '4'"),
        ("91350100M000100Y44", "check character is '4', expected '3'"),
    ],
)
def test_each_error_says_what_is_wrong(value: str, message: str) -> None:
    assert not is_valid_org_code(value)
    with pytest.raises(InvalidIdentifier, match=message):
        parse_org_code(value)


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="must be text, not int"):
        parse_org_code(913501001000100143)  # type: ignore[arg-type]
    assert not is_valid_org_code(None)  # type: ignore[arg-type]


regions = st.text("0123456789", min_size=6, max_size=6)
serials = st.integers(0, 99_999_999)
code_chars = st.sampled_from(CHARSET)
valid_codes = st.builds(make_org_code, regions, serials, code_chars, code_chars)


@settings(max_examples=200, deadline=None)
@given(regions, serials, code_chars, code_chars)
def test_make_round_trips_through_parse(
    region: str, serial: int, authority: str, org_type: str
) -> None:
    value = make_org_code(region, serial, authority, org_type)
    parsed = parse_org_code(value)
    assert (parsed.value, parsed.authority, parsed.org_type) == (value, authority, org_type)
    assert (parsed.region, parsed.org_code[:8]) == (region, f"{serial:08d}")


@pytest.mark.parametrize(
    ("region", "serial", "authority", "org_type"),
    [
        ("35010", 1, "9", "1"),
        ("35010a", 1, "9", "1"),
        ("３５０１００", 1, "9", "1"),
        ("350100", -1, "9", "1"),
        ("350100", 100_000_000, "9", "1"),
        ("350100", 1, "I", "1"),
        ("350100", 1, "9", "Z"),
        ("350100", 1, "91", "1"),
    ],
)
def test_make_refuses_parts_that_cannot_form_a_code(
    region: str, serial: int, authority: str, org_type: str
) -> None:
    with pytest.raises(InvalidIdentifier, match="cannot build an organisation code"):
        make_org_code(region, serial, authority, org_type)


@settings(max_examples=200, deadline=None)
@given(valid_codes, st.integers(0, 17), st.integers(1, 30))
def test_every_single_substitution_is_detected(value: str, position: int, step: int) -> None:
    """Weights 3**i are non-zero mod the prime 31, so one changed character always shows."""
    new = CHARSET[(CHARSET.index(value[position]) + step) % 31]
    corrupted = value[:position] + new + value[position + 1 :]
    assert check_char(corrupted[:17]) != corrupted[17]
    assert not is_valid_org_code(corrupted)


@settings(max_examples=200, deadline=None)
@given(valid_codes, st.integers(0, 15))
def test_every_adjacent_transposition_is_detected(value: str, position: int) -> None:
    """Neighbouring weights differ by a non-zero factor mod 31, so a swap always shows."""
    a, b = value[position], value[position + 1]
    swapped = value[:position] + b + a + value[position + 2 :]
    assert is_valid_org_code(swapped) is (a == b)
