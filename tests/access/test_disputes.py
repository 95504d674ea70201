"""Disputes: a person disputes their own record, the filing organisation decides, with history."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from access_helpers import BANK, NOW, PEOPLE, SHOP, TODAY, record_rows

from opencredit.access import (
    Conflict,
    InvalidRequest,
    NotFound,
    decide_dispute,
    disputes_for_org,
    disputes_for_person,
    get_dispute,
    note_dispute,
    open_dispute,
)
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS
from opencredit.ledger.sqlite_store import SQLiteStore

LATER = TODAY + dt.timedelta(days=5)


def corrections(ledger, calls=None):
    """A ``file_correction`` that appends an amendment or retraction to the ledger."""

    def file_correction(org: str, action: str, target: int, fields: dict) -> int:
        if calls is not None:
            calls.append((org, action, target, fields))
        old = ledger.record(target)
        row = dict(
            person=old.person,
            kind=old.kind,
            occurred=old.occurred,
            value=old.value,
            category=old.category,
            ref=f"fix-{target}",
            action=action,
            target=target,
        )
        return ledger.append(org, "dispute", record_rows(row | fields)).first_seq

    return file_correction


def ledger_dispute(ledger, person=PEOPLE[0]):
    [d] = ledger.disputes(person)
    return d


def test_opening_a_dispute(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "I paid on time.", TODAY, now=NOW)
    assert (view.seq, view.person, view.org, view.reason, view.opened) == (
        1,
        PEOPLE[0],
        BANK,
        "I paid on time.",
        TODAY,
    )
    assert view.status(TODAY) == "open" and view.decision is None
    assert view.deadline == TODAY + dt.timedelta(days=DISPUTE_DEADLINE_DAYS)
    assert [(e.event, e.actor, e.note, e.at) for e in view.history] == [
        ("opened", PEOPLE[0], "I paid on time.", NOW)
    ]
    d = ledger_dispute(ledger)
    assert (d.seq, d.opened, d.resolved) == (1, TODAY, None)
    assert disputes_for_person(access_store, PEOPLE[0]) == [view]
    assert disputes_for_org(access_store, BANK) == [view]
    assert get_dispute(access_store, view.id, BANK) == view


def test_only_ones_own_records(ledger, access_store):
    with pytest.raises(NotFound, match="no record 3 in your file"):
        open_dispute(ledger, access_store, PEOPLE[0], 3, "Not mine.", TODAY)
    with pytest.raises(NotFound, match="no record 99 in your file"):
        open_dispute(ledger, access_store, PEOPLE[0], 99, "Unknown.", TODAY)
    assert ledger.disputes() == []


def test_one_open_dispute_per_record(ledger, access_store):
    first = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    with pytest.raises(Conflict, match="already has an open dispute"):
        open_dispute(ledger, access_store, PEOPLE[0], 1, "Still wrong.", TODAY)
    open_dispute(ledger, access_store, PEOPLE[0], 2, "This one too.", TODAY)  # another record
    decide_dispute(ledger, access_store, BANK, first.id, "confirm", "Checked: correct.", LATER)
    again = open_dispute(ledger, access_store, PEOPLE[0], 1, "New evidence.", LATER)
    assert again.id != first.id


def test_concurrent_opens_of_one_record_make_one_dispute(ledger, access_store, tmp_path):
    """As from four API workers, each with its own ledger connection."""
    barrier = threading.Barrier(4)
    results: list[object] = []

    def attempt() -> None:
        own = SQLiteStore(tmp_path / "ledger.sqlite")
        barrier.wait()
        try:
            results.append(open_dispute(own, access_store, PEOPLE[0], 1, "Wrong.", TODAY))
        except Conflict as exc:
            results.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(not isinstance(r, Conflict) for r in results) == 1
    assert len(disputes_for_person(access_store, PEOPLE[0])) == 1
    assert sum(d.resolved is None for d in ledger.disputes(PEOPLE[0])) == 1


def test_corrected_records_and_retractions_are_not_disputed(ledger, access_store):
    fix = corrections(ledger)
    retraction = fix(BANK, "retract", 2, {})
    with pytest.raises(Conflict, match=f"corrected by record {retraction}"):
        open_dispute(ledger, access_store, PEOPLE[0], 2, "Wrong.", TODAY)
    with pytest.raises(InvalidRequest, match="retracts record 2"):
        open_dispute(ledger, access_store, PEOPLE[0], retraction, "Wrong.", TODAY)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 4001])
def test_a_reason_is_required(ledger, access_store, reason):
    with pytest.raises(InvalidRequest):
        open_dispute(ledger, access_store, PEOPLE[0], 1, reason, TODAY)


def test_confirm_resolves_and_keeps_history(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    decided = decide_dispute(
        ledger, access_store, BANK, view.id, "confirm", "Our records show it late.", LATER, now=NOW
    )
    assert decided.status(LATER) == "confirmed" and decided.decided_on == LATER
    assert decided.correction_seq is None
    assert [(e.event, e.actor, e.decision) for e in decided.history] == [
        ("opened", PEOPLE[0], None),
        ("decided", BANK, "confirm"),
    ]
    assert ledger_dispute(ledger).resolved == LATER
    assert ledger.max_seq() == 3  # nothing filed


@pytest.mark.parametrize(
    ("decision", "correction"), [("amend", {"occurred": dt.date(2026, 1, 9)}), ("retract", None)]
)
def test_amend_and_retract_file_a_correction(ledger, access_store, decision, correction):
    calls: list = []
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong date.", TODAY)
    decided = decide_dispute(
        ledger,
        access_store,
        BANK,
        view.id,
        decision,
        "Corrected.",
        LATER,
        correction,
        corrections(ledger, calls),
    )
    assert calls == [(BANK, decision, 1, correction or {})]
    assert decided.correction_seq == 4 and ledger.corrected_by(1) == 4
    assert decided.status(LATER) == {"amend": "amended", "retract": "retracted"}[decision]
    assert decided.history[-1].correction_seq == 4
    assert ledger_dispute(ledger).resolved == LATER
    if decision == "amend":
        assert ledger.record(4).occurred == dt.date(2026, 1, 9)


def test_a_failed_correction_leaves_the_dispute_open(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)

    def broken(*_args) -> int:
        raise RuntimeError("ledger unavailable")

    with pytest.raises(RuntimeError):
        decide_dispute(
            ledger, access_store, BANK, view.id, "retract", "Sorry.", LATER, file_correction=broken
        )
    assert get_dispute(access_store, view.id, BANK).status(LATER) == "open"
    assert ledger_dispute(ledger).resolved is None
    decide_dispute(
        ledger,
        access_store,
        BANK,
        view.id,
        "retract",
        "Sorry.",
        LATER,
        file_correction=corrections(ledger),
    )
    assert get_dispute(access_store, view.id, BANK).status(LATER) == "retracted"


def test_only_the_filing_organisation_decides_once(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    # another organisation's dispute is not found, exactly as a missing one, naming no one
    with pytest.raises(NotFound, match=f"^no dispute {view.id} of yours$"):
        decide_dispute(ledger, access_store, SHOP, view.id, "confirm", "Fine.", LATER)
    assert get_dispute(access_store, view.id, BANK).status(LATER) == "open"
    decide_dispute(ledger, access_store, BANK, view.id, "confirm", "Fine.", LATER)
    with pytest.raises(Conflict, match="already decided"):
        decide_dispute(ledger, access_store, BANK, view.id, "confirm", "Again.", LATER)
    with pytest.raises(NotFound, match=r"^no dispute 99 of yours$"):
        decide_dispute(ledger, access_store, BANK, 99, "confirm", "Fine.", LATER)


@pytest.mark.parametrize(
    ("decision", "note", "correction", "message"),
    [
        ("ignore", "Note.", None, "expected one of confirm, amend, retract"),
        ("amend", "Note.", None, "needs the corrected fields"),
        ("confirm", "Note.", {"value": 1.0}, "takes no corrected fields"),
        ("retract", "Note.", {"value": 1.0}, "takes no corrected fields"),
        ("confirm", " ", None, "note explaining the decision is empty"),
    ],
)
def test_malformed_decisions(ledger, access_store, decision, note, correction, message):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    with pytest.raises(InvalidRequest, match=message):
        decide_dispute(
            ledger,
            access_store,
            BANK,
            view.id,
            decision,
            note,
            LATER,
            correction,
            corrections(ledger),
        )
    assert get_dispute(access_store, view.id, BANK).status(LATER) == "open"


def test_unresolved_past_the_deadline_suppresses_until_decided(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    deadline = TODAY + dt.timedelta(days=DISPUTE_DEADLINE_DAYS)
    late = deadline + dt.timedelta(days=1)
    assert view.status(deadline) == "open" and not view.suppresses(deadline)
    assert view.status(late) == "overdue" and view.suppresses(late)
    assert ledger_dispute(ledger).suppresses(late)
    decided = decide_dispute(
        ledger, access_store, BANK, view.id, "confirm", "Late, sorry.", late + dt.timedelta(days=1)
    )
    assert not decided.suppresses(late + dt.timedelta(days=1))
    assert decided.suppresses(late)  # it did suppress the record while undecided


def test_notes_from_either_side_only(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    note_dispute(access_store, BANK, view.id, "We are checking.", LATER)
    note_dispute(access_store, PEOPLE[0], view.id, "Receipt attached.", LATER)
    with pytest.raises(NotFound):
        note_dispute(access_store, PEOPLE[1], view.id, "Nosy.", LATER)
    with pytest.raises(NotFound):
        note_dispute(access_store, SHOP, view.id, "Nosy.", LATER)
    history = get_dispute(access_store, view.id, BANK).history
    assert [(e.event, e.actor) for e in history] == [
        ("opened", PEOPLE[0]),
        ("note", BANK),
        ("note", PEOPLE[0]),
    ]


def test_lists_per_person_and_organisation(ledger, access_store):
    a = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    b = open_dispute(ledger, access_store, PEOPLE[1], 3, "Wrong too.", TODAY)
    decide_dispute(ledger, access_store, BANK, a.id, "confirm", "Fine.", LATER)
    assert [d.id for d in disputes_for_person(access_store, PEOPLE[0])] == [a.id]
    assert [d.id for d in disputes_for_org(access_store, BANK)] == [a.id, b.id]
    assert [d.id for d in disputes_for_org(access_store, BANK, open_only=True)] == [b.id]
    assert disputes_for_org(access_store, SHOP) == []


def test_another_s_dispute_is_looked_up_exactly_as_a_missing_one(ledger, access_store):
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Wrong.", TODAY)
    assert get_dispute(access_store, view.id, PEOPLE[0]) == get_dispute(access_store, view.id, BANK)
    answers = []
    for actor, dispute_id in [(PEOPLE[1], view.id), (SHOP, view.id), (BANK, view.id + 1000)]:
        with pytest.raises(NotFound) as info:
            get_dispute(access_store, dispute_id, actor)
        answers.append(str(info.value).replace(str(dispute_id), "N"))
    assert answers == ["no dispute N of yours"] * 3  # nothing tells them apart
    for actor in (PEOPLE[1], SHOP):
        with pytest.raises(NotFound) as info:
            note_dispute(access_store, actor, view.id, "Nosy.", LATER)
        assert PEOPLE[0] not in str(info.value) and BANK not in str(info.value)


@pytest.mark.parametrize(
    "text", ["nul\x00byte", "escape\x1b[31m", "bell\x07", "bidi\u202eevil", "del\x7f"]
)
def test_control_characters_are_refused_in_reasons_and_notes(ledger, access_store, text):
    with pytest.raises(InvalidRequest, match="control character U\\+"):
        open_dispute(ledger, access_store, PEOPLE[0], 1, text, TODAY)
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "Line one.\n\tLine two.", TODAY)
    assert view.reason == "Line one.\n\tLine two."  # line breaks and tabs are text
    with pytest.raises(InvalidRequest, match="control character"):
        note_dispute(access_store, BANK, view.id, text, LATER)
    with pytest.raises(InvalidRequest, match="control character"):
        decide_dispute(ledger, access_store, BANK, view.id, "confirm", text, LATER)
    assert [e.event for e in get_dispute(access_store, view.id, BANK).history] == ["opened"]


def test_reasons_and_notes_are_bounded(ledger, access_store):
    from opencredit.access.disputes import MAX_TEXT

    with pytest.raises(InvalidRequest, match=f"at most {MAX_TEXT}"):
        open_dispute(ledger, access_store, PEOPLE[0], 1, "x" * (MAX_TEXT + 1), TODAY)
    view = open_dispute(ledger, access_store, PEOPLE[0], 1, "x" * MAX_TEXT, TODAY)
    with pytest.raises(InvalidRequest, match=f"at most {MAX_TEXT}"):
        note_dispute(access_store, PEOPLE[0], view.id, "y" * (MAX_TEXT + 1), LATER)
