"""Publishing a policy over HTTP, and what a new version changes for partners.

POST /policies admits the policy's owner (a scoring provider) and admins: a version is never
changed (409), nobody publishes another's policy or takes over its id (403; 409 for an
admin), and what `policy lint` calls an error is refused (422). Once a version that withdraws
a purpose is in force, no path reads, grants, lists or shares the older version for it
(docs/access.md, "Policy versions"). Every refusal leaves the policies, the consents and the
share links as they were; a refused read is in the person's inquiry log.
"""

from __future__ import annotations

import re

import pytest
from api_world import ORG_P, ORG_Q, ORG_S, ORG_S2, PERSON_A, World
from sqlalchemy import func, select

from opencredit.access.tables import consents, share_links
from opencredit.policies.model import PUBLISHED_DIR

UNTIL = "2026-12-31"


def document(policy_id: str, version: int = 1, owner: str | None = None, **subs: str) -> str:
    """A published policy's document as ``version``, naming ``owner``, with lines replaced
    (``subs``: a line's start -> the whole new line; the first such line only)."""
    text = (PUBLISHED_DIR / f"{policy_id}.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^version = 1$", f"version = {version}", text)
    if owner is not None:
        text = re.sub(r'(?m)^owner = "[0-9A-Z]{18}"', f'owner = "{owner}"', text)
    for start, line in subs.items():
        text = re.sub(rf"(?m)^{start} = .*$", line, text, count=1)
    return text


#: sesame-2015@2: no longer read for dating profiles.
SESAME_2 = document(
    "sesame-2015", 2, purposes='purposes = ["lending", "rental_deposit", "travel_booking"]'
)


def publish(w: World, who: str, text: str):
    return w.client.post("/policies", headers=w.h(who), json={"document": text})


def state(w: World) -> tuple:
    """The installed policies and every consent and share link."""
    with w.ctx.access.read() as conn:
        rows = [
            conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (consents, share_links)
        ]
    return w.ws.store.policy_documents(), rows


# publishing ---------------------------------------------------------------------------------
def test_the_owner_publishes_a_new_version_once(fresh_world: World) -> None:
    w = fresh_world
    first = publish(w, "S", SESAME_2)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["key"], body["new"], body["document"]) == ("sesame-2015@2", True, SESAME_2)
    assert body["purposes"] == ["lending", "rental_deposit", "travel_booking"]
    assert w.client.get("/policies/sesame-2015").json()["key"] == "sesame-2015@2"
    assert w.ws.store.policy_documents()["sesame-2015@2"] == SESAME_2
    again = publish(w, "S", SESAME_2)
    assert again.status_code == 200 and again.json()["new"] is False
    assert publish(w, "admin", SESAME_2).status_code == 200


@pytest.mark.parametrize(
    ("who", "text", "status", "message"),
    [
        # a version never changes, whoever asks
        ("S", document("sesame-2015", base="base = 600"), 409, "never changes"),
        ("admin", document("sesame-2015", base="base = 600"), 409, "never changes"),
        ("S", "# one more comment\n" + document("sesame-2015"), 409, "comments or layout only"),
        # another's policy, under its owner's name or the caller's own
        ("S", document("lending", 2), 403, "publishes only its own policies"),
        ("S", document("lending", 2, ORG_S), 403, "keeps the owner of its first version"),
        ("admin", document("lending", 2, ORG_S), 409, "keeps the owner of its first version"),
        ("S2", document("sesame-2015", 2, ORG_S2), 403, "keeps the owner of its first version"),
        # roles that never publish
        ("P", SESAME_2, 403, "this needs the role scoring_provider, admin"),
        ("A", SESAME_2, 403, "this needs the role scoring_provider, admin"),
        ("R", SESAME_2, 403, "this needs the role scoring_provider, admin"),
        # what lint calls an error
        ("S", document("sesame-2015", 2, id='id = "age-score"'), 422, "person attribute"),
        (
            "S",
            SESAME_2.replace('"travel_booking"]', '"travel_booking", "religion"]'),
            422,
            "religion",
        ),
        ("S", SESAME_2.replace("[[bands]]", "colour = 'red'\n[[bands]]", 1), 422, "colour"),
        (
            "S",
            SESAME_2.replace('kinds = ["loan_repaid"]', 'kinds = ["contraception"]'),
            422,
            "contraception",
        ),
        ("S", "id = ", 422, "not valid TOML"),
        ("S", SESAME_2.replace("version = 2", "version = 0"), 422, "version"),
    ],
)
def test_refused_publications_install_nothing(fresh_world: World, who, text, status, message):
    w = fresh_world
    before = state(w)
    response = publish(w, who, text)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert "\n" not in response.json()["detail"]
    assert state(w) == before
    assert w.client.get("/policies/sesame-2015").json()["key"] == "sesame-2015@1"


@pytest.mark.parametrize(
    "body",
    [{}, {"document": ""}, {"document": 42}, {"document": SESAME_2, "owner": ORG_S}, []],
)
def test_malformed_bodies_are_422(fresh_world: World, body) -> None:
    before = state(fresh_world)
    r = fresh_world.client.post("/policies", headers=fresh_world.h("S"), json=body)
    assert r.status_code == 422, r.text
    assert state(fresh_world) == before


def test_the_owner_of_lending_publishes_it_and_an_admin_any(fresh_world: World) -> None:
    w = fresh_world
    assert publish(w, "S2", document("lending", 2)).status_code == 201
    assert publish(w, "admin", document("lending", 3)).status_code == 201
    assert w.client.get("/policies/lending").json()["key"] == "lending@3"


# what a partner may do with an older version ------------------------------------------------
@pytest.fixture
def withdrawn(fresh_world: World) -> World:
    """A opted in to Q's showcase for dating (sesame-2015@1 allowed it), and to P for travel;
    then S published sesame-2015@2, which no longer allows dating."""
    w = fresh_world
    for partner, purpose in ((ORG_Q, "dating_profile"), (ORG_P, "travel_booking")):
        body = {"partner": partner, "policy": "sesame-2015", "purpose": purpose}
        r = w.client.post(
            "/me/consents", headers=w.h("A"), json=body | {"until": UNTIL, "showcase": True}
        )
        assert r.status_code == 201, r.text
    assert publish(w, "S", SESAME_2).status_code == 201
    return w


@pytest.mark.parametrize("policy", ["sesame-2015@1", "sesame-2015", "sesame-2015@2"])
def test_a_partner_reads_no_version_for_a_withdrawn_purpose(withdrawn: World, policy) -> None:
    w = withdrawn
    params = {"policy": policy, "purpose": "dating_profile"}
    r = w.client.get(f"/scores/{PERSON_A}", headers=w.h("Q"), params=params)
    assert r.status_code == 403 and "dating_profile" in r.json()["detail"]
    assert "score" not in r.json()
    [latest, *_] = w.client.get("/me/inquiries", headers=w.h("A")).json()
    assert (latest["partner"], latest["purpose"], latest["granted"], latest["reason"]) == (
        ORG_Q,
        "dating_profile",
        False,
        "purpose not allowed by the policy",
    )


def test_an_older_version_is_read_for_a_purpose_both_allow(withdrawn: World) -> None:
    w = withdrawn
    params = {"policy": "sesame-2015@1", "purpose": "travel_booking"}
    r = w.client.get(f"/scores/{PERSON_A}", headers=w.h("P"), params=params)
    assert r.status_code == 200, r.text
    assert r.json()["policy_key"] == "sesame-2015@1"


@pytest.mark.parametrize("policy", ["sesame-2015@1", "sesame-2015"])
def test_no_consent_or_showcase_opt_in_for_a_withdrawn_purpose(withdrawn: World, policy) -> None:
    w = withdrawn
    before = state(w)
    body = {"partner": ORG_Q, "policy": policy, "purpose": "dating_profile", "until": UNTIL}
    for showcase in (False, True):
        r = w.client.post("/me/consents", headers=w.h("A"), json=body | {"showcase": showcase})
        assert r.status_code == 422 and "dating_profile" in r.json()["detail"]
    assert state(w) == before


@pytest.mark.parametrize("policy", ["sesame-2015@1", "sesame-2015"])
def test_a_showcase_lists_no_member_for_a_withdrawn_purpose(withdrawn: World, policy) -> None:
    w = withdrawn
    r = w.client.get("/showcase", headers=w.h("Q"), params={"policy": policy})
    assert r.status_code == 200 and r.json() == []
    shown = w.client.get("/showcase", headers=w.h("P"), params={"policy": policy}).json()
    assert len(shown) == 1  # A's travel consent: both versions allow travel


def test_no_share_link_for_a_superseded_version(withdrawn: World) -> None:
    w = withdrawn
    before = state(w)
    r = w.client.post(
        "/me/shares", headers=w.h("A"), json={"policy": "sesame-2015@1", "until": UNTIL}
    )
    assert r.status_code == 422 and "no longer in force" in r.json()["detail"]
    assert state(w) == before
    r = w.client.post(
        "/me/shares", headers=w.h("A"), json={"policy": "sesame-2015", "until": UNTIL}
    )
    assert r.status_code == 201 and r.json()["policy_key"] == "sesame-2015@2"
