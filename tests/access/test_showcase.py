"""A partner's showcase: opted-in members ranked by band then score; leaving by revoking."""

from __future__ import annotations

import dataclasses
import datetime as dt

from access_helpers import NOW, OTHER_PARTNER, PARTNER, PEOPLE, TODAY

from opencredit.access import (
    grant_consent,
    inquiries_for,
    revoke_consent,
    showcase,
)
from opencredit.access.showcase import SHOWCASE_REASON

LATER = TODAY + dt.timedelta(days=30)


def opt_in(
    store,
    policies,
    person,
    showcase=True,
    purpose="dating_profile",
    partner=PARTNER,
    policy="sesame-2015",
):
    return grant_consent(
        store, policies, person, partner, policy, purpose, LATER, TODAY, showcase=showcase
    )


def test_members_are_ranked_best_band_first_then_score(access_store, scorer, policies):
    # sesame-2015 bands: Poor 350-549, Fair 550-599, ...; the higher band ranks first.
    scores = {PEOPLE[0]: 560, PEOPLE[1]: 720, PEOPLE[2]: 540, PEOPLE[3]: 590}
    consents = {}
    for person, score in scores.items():
        scorer.scores[(person, "sesame-2015")] = score
        consents[person] = opt_in(access_store, scorer, person)
    listing = showcase(access_store, PARTNER, "sesame-2015", scorer, TODAY, now=NOW)
    policy = policies["sesame-2015"]
    assert [e.score for e in listing] == [720, 590, 560, 540]
    assert [e.band for e in listing] == [policy.band_of(s).name for s in (720, 590, 560, 540)]
    assert [e.rank for e in listing] == [1, 2, 3, 4]
    assert [e.consent_id for e in listing] == [consents[PEOPLE[i]].id for i in (1, 3, 0, 2)]
    assert {e.policy_key for e in listing} == {"sesame-2015@1"}


def test_entries_show_no_identifier_or_attribute(access_store, scorer):
    scorer.scores[(PEOPLE[0], "sesame-2015")] = 600
    opt_in(access_store, scorer, PEOPLE[0])
    [entry] = showcase(access_store, PARTNER, "sesame-2015", scorer, TODAY)
    shown = dataclasses.asdict(entry)
    assert set(shown) == {"rank", "consent_id", "band", "score", "policy_key"}
    text = " ".join(str(v) for v in shown.values())
    assert PEOPLE[0][:6] not in text and PEOPLE[0][-4:] not in text


def test_only_live_showcase_consents_to_this_partner_and_policy(access_store, scorer):
    for person in PEOPLE:
        scorer.scores[(person, "sesame-2015")] = 600
        scorer.scores[(person, "lending")] = 600
    opt_in(access_store, scorer, PEOPLE[0])  # in
    opt_in(access_store, scorer, PEOPLE[1], showcase=False)  # consent, no showcase
    opt_in(access_store, scorer, PEOPLE[2], partner=OTHER_PARTNER)  # another partner
    opt_in(access_store, scorer, PEOPLE[3], policy="lending", purpose="lending")  # other policy
    gone = opt_in(access_store, scorer, PEOPLE[4])
    revoke_consent(access_store, PEOPLE[4], gone.id, TODAY)  # left by revoking
    listing = showcase(access_store, PARTNER, "sesame-2015", scorer, TODAY)
    assert len(listing) == 1
    assert (
        showcase(access_store, PARTNER, "sesame-2015", scorer, LATER + dt.timedelta(days=1)) == []
    )


def test_a_member_with_two_showcase_consents_is_listed_once(access_store, scorer):
    scorer.scores[(PEOPLE[0], "sesame-2015")] = 600
    opt_in(access_store, scorer, PEOPLE[0])
    opt_in(access_store, scorer, PEOPLE[0], purpose="travel_booking")
    assert len(showcase(access_store, PARTNER, "sesame-2015", scorer, TODAY)) == 1


def test_every_member_shown_gets_one_inquiry(access_store, scorer):
    for person in PEOPLE[:2]:
        scorer.scores[(person, "sesame-2015")] = 600
        opt_in(access_store, scorer, person)
    opt_in(access_store, scorer, PEOPLE[2])  # no score: not shown, not logged
    showcase(access_store, PARTNER, "sesame-2015", scorer, TODAY, now=NOW)
    for person in PEOPLE[:2]:
        [inquiry] = inquiries_for(access_store, person)
        assert (
            inquiry.partner,
            inquiry.policy_key,
            inquiry.purpose,
            inquiry.granted,
            inquiry.reason,
            inquiry.at,
        ) == (PARTNER, "sesame-2015@1", "dating_profile", True, SHOWCASE_REASON, NOW)
    assert inquiries_for(access_store, PEOPLE[2]) == []
