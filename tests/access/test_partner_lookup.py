"""A partner's read: granted only under a live consent the policy allows; always logged."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from access_helpers import NOW, OTHER_PARTNER, PARTNER, PEOPLE, TODAY, FakeScorer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opencredit.access import (
    AccessDenied,
    Caller,
    Role,
    grant_consent,
    inquiries_for,
    partner_lookup,
    partner_lookup_async,
    revoke_consent,
)
from opencredit.access.consents import live_consent
from opencredit.access.inquiries import inquiry_values, write_inquiry, write_inquiry_async
from opencredit.errors import InvalidIdentifier, UnknownName
from opencredit.ledger.store import PERSON_SCHEMA
from opencredit.registry import make_resident_id
from opencredit.workspace import Workspace

LATER = TODAY + dt.timedelta(days=30)


def grant(store, policies, person=PEOPLE[0], policy="lending", purpose="lending", **kw):
    return grant_consent(
        store,
        policies,
        person,
        PARTNER,
        policy,
        purpose,
        kw.get("until", LATER),
        kw.get("today", TODAY),
        kw.get("showcase", False),
    )


def test_granted_read_returns_score_band_and_logs_it(access_store, scorer, partner, policies):
    scorer.scores[(PEOPLE[0], "lending")] = 700
    consent = grant(access_store, scorer)
    read = partner_lookup(
        access_store, scorer, partner, PEOPLE[0], "lending", "lending", TODAY, now=NOW
    )
    assert (read.score, read.band, read.policy_key, read.as_of) == (700, "Good", "lending@1", TODAY)
    assert read.consent_id == consent.id
    [inquiry] = inquiries_for(access_store, PEOPLE[0])
    assert (
        inquiry.id,
        inquiry.partner,
        inquiry.policy_key,
        inquiry.purpose,
        inquiry.granted,
        inquiry.at,
        inquiry.reason,
    ) == (read.inquiry_id, PARTNER, "lending@1", "lending", True, NOW, "")


def test_a_versioned_key_reads_under_the_same_consent(access_store, scorer, partner, policies):
    scorer.scores[(PEOPLE[0], "lending")] = 640
    grant(access_store, scorer)
    read = partner_lookup(access_store, scorer, partner, PEOPLE[0], "lending@1", "lending", TODAY)
    assert read.band == "Fair"


@pytest.mark.parametrize(
    ("setup", "policy", "purpose", "reason", "message"),
    [
        ("none", "lending", "lending", "no live consent", "no live consent"),
        ("revoked", "lending", "lending", "no live consent", "no live consent"),
        ("expired", "lending", "lending", "no live consent", "no live consent"),
        ("other_partner", "lending", "lending", "no live consent", "no live consent"),
        ("granted", "lending", "rental_deposit", "no live consent", "no live consent"),
        ("granted", "rongcheng", "lending", "no live consent", "no live consent"),
        (
            "granted",
            "lending",
            "dating_profile",
            "purpose not allowed by the policy",
            "allows only lending, rental_deposit",
        ),
    ],
)
def test_refused_reads_show_no_score_and_are_logged(
    access_store, scorer, partner, policies, setup, policy, purpose, reason, message
):
    scorer.scores[(PEOPLE[0], "lending")] = 742
    scorer.scores[(PEOPLE[0], "rongcheng")] = 1041
    if setup == "revoked":
        revoke_consent(access_store, PEOPLE[0], grant(access_store, scorer).id, TODAY)
    elif setup == "expired":
        grant(
            access_store,
            scorer,
            until=TODAY - dt.timedelta(days=1),
            today=TODAY - dt.timedelta(days=9),
        )
    elif setup == "other_partner":
        grant_consent(
            access_store, scorer, PEOPLE[0], OTHER_PARTNER, "lending", "lending", LATER, TODAY
        )
    elif setup == "granted":
        grant(access_store, scorer)
    with pytest.raises(AccessDenied, match=message) as info:
        partner_lookup(access_store, scorer, partner, PEOPLE[0], policy, purpose, TODAY)
    assert "742" not in str(info.value) and "1041" not in str(info.value)
    assert scorer.calls == 0  # the score is not even computed
    [inquiry] = inquiries_for(access_store, PEOPLE[0])
    assert not inquiry.granted and inquiry.reason == reason and inquiry.purpose == purpose


def test_an_unknown_policy_is_logged_and_named(access_store, scorer, partner):
    with pytest.raises(UnknownName, match="no installed policy"):
        partner_lookup(access_store, scorer, partner, PEOPLE[0], "payday", "lending", TODAY)
    [inquiry] = inquiries_for(access_store, PEOPLE[0])
    assert (inquiry.policy_key, inquiry.granted, inquiry.reason) == (
        "payday",
        False,
        "no such policy",
    )


def test_a_score_that_cannot_be_computed_is_logged_as_refused(
    access_store, scorer, partner, policies
):
    grant(access_store, scorer)  # but the scorer has no score for this person
    with pytest.raises(UnknownName):
        partner_lookup(access_store, scorer, partner, PEOPLE[0], "lending", "lending", TODAY)
    [inquiry] = inquiries_for(access_store, PEOPLE[0])
    assert not inquiry.granted and inquiry.reason == "score unavailable"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.PARTNER])
def test_only_partners_read(access_store, scorer, policies, role):
    scorer.scores[(PEOPLE[0], "lending")] = 700
    grant(access_store, scorer)
    caller = Caller("0123456789abcdef", role, PARTNER if role.subject_kind else None)
    with pytest.raises(AccessDenied, match="only partners"):
        partner_lookup(access_store, scorer, caller, PEOPLE[0], "lending", "lending", TODAY)


def test_a_malformed_resident_id_is_refused_before_logging(access_store, scorer, partner):
    with pytest.raises(InvalidIdentifier):
        partner_lookup(access_store, scorer, partner, "12345", "lending", "lending", TODAY)


def test_the_inquiry_log_is_per_person_newest_first(access_store):
    at = [NOW + dt.timedelta(minutes=m) for m in range(3)]
    for when in at:
        write_inquiry(
            access_store, inquiry_values(PEOPLE[0], PARTNER, "lending@1", "lending", True, when)
        )
    write_inquiry(
        access_store, inquiry_values(PEOPLE[1], PARTNER, "lending@1", "lending", False, NOW, "x")
    )
    assert [i.at for i in inquiries_for(access_store, PEOPLE[0])] == at[::-1]
    assert len(inquiries_for(access_store, PEOPLE[1])) == 1


def test_a_workspace_is_a_scorer(access_store, tmp_path, partner, policies):
    """The real front door fits the Scorer protocol: a person with no records gets the base."""
    person = make_resident_id("110101", dt.date(1985, 5, 5), 11)
    pq.write_table(
        pa.table(
            {
                "id": [person],
                "region": ["110101"],
                "birth_date": [dt.date(1985, 5, 5)],
                "sex": ["M"],
            },
            schema=PERSON_SCHEMA,
        ),
        tmp_path / "persons.parquet",
    )
    with Workspace.init(tmp_path / "data") as ws:
        ws.register_persons(tmp_path / "persons.parquet")
        grant(access_store, ws, person=person)
        read = partner_lookup(access_store, ws, partner, person, "lending", "lending", TODAY)
        assert read.score == ws.score(person, "lending@1", TODAY)[1]
        assert read.band == policies["lending"].band_of(read.score).name


# the invariant ------------------------------------------------------------------------------
PURPOSES = ["lending", "rental_deposit", "dating_profile", "travel_booking"]
DAYS = [TODAY + dt.timedelta(days=n) for n in range(-3, 8)]
_person_serial = iter(range(100, 1000))

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("grant"),
            st.sampled_from(["lending", "sesame-2015"]),
            st.sampled_from(PURPOSES),
            st.sampled_from(DAYS),
            st.integers(1, 6),
            st.sampled_from([PARTNER, OTHER_PARTNER]),
        ),
        st.tuples(st.just("revoke"), st.integers(0, 5)),
        st.tuples(
            st.just("lookup"),
            st.sampled_from(["lending", "sesame-2015", "rongcheng"]),
            st.sampled_from(PURPOSES),
            st.sampled_from(DAYS),
        ),
    ),
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_no_score_without_a_live_allowed_consent_and_one_inquiry_per_attempt(
    access_store, policies, partner, ops
):
    """Against a model of consents: a read succeeds exactly when a live consent to this
    partner, policy and purpose exists and the policy allows the purpose; every attempt adds
    exactly one inquiry."""
    person = make_resident_id("120101", dt.date(1970, 1, 1), next(_person_serial))
    scorer = FakeScorer(list(policies.values()))
    for policy in policies:
        scorer.scores[(person, policy)] = policies[policy].low + 100
    granted = []
    for op in ops:
        if op[0] == "grant":
            _, policy, purpose, day, days, to = op
            if purpose in policies[policy].purposes:
                granted.append(
                    grant_consent(
                        access_store,
                        scorer,
                        person,
                        to,
                        policy,
                        purpose,
                        day + dt.timedelta(days=days),
                        day,
                    )
                )
        elif op[0] == "revoke" and granted:
            consent = granted[op[1] % len(granted)]
            if consent.revoked_on is None:
                granted[granted.index(consent)] = revoke_consent(
                    access_store, person, consent.id, TODAY
                )
        elif op[0] == "lookup":
            _, policy, purpose, day = op
            expected = purpose in policies[policy].purposes and any(
                c.partner == PARTNER
                and c.policy_id == policy
                and c.purpose == purpose
                and c.live(day)
                for c in granted
            )
            before = len(inquiries_for(access_store, person))
            try:
                read = partner_lookup(access_store, scorer, partner, person, policy, purpose, day)
                got = True
                assert read.score == policies[policy].low + 100
                assert live_consent(access_store, person, PARTNER, policy, purpose, day)
            except AccessDenied:
                got = False
            assert got == expected
            log = inquiries_for(access_store, person)
            assert len(log) == before + 1
            assert log[0].granted == got


def _outcome(call):
    try:
        read = call()
    except Exception as exc:  # the refusal, as the caller sees it
        return type(exc).__name__, str(exc)
    return "read", (read.score, read.band, read.policy_key, read.consent_id)


@pytest.mark.parametrize(
    "case",
    ["granted", "no consent", "purpose not allowed", "no such policy", "bad id", "not a partner"],
)
def test_the_async_read_answers_and_logs_as_the_sync_one(
    access_store, scorer, partner, policies, case
):
    """partner_lookup_async (the server's path on SQLite) is partner_lookup on an event loop:
    the same answer or refusal, and the same inquiry logged."""
    scorer.scores[(PEOPLE[0], "lending")] = 700
    if case != "no consent":
        grant(access_store, scorer)
    who = Caller("k", Role.PERSON, PEOPLE[0]) if case == "not a partner" else partner
    args = {
        "granted": (PEOPLE[0], "lending", "lending"),
        "no consent": (PEOPLE[0], "lending", "lending"),
        "purpose not allowed": (PEOPLE[0], "lending", "dating"),
        "no such policy": (PEOPLE[0], "nope", "lending"),
        "bad id": ("12345", "lending", "lending"),
        "not a partner": (PEOPLE[0], "lending", "lending"),
    }[case]
    sync = _outcome(lambda: partner_lookup(access_store, scorer, who, *args, TODAY, now=NOW))
    logged_sync = [
        (i.granted, i.reason, i.policy_key) for i in inquiries_for(access_store, PEOPLE[0])
    ]

    async def read_async():
        return await partner_lookup_async(access_store, scorer, who, *args, TODAY, now=NOW)

    def run_async():
        return asyncio.run(read_async())

    asynchronous = _outcome(run_async)
    logged = [(i.granted, i.reason, i.policy_key) for i in inquiries_for(access_store, PEOPLE[0])]
    assert asynchronous == sync
    assert logged == logged_sync * 2  # each logged once more, identically
    assert (sync[0] == "read") == (case == "granted")


def test_async_and_thread_callers_share_commits_and_lose_nothing(access_store):
    """Inquiries from an event loop and from threads at once: each written once, with its
    own id, every caller answered."""

    def from_threads() -> list[int]:
        with ThreadPoolExecutor(6) as pool:
            return list(
                pool.map(
                    lambda i: (
                        write_inquiry(
                            access_store,
                            inquiry_values(PEOPLE[1], PARTNER, "lending", f"t{i}", True, NOW),
                        ).id
                    ),
                    range(40),
                )
            )

    async def from_loop() -> list[int]:
        loop = asyncio.get_running_loop()
        threads = loop.run_in_executor(None, from_threads)
        mine = await asyncio.gather(
            *(
                write_inquiry_async(
                    access_store, inquiry_values(PEOPLE[1], PARTNER, "lending", f"a{i}", True, NOW)
                )
                for i in range(60)
            )
        )
        return [i.id for i in mine] + await threads

    before = access_store.group.groups
    ids = asyncio.run(from_loop())
    logged = inquiries_for(access_store, PEOPLE[1])
    assert sorted(ids) == sorted(i.id for i in logged) and len(set(ids)) == 100
    assert sorted(i.purpose for i in logged) == sorted(
        [f"t{i}" for i in range(40)] + [f"a{i}" for i in range(60)]
    )
    assert access_store.group.groups - before < 100  # they shared commits
