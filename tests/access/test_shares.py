"""Share links: signed, expiring, revocable; they show one policy's score and band only."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac

import pytest
from access_helpers import PEOPLE, TODAY

from opencredit.access import (
    Conflict,
    InvalidRequest,
    NotFound,
    ShareInvalid,
    create_share,
    resolve_share,
    revoke_share,
    shared_score,
    shares_for,
)
from opencredit.access.shares import sign
from opencredit.errors import UnknownName

SECRET = b"s" * 32
UNTIL = TODAY + dt.timedelta(days=7)


def test_a_link_resolves_until_its_last_day(access_store, scorer):
    share = create_share(access_store, SECRET, scorer, PEOPLE[0], "lending@1", UNTIL, TODAY)
    assert share.token.startswith(f"{share.id}.")
    for day in (TODAY, UNTIL):
        assert resolve_share(access_store, SECRET, share.token, day) == share
    with pytest.raises(ShareInvalid, match="expired after") as info:
        resolve_share(access_store, SECRET, share.token, UNTIL + dt.timedelta(days=1))
    assert info.value.reason == "expired" and info.value.status == 410


def test_the_signature_covers_id_person_policy_and_until(access_store, scorer):
    share = create_share(access_store, SECRET, scorer, PEOPLE[0], "lending@1", UNTIL, TODAY)
    message = f"{share.id}|{PEOPLE[0]}|lending@1|{UNTIL.isoformat()}".encode()
    digest = hmac.new(SECRET, message, hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert share.token == f"{share.id}.{expected}"
    assert sign(SECRET, share.id, PEOPLE[1], "lending@1", UNTIL) != expected


def test_what_a_link_shows_is_the_score_and_band_only(access_store, scorer):
    scorer.scores[(PEOPLE[0], "lending")] = 805
    share = create_share(access_store, SECRET, scorer, PEOPLE[0], "lending@1", UNTIL, TODAY)
    shown = shared_score(access_store, SECRET, share.token, scorer, TODAY)
    assert dataclasses.asdict(shown) == {
        "policy_key": "lending@1",
        "score": 805,
        "band": "Exceptional",
        "as_of": TODAY,
        "until": UNTIL,
    }


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nodot",
        ".sig",
        "short.sig",
        "has space here12.sig",
        "abcdefghijklmnopqrstuvwxyz012345.",
        None,
        42,
    ],
)
def test_malformed_tokens(access_store, token):
    with pytest.raises(ShareInvalid, match="malformed") as info:
        resolve_share(access_store, SECRET, token, TODAY)
    assert info.value.reason == "malformed" and info.value.status == 404


def test_unknown_altered_and_foreign_links(access_store, scorer):
    share = create_share(access_store, SECRET, scorer, PEOPLE[0], "lending@1", UNTIL, TODAY)
    with pytest.raises(ShareInvalid, match="unknown share link") as info:
        resolve_share(access_store, SECRET, "A" * 22 + "." + share.token.split(".")[1], TODAY)
    assert info.value.reason == "unknown"
    tampered = share.token[:-2] + ("AA" if not share.token.endswith("AA") else "BB")
    with pytest.raises(ShareInvalid, match="signature does not match") as info:
        resolve_share(access_store, SECRET, tampered, TODAY)
    assert info.value.reason == "signature"
    with pytest.raises(ShareInvalid, match="signature"):  # signed with another server's secret
        resolve_share(access_store, b"t" * 32, share.token, TODAY)


def test_revoking_is_immediate_and_only_by_the_owner(access_store, scorer):
    share = create_share(access_store, SECRET, scorer, PEOPLE[0], "lending@1", UNTIL, TODAY)
    with pytest.raises(NotFound, match="no share link"):
        revoke_share(access_store, PEOPLE[1], share.id, TODAY)
    assert resolve_share(access_store, SECRET, share.token, TODAY) == share
    revoked = revoke_share(access_store, PEOPLE[0], share.id, TODAY, secret=SECRET)
    assert revoked.revoked_on == TODAY and revoked.token == share.token
    with pytest.raises(ShareInvalid, match="revoked on") as info:
        resolve_share(access_store, SECRET, share.token, TODAY)
    assert info.value.reason == "revoked" and info.value.status == 410
    with pytest.raises(Conflict, match="already revoked"):
        revoke_share(access_store, PEOPLE[0], share.id, TODAY)


def test_a_person_lists_their_own_links(access_store, scorer):
    a = create_share(access_store, SECRET, scorer, PEOPLE[0], "lending", UNTIL, TODAY)
    assert a.policy_key == "lending@1"  # an id names its version in force
    b = create_share(
        access_store, SECRET, scorer, PEOPLE[0], "rongcheng@1", UNTIL, TODAY + dt.timedelta(days=1)
    )
    create_share(access_store, SECRET, scorer, PEOPLE[1], "lending@1", UNTIL, TODAY)
    assert shares_for(access_store, PEOPLE[0], secret=SECRET) == [b, a]
    assert [s.token for s in shares_for(access_store, PEOPLE[0])] == [None, None]


@pytest.mark.parametrize(
    ("policy_key", "until", "secret", "error", "message"),
    [
        ("Lending@1", UNTIL, SECRET, UnknownName, "no installed policy"),
        ("payday", UNTIL, SECRET, UnknownName, "no installed policy"),
        ("lending@1", TODAY, SECRET, InvalidRequest, "must end after today"),
        ("lending@1", UNTIL, b"short", ValueError, "at least 32 bytes"),
    ],
)
def test_refused_links(access_store, scorer, policy_key, until, secret, error, message):
    with pytest.raises(error, match=message):
        create_share(access_store, secret, scorer, PEOPLE[0], policy_key, until, TODAY)
    assert shares_for(access_store, PEOPLE[0]) == []
