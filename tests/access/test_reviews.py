"""Human review (GDPR Art. 22): the person asks, only the owning provider answers, once."""

from __future__ import annotations

import datetime as dt

import pytest
from access_helpers import BANK, PEOPLE, PROVIDER, TODAY

from opencredit.access import (
    Conflict,
    InvalidRequest,
    NotFound,
    answer_review,
    request_review,
    reviews_for,
    reviews_for_provider,
)
from opencredit.access.reviews import MAX_TEXT
from opencredit.errors import InvalidIdentifier

LATER = TODAY + dt.timedelta(days=3)


def test_request_and_answer_stay_in_the_file(access_store):
    review = request_review(
        access_store,
        PEOPLE[0],
        "lending@1",
        "  My late payment was the bank's error.  ",
        TODAY,
        PROVIDER,
    )
    assert review.message == "My late payment was the bank's error." and not review.answered
    assert reviews_for_provider(access_store, PROVIDER, unanswered_only=True) == [review]
    answered = answer_review(access_store, PROVIDER, review.id, "A reviewer checked it.", LATER)
    assert (answered.answer, answered.answered_on) == ("A reviewer checked it.", LATER)
    assert reviews_for(access_store, PEOPLE[0]) == [answered]
    assert reviews_for_provider(access_store, PROVIDER, unanswered_only=True) == []
    assert reviews_for_provider(access_store, PROVIDER) == [answered]


def test_only_the_owning_provider_answers(access_store):
    review = request_review(access_store, PEOPLE[0], "lending@1", "Please review.", TODAY, PROVIDER)
    # another provider's request is not found, exactly as a missing one, naming no one
    with pytest.raises(NotFound) as other:
        answer_review(access_store, BANK, review.id, "Not mine to answer.", LATER)
    with pytest.raises(NotFound) as missing:
        answer_review(access_store, BANK, review.id + 1000, "Not mine to answer.", LATER)
    assert str(other.value).replace(str(review.id), "N") == str(missing.value).replace(
        str(review.id + 1000), "N"
    )
    assert PROVIDER not in str(other.value) and "lending" not in str(other.value)
    assert reviews_for(access_store, PEOPLE[0]) == [review]
    assert reviews_for_provider(access_store, BANK) == []


def test_a_review_is_answered_once(access_store):
    review = request_review(access_store, PEOPLE[0], "lending@1", "Please review.", TODAY, PROVIDER)
    answer_review(access_store, PROVIDER, review.id, "First answer.", LATER)
    with pytest.raises(Conflict, match="already answered"):
        answer_review(access_store, PROVIDER, review.id, "Second answer.", LATER)
    assert reviews_for(access_store, PEOPLE[0])[0].answer == "First answer."


def test_answering_an_unknown_review(access_store):
    with pytest.raises(NotFound, match="no review request 99"):
        answer_review(access_store, PROVIDER, 99, "Answer.", LATER)


@pytest.mark.parametrize(
    ("person", "policy_key", "message", "provider", "error", "match"),
    [
        (PEOPLE[0], "lending@1", "   ", PROVIDER, InvalidRequest, "is empty"),
        (PEOPLE[0], "lending@1", "x" * (MAX_TEXT + 1), PROVIDER, InvalidRequest, "at most"),
        (PEOPLE[0], "lending", "Why?", PROVIDER, InvalidRequest, "id@version"),
        (PEOPLE[0], "lending@1", "Why?", "acme", InvalidIdentifier, "organisation code"),
        ("someone", "lending@1", "Why?", PROVIDER, InvalidIdentifier, "resident ID"),
    ],
)
def test_refused_requests(access_store, person, policy_key, message, provider, error, match):
    with pytest.raises(error, match=match):
        request_review(access_store, person, policy_key, message, TODAY, provider)
    assert reviews_for_provider(access_store, PROVIDER) == []


def test_an_empty_answer_is_refused(access_store):
    review = request_review(access_store, PEOPLE[0], "lending@1", "Why?", TODAY, PROVIDER)
    with pytest.raises(InvalidRequest, match="the answer is empty"):
        answer_review(access_store, PROVIDER, review.id, "", LATER)


@pytest.mark.parametrize("text", ["nul\x00byte", "escape\x1b[2J", "bidi\u2066x"])
def test_control_characters_are_refused_in_requests_and_answers(access_store, text):
    with pytest.raises(InvalidRequest, match="control character"):
        request_review(access_store, PEOPLE[0], "lending@1", text, TODAY, PROVIDER)
    review = request_review(access_store, PEOPLE[0], "lending@1", "Please.", TODAY, PROVIDER)
    with pytest.raises(InvalidRequest, match="control character"):
        answer_review(access_store, PROVIDER, review.id, text, LATER)
    assert not reviews_for(access_store, PEOPLE[0])[0].answered
