"""Issue 9, probe kind 6, through the HTTP API: another's dispute or review is not found (404),
whoever asks and however its id is spelt, and the answer names no owner; nothing is written."""

from __future__ import annotations

import pytest
from api_world import ORG_F, ORG_T, PERSON_A


@pytest.fixture
def dispute(api) -> int:
    """A's dispute of a record F filed."""
    made = api.client.post(
        "/me/disputes",
        json={"seq": api.seq["A_missed"], "reason": "I paid on time"},
        headers=api.h("A"),
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _history(api, dispute_id: int) -> list:
    mine = api.client.get("/me/disputes", headers=api.h("A")).json()
    return [d for d in mine if d["id"] == dispute_id]


@pytest.mark.parametrize(
    ("who", "path"),
    [("T", "/org/disputes/{id}/notes"), ("B", "/me/disputes/{id}/notes")],
)
def test_another_party_cannot_see_or_touch_a_dispute(api, dispute, who, path):
    before = _history(api, dispute)
    for spelt in (str(dispute), f"0{dispute}", f"{dispute}.0", f"+{dispute}"):
        response = api.client.post(
            path.format(id=spelt), json={"note": "mine now"}, headers=api.h(who)
        )
        assert response.status_code in (404, 422), (spelt, response.text)
        text = response.text
        assert PERSON_A not in text and ORG_F not in text and ORG_T not in text
    assert _history(api, dispute) == before


def test_another_scoring_provider_cannot_answer_a_review(api):
    made = api.client.post(
        "/me/reviews",
        json={"policy": "lending", "message": "please look again"},
        headers=api.h("A"),
    )
    assert made.status_code == 201, made.text
    review = made.json()["id"]
    # lending belongs to S2: S is another scoring provider
    response = api.client.post(
        f"/provider/reviews/{review}/answer", json={"answer": "no"}, headers=api.h("S")
    )
    assert response.status_code == 404, response.text
    assert PERSON_A not in response.text
    listed = api.client.get("/provider/reviews", headers=api.h("S")).json()
    assert all(r["id"] != review for r in listed)
