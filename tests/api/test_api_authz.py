"""The authorisation matrix: every endpoint x every kind of caller x own or another's object.

A row per endpoint (method, path, the role it admits, and a request factory per variant: the
caller's own object, or another's); a column per caller: no key, a malformed key, a revoked
key, and a valid key of each of the six roles. Every cell states its expected status. A
refused cell must also change nothing: the ledger and every access table but the inquiry log
(where a refused partner read belongs) are compared before and after. The matrix must name
every route of the app, so a new endpoint without a row fails here.

The tests after the matrix show the rules behind its cells with their content: what a refused
partner read leaves in the person's inquiry log, the licence named when a provider files
outside its domains, and so on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from api_world import (
    ORG_F,
    ORG_P,
    ORG_Q,
    ORG_S,
    ORG_S2,
    ORG_T,
    PERSON_A,
    PERSON_B,
    TODAY,
    World,
    bearer,
    unique,
)
from sqlalchemy import select

from opencredit import access
from opencredit.access import Role
from opencredit.access.tables import (
    api_keys,
    consents,
    dispute_cases,
    dispute_events,
    reviews,
    share_links,
)
from opencredit.policies.model import PUBLISHED_DIR

UNTIL = TODAY + dt.timedelta(days=120)
#: The callers, in the matrix's column order. A key of each role (see conftest.KEYS).
CALLERS = {
    "none": None,
    "bad": "oc_0123456789abcdef_not-a-real-secret",
    "revoked": "revoked",
    "person": "A",
    "data_provider": "F",
    "scoring_provider": "S",
    "partner": "P",
    "regulator": "R",
    "admin": "admin",
}


@dataclass
class Req:
    """One request: path with its parameters filled in, and what to send."""

    path: str
    json: dict | None = None
    params: dict | None = None
    files: dict | None = None
    data: dict | None = None


@dataclass
class Shared:
    """Objects the matrix points at, made once: another person's, another organisation's."""

    share_token: str = ""
    consent_b: int = 0
    share_b: str = ""
    dispute_of_t: int = 0  # A disputes a record T filed: F may not decide it
    dispute_of_f: int = 0  # A disputes a record F filed: left open for the refused cells
    dispute_of_b: int = 0  # B disputes a record F filed: A may not add notes to it
    review_of_lending: int = 0  # addressed to S2: S may not answer it
    review_of_sesame: int = 0  # addressed to S: left unanswered for the refused cells
    a_record: int = 0


#: A request factory: (world, shared objects, fresh) -> Req. ``fresh`` is True in the cell
#: expected to succeed, where the factory makes a new object of the caller's own to act on.
Factory = Callable[[World, Shared, bool], Req]


@dataclass
class Row:
    """One endpoint: the role it admits (None: public) and its variants' expected statuses."""

    method: str
    path: str
    role: Role | tuple[Role, ...] | None
    #: A variant's status, or its status per admitted role.
    variants: dict[str, tuple[Factory, int | dict[Role, int]]] = field(default_factory=dict)


def fixed(path: str, **kwargs) -> Factory:
    """A factory for a request that needs no object of its own."""
    return lambda w, s, fresh: Req(path, **kwargs)


def record(kind: str = "loan_repaid", **fields) -> dict:
    """A record of A's to file, with a new ref."""
    return dict(person=PERSON_A, kind=kind, occurred="2026-01-10", ref=unique("mx"), **fields)


def csv_of(rec: dict) -> bytes:
    names = list(rec)
    return (",".join(names) + "\n" + ",".join(str(rec[n]) for n in names) + "\n").encode()


def fresh_consent(w: World, s: Shared, fresh: bool) -> Req:
    if not fresh:
        return Req(f"/me/consents/{s.consent_b}")  # any id: the guard comes first
    c = access.grant_consent(
        w.ctx.access, w.ws, PERSON_A, ORG_Q, "lending", "lending", UNTIL, TODAY
    )
    return Req(f"/me/consents/{c.id}")


def fresh_share(w: World, s: Shared, fresh: bool) -> Req:
    if not fresh:
        return Req(f"/me/shares/{s.share_b}")
    share = access.create_share(
        w.ctx.access, w.ctx.secret, w.ws, PERSON_A, "lending@1", UNTIL, TODAY
    )
    return Req(f"/me/shares/{share.id}")


def fresh_dispute_body(w: World, s: Shared, fresh: bool) -> Req:
    seq = w.file(ORG_F, **record()) if fresh else s.a_record
    return Req("/me/disputes", json={"seq": seq, "reason": "I never had this loan"})


def fresh_decision(w: World, s: Shared, fresh: bool) -> Req:
    dispute_id = s.dispute_of_f
    if fresh:
        seq = w.file(ORG_F, **record())
        dispute_id = access.open_dispute(
            w.ws.store, w.ctx.access, PERSON_A, seq, "not me", TODAY
        ).id
    return Req(
        f"/org/disputes/{dispute_id}/decision",
        json={"decision": "confirm", "note": "checked against our books"},
    )


def fresh_answer(w: World, s: Shared, fresh: bool) -> Req:
    review_id = s.review_of_sesame
    if fresh:
        review_id = access.request_review(
            w.ctx.access, PERSON_A, "sesame-2015@1", "why?", TODAY, ORG_S
        ).id
    return Req(f"/provider/reviews/{review_id}/answer", json={"answer": "We checked by hand."})


def fresh_key(w: World, s: Shared, fresh: bool) -> Req:
    caller, _ = access.create_key(w.ctx.access, "regulator", None, "to revoke")
    return Req(f"/admin/keys/{caller.key_id}")


def policy_document(policy_id: str, version: int, owner: str) -> str:
    """A published policy's document as ``version`` and ``owner`` (and ``id``)."""
    text = (PUBLISHED_DIR / f"{policy_id}.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^version = 1$", f"version = {version}", text)
    return re.sub(r'(?m)^owner = "[0-9A-Z]{18}"', f'owner = "{owner}"', text)


def own_policy(w: World, s: Shared, fresh: bool) -> Req:
    """S publishes its own sesame-2015@1 again, as installed: a no-op (200), so that the
    world's policies stay as they are (tests/api/test_policy_publishing.py installs new ones)."""
    return Req("/policies", json={"document": policy_document("sesame-2015", 1, ORG_S)})


def upload(rec: dict) -> Factory:
    return lambda w, s, fresh: Req(
        "/records/upload",
        files={"file": ("records.csv", csv_of(rec | {"ref": unique("up")}), "text/csv")},
    )


P, DP, SP, PA, REG, ADM = (
    Role.PERSON,
    Role.DATA_PROVIDER,
    Role.SCORING_PROVIDER,
    Role.PARTNER,
    Role.REGULATOR,
    Role.ADMIN,
)
SPEEDING = dict(kind="speeding", value=15)
READ = {"policy": "lending", "purpose": "lending"}

ROWS = [
    # public
    Row("GET", "/policies", None, {"-": (fixed("/policies"), 200)}),
    Row("GET", "/policies/{name}", None, {"-": (fixed("/policies/lending"), 200)}),
    Row(
        "GET",
        "/shared/{token}",
        None,
        {"-": (lambda w, s, fresh: Req(f"/shared/{s.share_token}"), 200)},
    ),
    Row("GET", "/openapi.json", None, {"-": (fixed("/openapi.json"), 200)}),
    Row("GET", "/docs", None, {"-": (fixed("/docs"), 200)}),
    Row("GET", "/docs/oauth2-redirect", None, {"-": (fixed("/docs/oauth2-redirect"), 200)}),
    Row("GET", "/redoc", None, {"-": (fixed("/redoc"), 200)}),
    # person
    Row("GET", "/me/file", P, {"-": (fixed("/me/file"), 200)}),
    Row("GET", "/me/scores/{policy}", P, {"-": (fixed("/me/scores/lending"), 200)}),
    Row(
        "POST",
        "/me/consents",
        P,
        {
            "own": (
                fixed("/me/consents", json={"partner": ORG_P, "until": str(UNTIL), **READ}),
                201,
            ),
            # naming another person is not a thing a person can do: the field does not exist
            "other": (
                fixed(
                    "/me/consents",
                    json={"partner": ORG_P, "until": str(UNTIL), "person": PERSON_B, **READ},
                ),
                422,
            ),
        },
    ),
    Row("GET", "/me/consents", P, {"-": (fixed("/me/consents"), 200)}),
    Row(
        "DELETE",
        "/me/consents/{consent_id}",
        P,
        {
            "own": (fresh_consent, 200),
            "other": (lambda w, s, fresh: Req(f"/me/consents/{s.consent_b}"), 404),
        },
    ),
    Row("GET", "/me/inquiries", P, {"-": (fixed("/me/inquiries"), 200)}),
    Row(
        "POST",
        "/me/disputes",
        P,
        {
            "own": (fresh_dispute_body, 201),
            "other": (
                lambda w, s, fresh: Req(
                    "/me/disputes", json={"seq": w.seq["B_missed"], "reason": "not mine"}
                ),
                404,
            ),
        },
    ),
    Row("GET", "/me/disputes", P, {"-": (fixed("/me/disputes"), 200)}),
    Row(
        "POST",
        "/me/disputes/{dispute_id}/notes",
        P,
        {
            "own": (
                lambda w, s, fresh: Req(
                    f"/me/disputes/{s.dispute_of_f}/notes",
                    json={"note": "here is my bank statement"},
                ),
                200,
            ),
            "other": (
                lambda w, s, fresh: Req(
                    f"/me/disputes/{s.dispute_of_b}/notes", json={"note": "meddling"}
                ),
                404,
            ),
        },
    ),
    Row(
        "POST",
        "/me/reviews",
        P,
        {"-": (fixed("/me/reviews", json={"policy": "sesame-2015", "message": "Why?"}), 201)},
    ),
    Row(
        "POST",
        "/me/shares",
        P,
        {"-": (fixed("/me/shares", json={"policy": "lending", "until": str(UNTIL)}), 201)},
    ),
    Row(
        "DELETE",
        "/me/shares/{share_id}",
        P,
        {
            "own": (fresh_share, 200),
            "other": (lambda w, s, fresh: Req(f"/me/shares/{s.share_b}"), 404),
        },
    ),
    # data provider: "other" is a record outside its licensed domains
    Row(
        "POST",
        "/records",
        DP,
        {
            "own": (lambda w, s, fresh: Req("/records", json=record()), 201),
            "other": (lambda w, s, fresh: Req("/records", json=record(**SPEEDING)), 422),
        },
    ),
    Row(
        "POST",
        "/records/batch",
        DP,
        {
            "own": (lambda w, s, fresh: Req("/records/batch", json={"records": [record()]}), 201),
            "other": (
                lambda w, s, fresh: Req(
                    "/records/batch", json={"records": [record(), record(**SPEEDING)]}
                ),
                422,
            ),
        },
    ),
    Row(
        "POST",
        "/records/upload",
        DP,
        {
            "own": (upload(record()), 201),
            "other": (upload(record(**SPEEDING)), 422),
        },
    ),
    Row("GET", "/org/disputes", DP, {"-": (fixed("/org/disputes"), 200)}),
    Row(
        "POST",
        "/org/disputes/{dispute_id}/notes",
        DP,
        {
            "own": (
                lambda w, s, fresh: Req(
                    f"/org/disputes/{s.dispute_of_f}/notes", json={"note": "we are looking into it"}
                ),
                200,
            ),
            "other": (
                lambda w, s, fresh: Req(
                    f"/org/disputes/{s.dispute_of_t}/notes", json={"note": "not ours"}
                ),
                404,
            ),
        },
    ),
    Row(
        "POST",
        "/org/disputes/{dispute_id}/decision",
        DP,
        {
            "own": (fresh_decision, 200),
            "other": (
                lambda w, s, fresh: Req(
                    f"/org/disputes/{s.dispute_of_t}/decision",
                    json={"decision": "confirm", "note": "looks right"},
                ),
                404,  # another's is not found, never a 403 naming its owner
            ),
        },
    ),
    # partner: "own" is a person who consented, "other" one who did not
    Row(
        "GET",
        "/scores/{person}",
        PA,
        {
            "own": (fixed(f"/scores/{PERSON_A}", params=READ), 200),
            "other": (fixed(f"/scores/{PERSON_B}", params=READ), 403),
        },
    ),
    Row("GET", "/showcase", PA, {"-": (fixed("/showcase", params={"policy": "sesame-2015"}), 200)}),
    # publishing: "own" is S's own policy as installed (a no-op), "other" a version of S2's
    # lending naming S as owner, a takeover (403 for S; 409 for an admin, who may publish any
    # owner's policy but not change an id's owner)
    Row(
        "POST",
        "/policies",
        (SP, ADM),
        {
            "own": (own_policy, 200),
            "other": (
                fixed("/policies", json={"document": policy_document("lending", 2, ORG_S)}),
                {SP: 403, ADM: 409},
            ),
        },
    ),
    # scoring provider: "own" is a review of its policy, "other" of another provider's
    Row("GET", "/provider/reviews", SP, {"-": (fixed("/provider/reviews"), 200)}),
    Row(
        "POST",
        "/provider/reviews/{review_id}/answer",
        SP,
        {
            "own": (fresh_answer, 200),
            "other": (
                lambda w, s, fresh: Req(
                    f"/provider/reviews/{s.review_of_lending}/answer",
                    json={"answer": "Not ours to answer."},
                ),
                404,  # another's is not found, never a 403 naming its owner
            ),
        },
    ),
    # regulator
    Row(
        "GET",
        "/regulator/distribution",
        REG,
        {"-": (fixed("/regulator/distribution", params={"policy": "lending"}), 200)},
    ),
    Row(
        "GET",
        "/regulator/bands",
        REG,
        {"-": (fixed("/regulator/bands", params={"policy": "lending"}), 200)},
    ),
    Row("GET", "/regulator/disputes", REG, {"-": (fixed("/regulator/disputes"), 200)}),
    # admin
    Row(
        "POST",
        "/admin/keys",
        ADM,
        {"-": (fixed("/admin/keys", json={"role": "regulator", "label": "matrix"}), 201)},
    ),
    Row("GET", "/admin/keys", ADM, {"-": (fixed("/admin/keys"), 200)}),
    Row("DELETE", "/admin/keys/{key_id}", ADM, {"-": (fresh_key, 204)}),
]


def expected(row: Row, caller: str, status: int) -> int:
    """The status ``caller`` gets from ``row``, given what its admitted role gets."""
    if row.role is None:
        return 200  # public: no key needed, and a bad one is not even looked at
    if caller in ("none", "bad", "revoked"):
        return 401
    roles = row.role if isinstance(row.role, tuple) else (row.role,)
    if Role(caller) not in roles:
        return 403
    return status[Role(caller)] if isinstance(status, dict) else status


CELLS = [
    pytest.param(
        row,
        variant,
        caller,
        expected(row, caller, status),
        id=f"{row.method} {row.path} [{variant}] as {caller}",
    )
    for row in ROWS
    for variant, (_, status) in row.variants.items()
    for caller in CALLERS
]


@pytest.fixture(scope="module")
def shared(world: World) -> Shared:
    """The objects of other persons and organisations that the matrix points at."""
    ctx, store = world.ctx, world.ws.store
    ws = world.ws
    s = Shared()
    s.share_token = access.create_share(
        ctx.access, ctx.secret, ws, PERSON_A, "lending@1", UNTIL, TODAY
    ).token
    s.consent_b = access.grant_consent(
        ctx.access, ws, PERSON_B, ORG_Q, "lending", "lending", UNTIL, TODAY
    ).id
    s.share_b = access.create_share(
        ctx.access, ctx.secret, ws, PERSON_B, "lending@1", UNTIL, TODAY
    ).id
    access.grant_consent(ctx.access, ws, PERSON_A, ORG_P, "lending", "lending", UNTIL, TODAY)
    s.a_record = world.seq["A_repaid"]
    s.dispute_of_t = access.open_dispute(
        store, ctx.access, PERSON_A, world.seq["A_speeding"], "not my car", TODAY
    ).id
    s.dispute_of_f = access.open_dispute(
        store, ctx.access, PERSON_A, world.seq["A_repaid2"], "paid twice", TODAY
    ).id
    s.dispute_of_b = access.open_dispute(
        store, ctx.access, PERSON_B, world.seq["B_missed"], "paid", TODAY
    ).id
    s.review_of_lending = access.request_review(
        ctx.access, PERSON_A, "lending@1", "why?", TODAY, ORG_S2
    ).id
    s.review_of_sesame = access.request_review(
        ctx.access, PERSON_A, "sesame-2015@1", "why?", TODAY, ORG_S
    ).id
    return s


def snapshot(world: World) -> tuple:
    """The ledger's size, every access table but the inquiry log and idempotency keys, and
    the installed policies."""
    with world.ctx.access.read() as conn:
        tables = [
            hashlib.sha256(repr(conn.execute(select(t)).all()).encode()).hexdigest()
            for t in (api_keys, consents, share_links, reviews, dispute_cases, dispute_events)
        ]
    policies = world.ws.store.policy_documents()
    return world.count(), len(world.ws.store.disputes()), tables, policies


def call(world: World, method: str, req: Req, caller: str):
    token = CALLERS[caller]
    headers = {} if token is None else bearer(world.tokens.get(token, token))
    return world.client.request(
        method,
        req.path,
        json=req.json,
        params=req.params,
        files=req.files,
        data=req.data,
        headers=headers,
    )


@pytest.mark.parametrize(("row", "variant", "caller", "status"), CELLS)
def test_matrix(
    world: World, shared: Shared, row: Row, variant: str, caller: str, status: int
) -> None:
    """Each cell gets its status; a refused one changes nothing."""
    factory, _ = row.variants[variant]
    req = factory(world, shared, status < 300 and row.role is not None)
    before = snapshot(world)
    response = call(world, row.method, req, caller)
    assert response.status_code == status, response.text
    if status >= 400:
        assert snapshot(world) == before
        assert response.json()["detail"]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


def endpoints(routes, prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, descending into included routers (FastAPI >= 0.16x
    keeps them as ``_IncludedRouter`` entries with the router's own routes inside)."""
    out = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out |= endpoints(included.routes, prefix + route.include_context.prefix)
            continue
        out |= {
            (m, prefix + route.path) for m in getattr(route, "methods", None) or () if m != "HEAD"
        }
    return out


def test_matrix_covers_every_route(world: World) -> None:
    """A route without a row (or a row without a route) fails: the matrix is the app's."""
    routes = endpoints(world.client.app.routes)
    assert {(row.method, row.path) for row in ROWS} == routes
    documented = {
        (m.upper(), p) for p, ops in world.client.app.openapi()["paths"].items() for m in ops
    }
    assert documented <= routes  # the walk above missed nothing the schema knows
    assert {c for c in CALLERS if c not in ("none", "bad", "revoked")} == {r.value for r in Role}


def test_matrix_size() -> None:
    """Every endpoint against every caller (a guard against a matrix shrinking unnoticed)."""
    assert len(CELLS) == sum(len(r.variants) for r in ROWS) * len(CALLERS) >= 47 * 9


# the rules behind the cells ----------------------------------------------------------------------
def test_person_never_sees_another_persons_file(world: World, shared: Shared) -> None:
    """B's file holds none of A's records, consents, disputes, reviews or shares."""
    body = world.client.get("/me/file", headers=world.h("B")).json()
    assert body["person"] == PERSON_B
    assert PERSON_A not in json.dumps(body)
    refs = {r["ref"] for r in body["records"]}
    assert refs == {r.ref for r in world.ws.store.records_for(PERSON_B)}
    assert {"B_missed", "B_red_light"} <= refs
    assert not refs & {r.ref for r in world.ws.store.records_for(PERSON_A)}
    assert all(c["person"] == PERSON_B for c in body["consents"])
    mine = world.client.get("/me/disputes", headers=world.h("B")).json()
    assert all(d["person"] == PERSON_B for d in mine)


def test_another_persons_objects_are_not_found_and_unchanged(world: World, shared: Shared) -> None:
    """A revoking B's consent or share, or disputing B's record: 404, and B's stay as they
    were (the 404 does not even reveal that they exist)."""
    a = world.h("A")
    r = world.client.delete(f"/me/consents/{shared.consent_b}", headers=a)
    assert r.status_code == 404 and "no consent" in r.json()["detail"]
    unknown = world.client.delete("/me/consents/999999", headers=a)
    assert unknown.status_code == 404  # and says the same as for B's consent
    assert unknown.json()["detail"].replace("999999", "N") == r.json()["detail"].replace(
        str(shared.consent_b), "N"
    )
    consent = next(
        c
        for c in world.client.get("/me/consents", headers=world.h("B")).json()
        if c["id"] == shared.consent_b
    )
    assert consent["revoked_on"] is None
    assert world.client.delete(f"/me/shares/{shared.share_b}", headers=a).status_code == 404
    r = world.client.post(
        "/me/disputes", headers=a, json={"seq": world.seq["B_red_light"], "reason": "not mine"}
    )
    assert r.status_code == 404
    assert not [d for d in world.ws.store.disputes(PERSON_B) if d.seq == world.seq["B_red_light"]]


def test_partner_without_consent_is_refused_and_logged(world: World) -> None:
    """No consent: 403, no score in the answer, and the person sees the attempt."""
    r = world.client.get(
        f"/scores/{PERSON_B}",
        headers=world.h("Q"),
        params={"policy": "rongcheng", "purpose": "public_services"},
    )
    assert r.status_code == 403
    assert "score" not in r.json() and "no live consent" in r.json()["detail"]
    log = world.client.get("/me/inquiries", headers=world.h("B")).json()
    assert any(
        i["partner"] == ORG_Q
        and i["policy_key"] == "rongcheng@1"
        and i["purpose"] == "public_services"
        and i["granted"] is False
        and i["reason"] == "no live consent"
        for i in log
    )


def test_consent_covers_one_partner_policy_and_purpose(fresh_world: World) -> None:
    """A consent for (P, lending, rental_deposit) lets P read exactly that."""
    world = fresh_world
    a = world.h("A")
    body = {"partner": ORG_P, "policy": "lending", "purpose": "rental_deposit", "until": str(UNTIL)}
    assert world.client.post("/me/consents", headers=a, json=body).status_code == 201
    path = f"/scores/{PERSON_A}"
    ok = world.client.get(
        path, headers=world.h("P"), params={"policy": "lending", "purpose": "rental_deposit"}
    )
    assert ok.status_code == 200
    for params, headers in [
        ({"policy": "sesame-2015", "purpose": "rental_deposit"}, world.h("P")),  # policy
        ({"policy": "rongcheng", "purpose": "rental_deposit"}, world.h("P")),  # policy
        ({"policy": "lending", "purpose": "rental_deposit"}, world.h("Q")),  # partner
    ]:
        r = world.client.get(path, headers=headers, params=params)
        assert r.status_code == 403, (params, r.text)
    # a purpose the policy does not allow at all is refused and says which are allowed
    r = world.client.get(
        path, headers=world.h("P"), params={"policy": "lending", "purpose": "dating_profile"}
    )
    assert r.status_code == 403 and "allows only lending, rental_deposit" in r.json()["detail"]


def test_partner_reads_for_another_purpose_are_refused(fresh_world: World) -> None:
    """Consent for lending does not cover rental_deposit, though the policy allows both."""
    w = fresh_world
    w.client.post(
        "/me/consents",
        headers=w.h("A"),
        json={"partner": ORG_P, "policy": "lending", "purpose": "lending", "until": str(UNTIL)},
    )
    r = w.client.get(
        f"/scores/{PERSON_A}",
        headers=w.h("P"),
        params={"policy": "lending", "purpose": "rental_deposit"},
    )
    assert r.status_code == 403
    log = w.client.get("/me/inquiries", headers=w.h("A")).json()
    assert [(i["purpose"], i["granted"]) for i in log] == [("rental_deposit", False)]


def test_revoked_consent_is_refused(world: World) -> None:
    a = world.h("A")
    consent = world.client.post(
        "/me/consents",
        headers=a,
        json={
            "partner": ORG_Q,
            "policy": "sesame-2015",
            "purpose": "travel_booking",
            "until": str(UNTIL),
        },
    ).json()
    params = {"policy": "sesame-2015", "purpose": "travel_booking"}
    assert (
        world.client.get(f"/scores/{PERSON_A}", headers=world.h("Q"), params=params).status_code
        == 200
    )
    revoked = world.client.delete(f"/me/consents/{consent['id']}", headers=a)
    assert revoked.status_code == 200 and revoked.json()["revoked_on"] == str(TODAY)
    r = world.client.get(f"/scores/{PERSON_A}", headers=world.h("Q"), params=params)
    assert r.status_code == 403 and "score" not in r.json()
    again = world.client.delete(f"/me/consents/{consent['id']}", headers=a)
    assert again.status_code == 409


def test_provider_files_only_in_its_licensed_domains(world: World) -> None:
    """F (finance) filing a speeding ticket: 422 naming its licence; nothing written."""
    before = world.count()
    r = world.client.post("/records", headers=world.h("F"), json=record(**SPEEDING))
    assert r.status_code == 422
    body = r.json()
    assert body["errors"] == [
        {
            "index": 1,
            "field": "kind",
            "value": "speeding",
            "reason": f"organisation {ORG_F} is licensed for finance, not traffic",
        }
    ]
    assert "nothing was written" in body["detail"]
    # and T (traffic) may not file finance
    r = world.client.post("/records", headers=world.h("T"), json=record())
    assert r.status_code == 422 and "licensed for traffic, not finance" in r.text
    assert world.count() == before


def test_provider_decides_only_disputes_of_its_own_records(world: World, shared: Shared) -> None:
    f = world.client.get("/org/disputes", headers=world.h("F")).json()
    t = world.client.get("/org/disputes", headers=world.h("T")).json()
    assert shared.dispute_of_t not in {d["id"] for d in f}
    assert shared.dispute_of_t in {d["id"] for d in t}
    assert {d["org"] for d in f} == {ORG_F} and {d["org"] for d in t} == {ORG_T}
    r = world.client.post(
        f"/org/disputes/{shared.dispute_of_t}/decision",
        headers=world.h("F"),
        json={"decision": "retract", "note": "gone"},
    )
    assert r.status_code == 404 and ORG_T not in r.json()["detail"]
    after = world.client.get("/me/disputes", headers=world.h("A")).json()
    assert next(d for d in after if d["id"] == shared.dispute_of_t)["status"] == "open"


def test_scoring_provider_answers_only_reviews_of_its_policies(
    world: World, shared: Shared
) -> None:
    s = world.client.get("/provider/reviews", headers=world.h("S")).json()
    s2 = world.client.get("/provider/reviews", headers=world.h("S2")).json()
    assert {r["policy_key"] for r in s} == {"sesame-2015@1"}
    assert {r["policy_key"] for r in s2} == {"lending@1"}
    r = world.client.post(
        f"/provider/reviews/{shared.review_of_lending}/answer",
        headers=world.h("S"),
        json={"answer": "Fine."},
    )
    assert r.status_code == 404 and ORG_S2 not in r.json()["detail"]


def test_regulator_never_reads_an_individual(world: World) -> None:
    """403 on every person, partner and provider endpoint; aggregates name nobody."""
    r_headers = world.h("R")
    individual = [
        ("GET", "/me/file"),
        ("GET", "/me/scores/lending"),
        ("GET", "/me/inquiries"),
        ("GET", "/me/disputes"),
        ("GET", "/me/consents"),
        ("GET", "/org/disputes"),
        ("GET", "/provider/reviews"),
        ("GET", f"/scores/{PERSON_A}?policy=lending&purpose=lending"),
        ("GET", "/showcase?policy=sesame-2015"),
    ]
    for method, path in individual:
        assert world.client.request(method, path, headers=r_headers).status_code == 403, path
    persons = set(world.ws.store.export_persons().column("id").to_pylist())
    for path in (
        "/regulator/distribution?policy=lending",
        "/regulator/bands?policy=lending",
        "/regulator/bands?policy=sesame-2015&by=province",
        "/regulator/disputes",
    ):
        r = world.client.get(path, headers=r_headers)
        assert r.status_code == 200
        assert not any(p in r.text for p in persons), path


def test_keys_bind_the_subject_from_the_key_not_the_request(world: World) -> None:
    """Query parameters naming someone else change nothing: /me is the key's person."""
    r = world.client.get("/me/file", headers=world.h("A"), params={"person": PERSON_B})
    assert r.status_code == 200 and r.json()["person"] == PERSON_A


def test_admin_creates_keys_that_work_and_revokes_them(world: World) -> None:
    made = world.client.post(
        "/admin/keys",
        headers=world.h("admin"),
        json={"role": "partner", "subject": ORG_Q, "label": "new"},
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert world.client.get("/showcase?policy=lending", headers=bearer(token)).status_code == 200
    listed = world.client.get("/admin/keys", headers=world.h("admin")).json()
    assert token not in json.dumps(listed)  # secrets are shown once, never listed
    key_id = made.json()["key_id"]
    assert world.client.delete(f"/admin/keys/{key_id}", headers=world.h("admin")).status_code == 204
    assert world.client.get("/showcase?policy=lending", headers=bearer(token)).status_code == 401
    assert (
        world.client.delete("/admin/keys/0000000000000000", headers=world.h("admin")).status_code
        == 404
    )
