"""Purposes are judged against the version of a policy in force, on every path.

lending@2 withdraws ``rental_deposit`` (lending@1 allowed it) and adds ``tenancy``;
sesame-2015@2 withdraws ``dating_profile``. A partner, a consent, a showcase or a share link
naming the older version gets no more than the version in force allows: an older version is
read only for purposes both versions allow (docs/access.md, "Policy versions"). Every refusal
writes nothing (no consent, no share link), and a refused read is logged as refused.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from access_helpers import NOW, PARTNER, PEOPLE, TODAY, FakeScorer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencredit.access import (
    AccessDenied,
    InvalidRequest,
    consents_for,
    create_share,
    grant_consent,
    inquiries_for,
    partner_lookup,
    shared_score,
    shares_for,
    showcase,
)
from opencredit.access.showcase import SHOWCASE_REASON
from opencredit.access.tables import consents
from opencredit.access.versions import choose_policy
from opencredit.policies.model import Policy
from opencredit.registry import make_resident_id

LATER = TODAY + dt.timedelta(days=30)
SECRET = b"s" * 32
REFUSED = "purpose not allowed by the policy"


def version(policy: Policy, number: int, purposes: list[str]) -> Policy:
    """``policy`` as version ``number`` allowing ``purposes``."""
    return policy.model_copy(update={"version": number, "purposes": purposes})


@pytest.fixture
def before(policies) -> FakeScorer:
    """The published policies only: the world before the new versions."""
    return FakeScorer(list(policies.values()))


@pytest.fixture
def after(policies, before) -> FakeScorer:
    """The published policies and their new versions, now in force (the same scores)."""
    lending2 = version(policies["lending"], 2, ["lending", "tenancy"])
    sesame2 = version(policies["sesame-2015"], 2, ["lending", "rental_deposit", "travel_booking"])
    scorer = FakeScorer([*policies.values(), lending2, sesame2])
    scorer.scores = before.scores  # shared: a score set on one is known to both
    return scorer


def grant(store, scorer, purpose, policy="lending", person=PEOPLE[0], showcase=False):
    """``person``'s consent to PARTNER, judged by ``scorer``'s policies."""
    return grant_consent(
        store, scorer, person, PARTNER, policy, purpose, LATER, TODAY, showcase=showcase
    )


# partner reads ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lending@1", "lending", "lending@2"])
def test_a_withdrawn_purpose_is_read_under_no_version(access_store, before, after, partner, name):
    before.scores[(PEOPLE[0], "lending")] = 742
    grant(access_store, before, "rental_deposit")  # granted while lending@1 was in force
    with pytest.raises(AccessDenied, match="rental_deposit") as info:
        partner_lookup(access_store, after, partner, PEOPLE[0], name, "rental_deposit", TODAY)
    assert "742" not in str(info.value)
    if name == "lending@1":
        assert "the version in force, lending@2, no longer allows it" in str(info.value)
    assert after.calls == 0  # the score is not even computed
    [inquiry] = inquiries_for(access_store, PEOPLE[0])
    key = "lending@2" if name == "lending" else name
    assert (inquiry.policy_key, inquiry.purpose, inquiry.granted, inquiry.reason) == (
        key,
        "rental_deposit",
        False,
        REFUSED,
    )


def test_an_older_version_is_read_for_a_purpose_both_versions_allow(
    access_store, before, after, partner
):
    before.scores[(PEOPLE[0], "lending")] = 700
    consent = grant(access_store, before, "lending")
    read = partner_lookup(access_store, after, partner, PEOPLE[0], "lending@1", "lending", TODAY)
    assert (read.policy_key, read.score, read.consent_id) == ("lending@1", 700, consent.id)
    [inquiry] = inquiries_for(access_store, PEOPLE[0])
    assert inquiry.granted and inquiry.policy_key == "lending@1"


def test_a_purpose_only_the_newer_version_allows_is_not_read_under_the_older(
    access_store, after, partner
):
    after.scores[(PEOPLE[0], "lending")] = 700
    grant(access_store, after, "tenancy")
    with pytest.raises(AccessDenied, match=r"'tenancy'; it allows only lending$"):
        partner_lookup(access_store, after, partner, PEOPLE[0], "lending@1", "tenancy", TODAY)
    read = partner_lookup(access_store, after, partner, PEOPLE[0], "lending", "tenancy", TODAY)
    assert read.policy_key == "lending@2"
    assert [(i.policy_key, i.granted) for i in inquiries_for(access_store, PEOPLE[0])] == [
        ("lending@2", True),
        ("lending@1", False),
    ]


# consents -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lending@1", "lending", "lending@2"])
def test_no_consent_is_granted_for_a_withdrawn_purpose(access_store, after, name):
    with pytest.raises(InvalidRequest, match="rental_deposit"):
        grant(access_store, after, "rental_deposit", policy=name)
    assert consents_for(access_store, PEOPLE[0]) == []


def test_a_consent_named_by_an_older_version_is_for_the_policy_id(access_store, after):
    consent = grant(access_store, after, "lending", policy="lending@1")
    assert consent.policy_id == "lending"
    assert consents_for(access_store, PEOPLE[0]) == [consent]


# showcases ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sesame-2015@1", "sesame-2015"])
def test_a_showcase_leaves_out_members_whose_purpose_was_withdrawn(
    access_store, before, after, name
):
    dating, travel = PEOPLE[0], PEOPLE[1]
    for person in (dating, travel):
        before.scores[(person, "sesame-2015")] = 700
    grant(access_store, before, "dating_profile", "sesame-2015", dating, showcase=True)
    kept = grant(access_store, before, "travel_booking", "sesame-2015", travel, showcase=True)
    listing = showcase(access_store, PARTNER, name, after, TODAY, now=NOW)
    assert [e.consent_id for e in listing] == [kept.id]
    assert inquiries_for(access_store, dating) == []  # not shown, so not read
    [inquiry] = inquiries_for(access_store, travel)
    assert (inquiry.reason, inquiry.purpose) == (SHOWCASE_REASON, "travel_booking")


def test_no_showcase_opt_in_for_a_withdrawn_purpose(access_store, after):
    with pytest.raises(InvalidRequest, match="dating_profile"):
        grant(access_store, after, "dating_profile", "sesame-2015@1", showcase=True)
    assert consents_for(access_store, PEOPLE[0]) == []
    assert showcase(access_store, PARTNER, "sesame-2015@1", after, TODAY) == []


# share links --------------------------------------------------------------------------------
def test_no_share_link_for_a_superseded_version(access_store, after):
    with pytest.raises(InvalidRequest, match=r"lending@1 is no longer in force \(lending@2 is\)"):
        create_share(access_store, SECRET, after, PEOPLE[0], "lending@1", LATER, TODAY)
    assert shares_for(access_store, PEOPLE[0]) == []
    share = create_share(access_store, SECRET, after, PEOPLE[0], "lending", LATER, TODAY)
    assert share.policy_key == "lending@2"


def test_a_link_made_before_a_new_version_shows_the_version_in_force(access_store, before, after):
    before.scores[(PEOPLE[0], "lending")] = 700
    share = create_share(access_store, SECRET, before, PEOPLE[0], "lending@1", LATER, TODAY)
    assert shared_score(access_store, SECRET, share.token, before, TODAY).policy_key == "lending@1"
    assert shared_score(access_store, SECRET, share.token, after, TODAY).policy_key == "lending@2"


# the invariant ------------------------------------------------------------------------------
POOL = ["lending", "rental_deposit", "tenancy", "travel_booking"]
_serial = itertools.count(500)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    old=st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True),
    new=st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True),
    purpose=st.sampled_from(POOL),
    name=st.sampled_from(["lending@1", "lending@2", "lending"]),
)
def test_a_version_is_read_and_consented_to_only_for_what_it_and_the_one_in_force_allow(
    access_store, policies, partner, old, new, purpose, name
):
    """Whatever the two versions allow, a read or a consent for ``purpose`` under ``name`` is
    allowed exactly when the version named and the version in force (@2) both allow it, even
    with a consent for every purpose on record (granted before, say)."""
    person = make_resident_id("120101", dt.date(1970, 1, 1), next(_serial))
    v1, v2 = version(policies["lending"], 1, old), version(policies["lending"], 2, new)
    scorer = FakeScorer([v1, v2])
    scorer.scores[(person, "lending")] = 700
    named = v1 if name == "lending@1" else v2
    allowed = purpose in named.purposes and purpose in v2.purposes
    assert choose_policy(scorer, name).allows(purpose) is allowed
    rows = [
        dict(
            person=person,
            partner=PARTNER,
            policy_id="lending",
            purpose=p,
            granted_on=TODAY,
            until=LATER,
            showcase=False,
            revoked_on=None,
        )
        for p in POOL
    ]
    with access_store.write() as conn:
        conn.execute(consents.insert(), rows)
    if allowed:
        read = partner_lookup(access_store, scorer, partner, person, name, purpose, TODAY)
        assert read.policy_key == named.key
        grant_consent(access_store, scorer, person, PARTNER, name, purpose, LATER, TODAY)
    else:
        with pytest.raises(AccessDenied):
            partner_lookup(access_store, scorer, partner, person, name, purpose, TODAY)
        with pytest.raises(InvalidRequest):
            grant_consent(access_store, scorer, person, PARTNER, name, purpose, LATER, TODAY)
    [inquiry] = inquiries_for(access_store, person)
    assert (inquiry.granted, inquiry.policy_key) == (allowed, named.key)
    assert len(consents_for(access_store, person)) == len(POOL) + allowed
