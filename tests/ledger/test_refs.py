"""Free text cannot carry what structured fields may not: refs are identifiers, records are of
something a person of the right age did, and a refused batch says nothing of who is registered.

Every refusal names the line, the field and the reason, and leaves the ledger as it was (records,
batches and factor state), in every format.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ingest import (  # noqa: F401  (template is a fixture)
    FORMATS,
    ORG,
    PERSONS,
    UNREGISTERED,
    file,
    line_of,
    only_error,
    open_store,
    row,
    snapshot,
    template,
    write,
)

from opencredit.catalog import KINDS_BY_ID
from opencredit.ledger.ingest import UNFILEABLE
from opencredit.ledger.refs import MAX_REF_LENGTH, check_refs, normalise_ref, ref_problem
from opencredit.registry import make_resident_id

#: Born 2010-06-15: 13 on the day of the test records (2024-03-01).
YOUNG = make_resident_id("110101", dt.date(2010, 6, 15), 21)
#: Born 2006-06-15: 18 from 2024-06-15.
NEARLY = make_resident_id("110101", dt.date(2006, 6, 15), 23)


@pytest.fixture
def store(template: Path, tmp_path: Path):  # noqa: F811
    """The ingest tests' store, with YOUNG registered too."""
    store = open_store(template, tmp_path)
    store.add_persons(pa.table({"id": [YOUNG, NEARLY]}))
    yield store
    store.close()


def refused(store, tmp_path: Path, fmt: str, rows: list[dict], **kwargs):
    """File ``rows``; assert it was refused whole and nothing changed; the report."""
    before = snapshot(store)
    report = file(store, write(tmp_path, fmt, rows), **kwargs)
    assert report.rejected_whole and report.receipt is None
    assert snapshot(store) == before  # records, last seq, batches, factor state
    return report


# refs -------------------------------------------------------------------------------------------
REFUSED_REFS = {
    "condoms-order-17": ["reveals reproductive health and contraception", "identifies"],
    "pregnancy-test-3": ["reveals reproductive health and contraception"],
    "order/hiv-clinic/9": ["reveals health"],
    "birth_control.1": ["reveals reproductive health"],
    "WS 1": ["character 3 is ' '", "letters A-Z, digits"],
    "-WS1": ["character 1 is '-'"],
    "a,b": ["character 2 is ','"],
    "r" * (MAX_REF_LENGTH + 1): [f"{MAX_REF_LENGTH + 1} characters long"],
    "WS\u00a0 1": ["character 3"],
    "１２": ["character 1"],
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ref", list(REFUSED_REFS))
def test_a_ref_that_is_not_an_identifier_is_refused(store, tmp_path, fmt, ref):
    report = refused(store, tmp_path, fmt, [row("ok-1"), row(ref)])
    error = only_error(report)
    assert (error.line, error.field) == (line_of(fmt, 1), "ref")
    for part in REFUSED_REFS[ref]:
        assert part in error.reason, error.reason


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])  # CSV cannot hold a NUL or a line break
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\u2028", "\r"])
def test_control_characters_in_a_ref_are_refused_by_name(store, tmp_path, fmt, char):
    report = refused(store, tmp_path, fmt, [row(f"WS{char}1")])
    error = only_error(report)
    assert error.field == "ref" and f"U+{ord(char):04X}" in error.reason


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_ref_is_trimmed_so_padding_does_not_make_a_second_record(store, tmp_path, fmt):
    first = file(store, write(tmp_path, fmt, [row("WS-1")], name="first"))
    assert first.accepted == 1
    again = file(store, write(tmp_path, fmt, [row("  WS-1 ")], name="again"))
    assert again.accepted == 0 and again.duplicates == 1 and again.receipt is None
    assert store.count_records() == 1 and store.record(1).ref == "WS-1"
    both = refused(store, tmp_path, fmt, [row("WS-2"), row(" WS-2")])
    word = "row" if fmt == "parquet" else "line"
    assert only_error(both).reason.startswith(f"repeats the ref of {word} {line_of(fmt, 0)}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_target_ref_is_checked_like_a_ref(store, tmp_path, fmt):
    report = refused(
        store, tmp_path, fmt, [row("a-2", action="retract", target_ref="condom-order-1")]
    )
    error = only_error(report)
    assert error.field == "target_ref" and "reproductive" in error.reason


def test_a_record_filed_under_a_ref_now_refused_can_still_be_retracted(store, tmp_path):
    """Records filed before refs were checked keep their refs; naming one to correct it
    reveals nothing new, and retracting such a record must stay possible."""
    store.append(
        ORG,
        "legacy",
        pa.table(
            {
                "person": [PERSONS[0]],
                "kind": ["red_light"],
                "occurred": pa.array([dt.date(2024, 1, 1)], pa.date32()),
                "value": pa.array([None], pa.float64()),
                "category": pa.array([None], pa.string()),
                "ref": ["condoms-order-17"],
                "action": ["file"],
                "target": pa.array([None], pa.int64()),
            }
        ),
    )
    report = file(
        store,
        write(tmp_path, "csv", [row("fix-1", action="retract", target_ref=" condoms-order-17 ")]),
    )
    assert report.errors == [] and report.accepted == 1
    assert store.record(2).target == 1


# ages ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_record_before_the_persons_birth_is_refused(store, tmp_path, fmt):
    report = refused(
        store,
        tmp_path,
        fmt,
        [
            row(
                "b-1",
                person=YOUNG,
                kind="purchase",
                value="3",
                category="books",
                occurred="2009-12-31",
            )
        ],
    )
    error = only_error(report)
    assert (error.line, error.field, error.value) == (line_of(fmt, 0), "occurred", "2009-12-31")
    assert "before the person was born (2010-06-15" in error.reason


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("kind", "value"),
    [("speeding", "12"), ("red_light", None), ("loan_default", "100"), ("payment_missed", "3")],
)
def test_kinds_with_an_age_floor_refuse_records_of_younger_persons(
    store, tmp_path, fmt, kind, value
):
    report = refused(store, tmp_path, fmt, [row("y-1", person=YOUNG, kind=kind, value=value)])
    error = only_error(report)
    assert (error.line, error.field) == (line_of(fmt, 0), "occurred")
    assert "was 13 then" in error.reason and f"aged {KINDS_BY_ID[kind].min_age_years}" in (
        error.reason
    )


def test_a_purchase_by_a_child_is_filed(store, tmp_path):
    rows = [row("c-1", person=YOUNG, kind="purchase", value="3", category="books")]
    assert file(store, write(tmp_path, "csv", rows)).accepted == 1


def test_the_age_floor_is_reached_on_the_birthday(store, tmp_path):
    rows = [
        row("l-1", person=NEARLY, kind="red_light", value=None, occurred="2024-06-14"),
        row("l-2", person=NEARLY, kind="red_light", value=None, occurred="2024-06-15"),
    ]
    report = file(store, write(tmp_path, "csv", rows), partial=True)
    assert [e.line for e in report.errors] == [2] and report.accepted == 1


def test_driving_and_credit_kinds_have_an_age_floor():
    for kind in ("speeding", "red_light", "drink_driving", "loan_repaid", "loan_default"):
        assert KINDS_BY_ID[kind].min_age_years == 18
    for kind in ("grade_point", "attendance", "purchase"):
        assert KINDS_BY_ID[kind].min_age_years is None


# who is registered ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_refused_batch_says_nothing_of_who_is_registered(store, tmp_path, fmt):
    """A batch refused for anything else gives the same answer for a registered and an
    unregistered ID."""
    answers = []
    for person in (PERSONS[1], UNREGISTERED):
        rows = [row("p-1", person=person), row("p-2", kind="teleport")]
        report = refused(store, tmp_path, fmt, rows)
        answers.append([(e.line, e.field, e.reason) for e in report.errors])
    assert answers[0] == answers[1]
    # an unlicensed kind (education) about either ID: the same answer too
    licence = [
        [
            (e.line, e.field, e.reason)
            for e in refused(
                store, tmp_path, fmt, [row("p-3", person=person, kind="grade_point", value="3")]
            ).errors
        ]
        for person in (PERSONS[1], UNREGISTERED)
    ]
    assert licence[0] == licence[1] and "licensed" in licence[0][0][2]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unregistered_id_only_cannot_be_filed(store, tmp_path, fmt):
    report = refused(store, tmp_path, fmt, [row("u-1"), row("u-2", person=UNREGISTERED)])
    error = only_error(report)
    assert (error.line, error.field, error.reason) == (line_of(fmt, 1), "person", UNFILEABLE)
    assert "registr" not in error.reason


# properties -------------------------------------------------------------------------------------
CONTROL = st.characters(categories=["Cc"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=200, deadline=None)
@given(before=TEXT, control=CONTROL, after=TEXT)
def test_property_any_ref_with_a_control_character_is_refused(before, control, after):
    ref = before + control + after
    trimmed = normalise_ref(ref)
    _, problems = check_refs(pa.array([ref]))
    if any(unicodedata.category(c) == "Cc" for c in trimmed):
        assert ref_problem(trimmed) is not None and problems == {0: ref_problem(trimmed)}
    else:  # control characters that are white space (tab, line breaks) are trimmed off
        assert control not in trimmed and problems.get(0) == ref_problem(trimmed or "x")


@settings(max_examples=200, deadline=None)
@given(ref=TEXT)
def test_property_trimming_is_idempotent_and_checks_agree(ref):
    once = normalise_ref(ref)
    assert normalise_ref(once) == once
    trimmed, problems = check_refs(pa.array([ref]))
    assert trimmed.to_pylist() == [once]
    expected = ref_problem(once) if once else None
    assert problems.get(0) == expected


IDENTIFIER = st.builds(
    "{}-{}".format, st.sampled_from(["WS", "FIN", "TRF", "ord"]), st.integers(0, 10**9)
)


@settings(max_examples=100, deadline=None)
@given(ref=IDENTIFIER, pad=st.sampled_from(["", " ", "\t", "  "]))
def test_property_plain_identifiers_are_accepted_however_padded(ref, pad):
    assert ref_problem(normalise_ref(pad + ref + pad)) is None
