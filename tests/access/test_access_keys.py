"""API keys: shown once, stored hashed, bound to a subject that fits the role, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from access_helpers import BANK, PARTNER, PEOPLE, SHOP
from sqlalchemy import select

from opencredit.access import (
    InvalidRequest,
    NotFound,
    Role,
    authenticate,
    create_key,
    list_keys,
    revoke_key,
)
from opencredit.access.tables import api_keys
from opencredit.errors import InvalidIdentifier, OpenCreditError, UnknownName
from opencredit.ledger.store import Organisation
from opencredit.registry import make_org_code, make_resident_id


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("person", PEOPLE[0]),
        ("data_provider", BANK),
        ("scoring_provider", SHOP),
        ("partner", PARTNER),
        ("regulator", None),
        ("admin", None),
    ],
)
def test_every_role_authenticates_as_itself(access_store, role, subject):
    caller, token = create_key(access_store, role, subject, "laptop")
    assert token.startswith(f"oc_{caller.key_id}_")
    assert caller.role is Role(role) and caller.subject == subject
    assert authenticate(access_store, token) == caller


def test_only_a_hash_of_the_secret_is_stored(access_store):
    caller, token = create_key(access_store, Role.PERSON, PEOPLE[0])
    secret = token.split("_", 2)[2]
    with access_store.read() as conn:
        row = conn.execute(select(api_keys)).one()
    assert secret not in "".join(str(v) for v in row)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = list_keys(access_store)
    assert [k.key_id for k in listed] == [caller.key_id]
    assert not hasattr(listed[0], "secret_hash") and listed[0].active


def test_subjects_are_canonicalised(access_store):
    days = (dt.date(1980, 1, 1) + dt.timedelta(days=n) for n in range(400))
    with_x = next(p for p in (make_resident_id("110101", d, 1) for d in days) if p[-1] == "X")
    caller, _ = create_key(access_store, "person", f" {with_x.lower()} ")
    assert caller.subject == with_x


@pytest.mark.parametrize(
    "token",
    [
        "",
        "oc",
        "oc_",
        "oc__",
        "xx_0123456789abcdef_secret",
        "oc_0123456789abcdef_",
        "oc_short_secret",
        "oc_0123456789abcdef_wrong",
        "Bearer oc_x_y",
        "oc_" + "a" * 300,
    ],
)
def test_malformed_or_unknown_tokens_are_nobody(access_store, token):
    create_key(access_store, "admin", None)
    assert authenticate(access_store, token) is None


def test_a_wrong_secret_for_a_real_key_is_nobody(access_store):
    caller, token = create_key(access_store, "admin", None)
    assert authenticate(access_store, f"oc_{caller.key_id}_{'A' * 43}") is None
    assert authenticate(access_store, token[:-1]) is None


def test_a_revoked_key_is_nobody_at_once(access_store):
    caller, token = create_key(access_store, "partner", PARTNER)
    other, other_token = create_key(access_store, "partner", PARTNER)
    revoke_key(access_store, caller.key_id)
    revoke_key(access_store, caller.key_id)  # again: a no-op
    assert authenticate(access_store, token) is None
    assert authenticate(access_store, other_token) == other
    active = {k.key_id: k.active for k in list_keys(access_store)}
    assert active == {caller.key_id: False, other.key_id: True}


def test_revoking_an_unknown_key(access_store):
    with pytest.raises(NotFound, match="no key"):
        revoke_key(access_store, "ffffffffffffffff")


@pytest.mark.parametrize(
    ("role", "subject", "error", "message"),
    [
        ("person", None, InvalidRequest, "resident ID as subject"),
        ("person", BANK, InvalidIdentifier, "resident ID"),
        ("person", "110101199001011234", InvalidIdentifier, "check"),
        ("partner", None, InvalidRequest, "organisation code"),
        ("partner", PEOPLE[0], InvalidIdentifier, "organisation code"),
        ("data_provider", "bank", InvalidIdentifier, "18"),
        ("regulator", PEOPLE[0], InvalidRequest, "not bound to a subject"),
        ("admin", BANK, InvalidRequest, "not bound to a subject"),
        ("superuser", None, InvalidRequest, "unknown role 'superuser'; expected one of person"),
    ],
)
def test_the_subject_must_fit_the_role(access_store, role, subject, error, message):
    with pytest.raises(error, match=message) as info:
        create_key(access_store, role, subject)
    assert isinstance(info.value, OpenCreditError)
    assert list_keys(access_store) == []


def test_with_the_ledger_subjects_must_be_registered(access_store, ledger):
    unregistered = make_resident_id("110101", dt.date(1970, 1, 1), 9)
    with pytest.raises(UnknownName, match="no person"):
        create_key(access_store, "person", unregistered, ledger=ledger)
    with pytest.raises(UnknownName, match="register the data provider"):
        create_key(access_store, "data_provider", make_org_code("110000", 77), ledger=ledger)
    create_key(access_store, "person", PEOPLE[0], ledger=ledger)


def test_data_providers_carry_their_licensed_domains(access_store, ledger):
    caller, token = create_key(access_store, "data_provider", BANK, ledger=ledger)
    assert caller.domains == ("finance",)
    assert authenticate(access_store, token).domains == ()  # no registry given
    ledger.add_organisation(Organisation(BANK, "Bank", ("finance", "traffic")))
    assert authenticate(access_store, token, ledger=ledger).domains == ("finance", "traffic")
    _, token = create_key(access_store, "partner", PARTNER, ledger=ledger)
    assert authenticate(access_store, token, ledger=ledger).domains == ()


@pytest.mark.parametrize(
    "label", ["nul\x00byte", "line\nbreak", "tab\there", "escape\x1b[2J", "bidi\u202eexe.txt"]
)
def test_labels_with_control_characters_are_refused(access_store, label):
    with pytest.raises(InvalidRequest, match="control character U\\+"):
        create_key(access_store, "regulator", None, label)
    assert list_keys(access_store) == []


def test_labels_are_one_bounded_line(access_store):
    from opencredit.access.keys import MAX_LABEL

    with pytest.raises(InvalidRequest, match=f"at most {MAX_LABEL}"):
        create_key(access_store, "regulator", None, "x" * (MAX_LABEL + 1))
    create_key(access_store, "regulator", None, "  laptop, 3rd floor  ")
    create_key(access_store, "admin", None, "é" * MAX_LABEL)
    assert [k.label for k in list_keys(access_store)] == ["laptop, 3rd floor", "é" * MAX_LABEL]
