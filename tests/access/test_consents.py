"""Consents: granted for one policy and purpose until a date, revocable, kept in history."""

from __future__ import annotations

import datetime as dt

import pytest
from access_helpers import OTHER_PARTNER, PARTNER, PEOPLE, TODAY

from opencredit.access import (
    Conflict,
    InvalidRequest,
    NotFound,
    consents_for,
    grant_consent,
    live_consent,
    revoke_consent,
)
from opencredit.access.consents import consents_to
from opencredit.errors import InvalidIdentifier

LATER = TODAY + dt.timedelta(days=30)


def test_a_granted_consent_is_live_through_its_last_day(access_store, scorer):
    c = grant_consent(access_store, scorer, PEOPLE[0], PARTNER, "lending", "lending", LATER, TODAY)
    assert (c.person, c.partner, c.policy_id, c.purpose, c.until) == (
        PEOPLE[0],
        PARTNER,
        "lending",
        "lending",
        LATER,
    )
    for day in (TODAY, LATER):
        assert live_consent(access_store, PEOPLE[0], PARTNER, "lending", "lending", day) == c
        assert c.live(day)
    for day in (TODAY - dt.timedelta(days=1), LATER + dt.timedelta(days=1)):
        assert live_consent(access_store, PEOPLE[0], PARTNER, "lending", "lending", day) is None
        assert not c.live(day)


def test_a_consent_covers_only_its_partner_policy_and_purpose(access_store, scorer):
    grant_consent(access_store, scorer, PEOPLE[0], PARTNER, "lending", "lending", LATER, TODAY)
    misses = [
        (PEOPLE[1], PARTNER, "lending", "lending"),
        (PEOPLE[0], OTHER_PARTNER, "lending", "lending"),
        (PEOPLE[0], PARTNER, "rongcheng", "lending"),
        (PEOPLE[0], PARTNER, "lending", "rental_deposit"),
    ]
    for person, partner, policy, purpose in misses:
        assert live_consent(access_store, person, partner, policy, purpose, TODAY) is None


def test_revoking_ends_it_at_once_and_keeps_it_in_history(access_store, scorer):
    c = grant_consent(access_store, scorer, PEOPLE[0], PARTNER, "lending", "lending", LATER, TODAY)
    revoked = revoke_consent(access_store, PEOPLE[0], c.id, TODAY)
    assert revoked.revoked_on == TODAY and not revoked.live(TODAY)
    assert live_consent(access_store, PEOPLE[0], PARTNER, "lending", "lending", TODAY) is None
    assert consents_for(access_store, PEOPLE[0]) == [revoked]
    assert consents_to(access_store, PARTNER, TODAY) == []
    with pytest.raises(Conflict, match="already revoked"):
        revoke_consent(access_store, PEOPLE[0], c.id, TODAY)


def test_nobody_revokes_another_persons_consent(access_store, scorer):
    c = grant_consent(access_store, scorer, PEOPLE[0], PARTNER, "lending", "lending", LATER, TODAY)
    with pytest.raises(NotFound, match=f"no consent {c.id}"):
        revoke_consent(access_store, PEOPLE[1], c.id, TODAY)
    with pytest.raises(NotFound):
        revoke_consent(access_store, PEOPLE[0], c.id + 100, TODAY)
    assert live_consent(access_store, PEOPLE[0], PARTNER, "lending", "lending", TODAY) == c


def test_the_longest_of_several_live_consents_is_used(access_store, scorer):
    lending = "lending"
    short = grant_consent(
        access_store, scorer, PEOPLE[0], PARTNER, lending, "lending", LATER, TODAY
    )
    long = grant_consent(
        access_store,
        scorer,
        PEOPLE[0],
        PARTNER,
        lending,
        "lending",
        LATER + dt.timedelta(days=9),
        TODAY,
    )
    assert live_consent(access_store, PEOPLE[0], PARTNER, "lending", "lending", TODAY) == long
    revoke_consent(access_store, PEOPLE[0], long.id, TODAY)
    assert live_consent(access_store, PEOPLE[0], PARTNER, "lending", "lending", TODAY) == short
    assert [c.id for c in consents_for(access_store, PEOPLE[0])] == [long.id, short.id]


def test_a_purpose_the_policy_does_not_allow_is_refused(access_store, scorer):
    with pytest.raises(InvalidRequest, match="allows only lending, rental_deposit"):
        grant_consent(
            access_store, scorer, PEOPLE[0], PARTNER, "lending", "dating_profile", LATER, TODAY
        )
    assert consents_for(access_store, PEOPLE[0]) == []


@pytest.mark.parametrize("until", [TODAY, TODAY - dt.timedelta(days=1)])
def test_a_consent_must_end_after_today(access_store, scorer, until):
    with pytest.raises(InvalidRequest, match="must end after today"):
        grant_consent(access_store, scorer, PEOPLE[0], PARTNER, "lending", "lending", until, TODAY)


@pytest.mark.parametrize(
    ("person", "partner"), [("nobody", PARTNER), (PEOPLE[0], "acme"), (PEOPLE[0], PEOPLE[1])]
)
def test_invalid_identifiers_are_refused(access_store, scorer, person, partner):
    with pytest.raises(InvalidIdentifier):
        grant_consent(access_store, scorer, person, partner, "lending", "lending", LATER, TODAY)
