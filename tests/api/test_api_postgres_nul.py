"""A NUL character (which PostgreSQL text cannot hold) anywhere in a request is a 4xx naming the
problem, never a 500, with both stores on PostgreSQL; a refused partner read is still logged in
the person's inquiry log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from test_api_postgres import BANK, LENDER, PERSON, TODAY, _client, database, tokens  # noqa: F401

NUL = "\x00"


@pytest.fixture(scope="module")
def clients(tokens: dict[str, str], database: str) -> Iterator[TestClient]:  # noqa: F811
    """A client over the PostgreSQL deployment, today pinned."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENCREDIT_TODAY", TODAY.isoformat())
        with _client(tokens, database, "auto") as client:
            yield client


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {tokens[who]}"}


def _inquiries(client: TestClient, tokens: dict[str, str]) -> list[dict]:  # noqa: F811
    return client.get("/me/inquiries", headers=_h(tokens, "person")).json()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"policy": f"a{NUL}b", "purpose": "lending"}, 404),
        ({"policy": "lending", "purpose": f"lend{NUL}ing"}, 403),
    ],
)
def test_a_partner_read_with_a_nul_is_refused_and_logged(
    clients: TestClient,
    tokens: dict[str, str],  # noqa: F811
    params: dict,
    status: int,
) -> None:
    before = _inquiries(clients, tokens)
    r = clients.get(f"/scores/{PERSON}", headers=_h(tokens, "lender"), params=params)
    assert r.status_code == status, r.text
    assert "score" not in r.json()
    after = _inquiries(clients, tokens)
    assert len(after) == len(before) + 1
    newest = after[0]
    assert newest["granted"] is False and newest["partner"] == LENDER
    # logged as asked, the NUL written out so that it can be stored and shown
    shown = newest["policy_key"] + newest["purpose"]
    assert NUL not in shown and "\\x00" in shown


def test_json_body_fields_with_a_nul_are_a_4xx(
    clients: TestClient,
    tokens: dict[str, str],  # noqa: F811
) -> None:
    person = _h(tokens, "person")
    bodies = [
        (
            "/me/consents",
            {
                "partner": LENDER,
                "policy": "lending",
                "purpose": f"x{NUL}",
                "until": str(TODAY + dt.timedelta(days=3)),
            },
        ),
        ("/me/reviews", {"policy": "lending", "message": f"why{NUL}?"}),
        ("/me/disputes", {"seq": 1, "reason": f"not{NUL}mine"}),
    ]
    for path, body in bodies:
        r = clients.post(path, headers=person, json=body)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        if path != "/me/consents":  # refused earlier: no policy allows that purpose
            detail = r.json()["detail"]
            assert "NUL" in detail or "U+0000" in detail, r.text


def test_a_nul_in_a_path_or_header_is_a_4xx(
    clients: TestClient,
    tokens: dict[str, str],  # noqa: F811
) -> None:
    person = _h(tokens, "person")
    r = clients.get("/me/scores/lend%00ing", headers=person)
    assert 400 <= r.status_code < 500, r.text
    r = clients.post(
        "/me/reviews",
        headers=person | {"Idempotency-Key": "k%00"},
        json={"policy": "lending", "message": "why?"},
    )
    assert r.status_code < 500, r.text
