"""Issue 9, probe kind 2, through the HTTP API: a disguised name in an uploaded policy, and an
older version read, consented to, showcased or shared for a purpose the version in force
withdrew. Every refusal is a 4xx and nothing is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from api_world import PERSON_A, TODAY

from opencredit.registry import make_org_code

LENDING = (Path(__file__).parents[2] / "policies" / "lending.toml").read_text(encoding="utf-8")
PARTNER = make_org_code("310000", 201)
UNTIL = (TODAY + dt.timedelta(days=30)).isoformat()


def version_2(**changes: str) -> str:
    text = LENDING.replace("version = 1", "version = 2", 1)
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_an_uploaded_policy_with_a_disguised_band_name_is_refused(api):
    bands = [line for line in LENDING.splitlines() if line.startswith("name = ")][1]
    doc = version_2(**{bands: 'name = "\u0455\u0435\u0445"'})  # 'sex' in Cyrillic letters
    before = dict(api.ws.store.policy_documents())
    response = api.client.post("/policies", json={"document": doc}, headers=api.h("S2"))
    assert response.status_code == 422, response.text
    assert "sex" in response.text
    assert api.ws.store.policy_documents() == before


def test_a_version_below_the_version_in_force_is_refused(api):
    up = api.client.post("/policies", json={"document": version_2()}, headers=api.h("S2"))
    assert up.status_code == 201, up.text
    doc = LENDING.replace("version = 1", "version = 1", 1).replace("base = 620", "base = 700")
    response = api.client.post("/policies", json={"document": doc}, headers=api.h("S2"))
    assert response.status_code == 409, response.text


def test_a_withdrawn_purpose_is_withdrawn_from_every_version(api):
    consent = {"partner": PARTNER, "policy": "lending@1", "purpose": "rental_deposit"}
    before = api.client.post(
        "/me/consents", json={**consent, "until": UNTIL, "showcase": True}, headers=api.h("A")
    )
    assert before.status_code == 201, before.text
    listed = api.client.get("/showcase", params={"policy": "lending@1"}, headers=api.h("P"))
    assert [e["consent_id"] for e in listed.json()] == [before.json()["id"]]

    doc = version_2(**{'purposes = ["lending", "rental_deposit"]': 'purposes = ["lending"]'})
    up = api.client.post("/policies", json={"document": doc}, headers=api.h("S2"))
    assert up.status_code == 201, up.text

    # the consent granted before: no longer read, nor listed, under any version
    for policy in ("lending@1", "lending", "lending@2"):
        read = api.client.get(
            f"/scores/{PERSON_A}",
            params={"policy": policy, "purpose": "rental_deposit"},
            headers=api.h("P"),
        )
        assert read.status_code == 403, (policy, read.text)
        assert "score" not in read.json()
        listed = api.client.get("/showcase", params={"policy": policy}, headers=api.h("P"))
        assert listed.status_code == 200 and listed.json() == [], (policy, listed.text)

    # nor granted again, under the old version
    consents = api.client.get("/me/consents", headers=api.h("A")).json()
    again = api.client.post("/me/consents", json={**consent, "until": UNTIL}, headers=api.h("A"))
    assert again.status_code == 422, again.text
    assert api.client.get("/me/consents", headers=api.h("A")).json() == consents

    # and no share link is made for the old version
    share = api.client.post(
        "/me/shares", json={"policy": "lending@1", "until": UNTIL}, headers=api.h("A")
    )
    assert share.status_code == 422, share.text
