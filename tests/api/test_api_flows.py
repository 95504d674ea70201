"""End-to-end flows through the HTTP API: each right of the person, from request to record.

Consent and the inquiry log; filing with receipts and rejection reports; Idempotency-Key;
disputes and their effect on scores; human review; share links; the partner showcase; the
regulator's aggregates. Scores are checked against the library (``Workspace.score``) and
against the ledger they come from.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_world import (
    CROWD_GOOD,
    CROWD_IDLE,
    ORG_F,
    ORG_P,
    ORG_Q,
    ORG_S,
    ORG_T,
    PERSON_A,
    PERSON_B,
    TODAY,
    World,
    unique,
)

from opencredit.ledger.refs import MAX_REF_LENGTH

UNTIL = TODAY + dt.timedelta(days=90)


def rec(kind: str = "payment_missed", person: str = PERSON_A, **fields) -> dict:
    """A record to file, with a new ref; payment_missed needs a value (days late)."""
    if kind == "payment_missed":
        fields.setdefault("value", 30)
    return dict(person=person, kind=kind, occurred="2026-02-01", ref=unique("flow")) | fields


def score(w: World, policy: str, person: str = PERSON_A) -> int:
    """The library's score today (the app's workspace, so the same ledger)."""
    return w.ws.score(person, policy, w.ctx.today())[1]


def move_today(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    monkeypatch.setenv("OPENCREDIT_TODAY", day.isoformat())


# consent, partner reads and the inquiry log --------------------------------------------------
def test_consent_read_inquiry_revoke(fresh_world: World) -> None:
    w = fresh_world
    a, p = w.h("A"), w.h("P")
    granted = w.client.post(
        "/me/consents",
        headers=a,
        json={
            "partner": ORG_P,
            "policy": "sesame-2015",
            "purpose": "rental_deposit",
            "until": str(UNTIL),
        },
    )
    assert granted.status_code == 201
    consent = granted.json()
    assert consent | {"id": 0} == {
        "id": 0,
        "person": PERSON_A,
        "partner": ORG_P,
        "policy_id": "sesame-2015",
        "purpose": "rental_deposit",
        "granted_on": str(TODAY),
        "until": str(UNTIL),
        "showcase": False,
        "revoked_on": None,
    }

    params = {"policy": "sesame-2015", "purpose": "rental_deposit"}
    before = dt.datetime.now(dt.UTC)
    read = w.client.get(f"/scores/{PERSON_A}", headers=p, params=params)
    assert read.status_code == 200
    body = read.json()
    expected = score(w, "sesame-2015@1")
    assert body["score"] == expected
    assert body["band"] == w.ws.policy("sesame-2015").band_of(expected).name
    assert body["consent_id"] == consent["id"] and body["as_of"] == str(TODAY)
    # the person's explanation gives the same number
    assert w.client.get("/me/scores/sesame-2015", headers=a).json()["score"] == expected

    # the read is in the person's inquiry log and file: who, when, purpose, which policy
    log = w.client.get("/me/inquiries", headers=a).json()
    assert len(log) == 1
    inquiry = log[0]
    assert inquiry["id"] == body["inquiry_id"]
    assert (inquiry["partner"], inquiry["policy_key"], inquiry["purpose"], inquiry["granted"]) == (
        ORG_P,
        "sesame-2015@1",
        "rental_deposit",
        True,
    )
    at = dt.datetime.fromisoformat(inquiry["at"].replace("Z", "+00:00"))
    assert before - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC)
    file = w.client.get("/me/file", headers=a).json()
    assert file["inquiries"] == log and file["consents"] == [consent]

    # revoked: the next read is refused, and logged as refused
    assert w.client.delete(f"/me/consents/{consent['id']}", headers=a).status_code == 200
    refused = w.client.get(f"/scores/{PERSON_A}", headers=p, params=params)
    assert refused.status_code == 403 and "score" not in refused.json()
    log = w.client.get("/me/inquiries", headers=a).json()
    assert [(i["granted"], i["reason"]) for i in log] == [(False, "no live consent"), (True, "")]
    assert w.client.get("/me/file", headers=a).json()["consents"][0]["revoked_on"] == str(TODAY)


def test_consent_expires_after_its_last_day(
    fresh_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = fresh_world
    last = TODAY + dt.timedelta(days=3)
    w.client.post(
        "/me/consents",
        headers=w.h("A"),
        json={"partner": ORG_P, "policy": "lending", "purpose": "lending", "until": str(last)},
    )
    params = {"policy": "lending", "purpose": "lending"}
    move_today(monkeypatch, last)
    assert w.client.get(f"/scores/{PERSON_A}", headers=w.h("P"), params=params).status_code == 200
    move_today(monkeypatch, last + dt.timedelta(days=1))
    assert w.client.get(f"/scores/{PERSON_A}", headers=w.h("P"), params=params).status_code == 403


# filing ------------------------------------------------------------------------------------------
def test_file_one_record_receipt_and_file(world: World) -> None:
    before = world.count()
    r = world.client.post("/records", headers=world.h("F"), json=rec(kind="loan_repaid"))
    assert r.status_code == 201
    receipt = r.json()
    assert receipt["accepted"] == 1 and receipt["duplicates"] == 0 and receipt["rejected"] == 0
    assert receipt["first_seq"] == receipt["last_seq"] == before + 1 == world.count()
    assert isinstance(receipt["batch"], int) and receipt["errors"] == []
    mine = world.client.get("/me/file", headers=world.h("A")).json()["records"]
    filed = next(x for x in mine if x["seq"] == receipt["last_seq"])
    assert (filed["filed_by"], filed["filed_by_name"]) == (ORG_F, "Example Bank")
    assert filed["occurred"] == "2026-02-01" and filed["kind"] == "loan_repaid"


def test_file_a_batch(world: World) -> None:
    records = [rec(), rec(kind="loan_repaid"), rec(person=PERSON_B, value=3)]
    r = world.client.post("/records/batch", headers=world.h("F"), json={"records": records})
    assert r.status_code == 201
    receipt = r.json()
    assert receipt["accepted"] == 3
    assert receipt["last_seq"] - receipt["first_seq"] == 2 and receipt["last_seq"] == world.count()
    # filed again: duplicates, nothing new, and no (empty) batch
    again = world.client.post("/records/batch", headers=world.h("F"), json={"records": records})
    assert again.status_code == 200
    assert again.json() == {
        "batch": None,
        "accepted": 0,
        "duplicates": 3,
        "rejected": 0,
        "first_seq": None,
        "last_seq": None,
        "errors": [],
    }


def test_batch_with_bad_records_is_rejected_whole_naming_each(world: World) -> None:
    before = world.count()
    records = [
        rec(),
        rec(person="110101199013320011"),  # no 32nd of the 13th month
        rec(kind="loan_default", value=-500),
        rec(kind="purchase", category="contraceptives", value=20),
        rec(kind="speeding", value=10),  # F is not licensed for traffic
    ]
    r = world.client.post("/records/batch", headers=world.h("F"), json={"records": records})
    assert r.status_code == 422
    body = r.json()
    assert "4 bad record(s) out of 5; nothing was written" in body["detail"]
    by_index = {e["index"]: e for e in body["errors"]}
    assert sorted(by_index) == [2, 3, 4, 5]
    assert by_index[2]["field"] == "person" and "birth date" in by_index[2]["reason"]
    assert by_index[3]["field"] == "value" and "negative" in by_index[3]["reason"]
    assert by_index[4]["field"] in ("kind", "category")  # F files finance only; both named
    assert any(
        "licensed for finance, not commerce" in e["reason"]
        for e in body["errors"]
        if e["index"] == 4
    )
    assert "licensed for finance, not traffic" in by_index[5]["reason"]
    assert world.count() == before


def test_partial_batch_files_the_good_and_names_the_bad(world: World) -> None:
    before = world.count()
    records = [rec(), rec(kind="nonsense"), rec(kind="loan_repaid"), rec(occurred="2026-12-01")]
    r = world.client.post(
        "/records/batch", headers=world.h("F"), json={"records": records, "partial": True}
    )
    assert r.status_code == 201
    receipt = r.json()
    assert (receipt["accepted"], receipt["rejected"]) == (2, 2)
    assert {(e["index"], e["field"]) for e in receipt["errors"]} == {(2, "kind"), (4, "occurred")}
    assert "unknown record kind 'nonsense'" in receipt["errors"][0]["reason"]
    assert world.count() == before + 2 == receipt["last_seq"]


def csv_bytes(rows: list[dict]) -> bytes:
    cols = ["person", "kind", "occurred", "value", "category", "ref"]
    lines = [",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def parquet_bytes(rows: list[dict]) -> bytes:
    table = pa.table(
        {
            c: pa.array([None if r.get(c) is None else str(r[c]) for r in rows], pa.string())
            for c in ["person", "kind", "occurred", "value", "category", "ref"]
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("name", "encode", "where"),
    [
        ("records.csv", csv_bytes, 3),  # the header is line 1, so the second record is on line 3
        ("records.jsonl", jsonl_bytes, 2),
        ("records.parquet", parquet_bytes, 2),  # row 2
    ],
)
def test_upload_files(world: World, name: str, encode, where: int) -> None:
    f = world.h("F")
    good = [rec(), rec(kind="loan_repaid")]
    before = world.count()
    r = world.client.post("/records/upload", headers=f, files={"file": (name, encode(good))})
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 2 and r.json()["last_seq"] == before + 2 == world.count()
    bad = [rec(), rec(value="many")]
    r = world.client.post("/records/upload", headers=f, files={"file": (name, encode(bad))})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"index": where, "field": "value", "reason": "not a number", "value": "many"}
    ]
    assert world.count() == before + 2
    partial = world.client.post(
        "/records/upload",
        headers=f,
        data={"partial": "true"},
        files={"file": (name, encode([rec(), rec(value="many")]))},
    )
    assert partial.status_code == 201 and partial.json()["accepted"] == 1
    assert partial.json()["rejected"] == 1


# Idempotency-Key ----------------------------------------------------------------------------------
def test_idempotency_same_key_same_body_replays(world: World) -> None:
    f, key, body = world.h("F"), unique("idem"), rec()
    before = world.count()
    first = world.client.post("/records", headers=f | {"Idempotency-Key": key}, json=body)
    second = world.client.post("/records", headers=f | {"Idempotency-Key": key}, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert world.count() == before + 1
    # another key of the same body is a new request: the ledger sees a duplicate
    third = world.client.post("/records", headers=f | {"Idempotency-Key": unique()}, json=body)
    assert third.json()["duplicates"] == 1 and world.count() == before + 1


def test_idempotency_same_key_other_body_is_422(world: World) -> None:
    f, key = world.h("F"), unique("idem")
    assert (
        world.client.post("/records", headers=f | {"Idempotency-Key": key}, json=rec()).status_code
        == 201
    )
    before = world.count()
    r = world.client.post("/records", headers=f | {"Idempotency-Key": key}, json=rec())
    assert r.status_code == 422 and "different request body" in r.json()["detail"]
    # the same key on another endpoint is another request too
    r = world.client.post(
        "/records/batch", headers=f | {"Idempotency-Key": key}, json={"records": [rec()]}
    )
    assert r.status_code == 422
    assert world.count() == before


def test_idempotency_replays_a_rejection_and_keys_are_per_caller(world: World) -> None:
    key, bad = unique("idem"), rec(kind="nonsense")
    first = world.client.post("/records", headers=world.h("F") | {"Idempotency-Key": key}, json=bad)
    second = world.client.post(
        "/records", headers=world.h("F") | {"Idempotency-Key": key}, json=bad
    )
    assert first.status_code == second.status_code == 422 and first.json() == second.json()
    # T's use of the same key string is T's own
    r = world.client.post(
        "/records", headers=world.h("T") | {"Idempotency-Key": key}, json=rec(kind="red_light")
    )
    assert r.status_code == 201 and r.json()["accepted"] == 1


def run_concurrently(n: int, call) -> list:
    """``call()`` from ``n`` threads released together; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_duplicates_with_one_key_make_one_record(world: World) -> None:
    f, body = world.h("F") | {"Idempotency-Key": unique("idem")}, rec()
    before = world.count()
    responses = run_concurrently(6, lambda: world.client.post("/records", headers=f, json=body))
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1  # everyone got the first request's receipt
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    assert world.count() == before + 1


def test_concurrent_duplicates_of_one_ref_make_one_record(world: World) -> None:
    body = rec()
    before = world.count()
    responses = run_concurrently(
        6, lambda: world.client.post("/records", headers=world.h("F"), json=body)
    )
    # one files it (201); the others find it filed: nothing new, no batch (200)
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert sorted(r.json()["accepted"] for r in responses) == [0, 0, 0, 0, 0, 1]
    assert world.count() == before + 1
    refs = [x.ref for x in world.ws.store.records_for(PERSON_A)]
    assert refs.count(body["ref"]) == 1


def _consent(w: World) -> int:
    body = {"partner": ORG_Q, "policy": "lending", "purpose": "lending", "until": str(UNTIL)}
    return w.client.post("/me/consents", headers=w.h("A"), json=body).json()["id"]


def _dispute(w: World) -> int:
    seq = w.file(ORG_F, **rec())
    return w.client.post(
        "/me/disputes", headers=w.h("A"), json={"seq": seq, "reason": "not me"}
    ).json()["id"]


def _review(w: World) -> int:
    return w.client.post(
        "/me/reviews", headers=w.h("A"), json={"policy": "sesame-2015", "message": "why?"}
    ).json()["id"]


def _share(w: World) -> str:
    return w.client.post(
        "/me/shares", headers=w.h("A"), json={"policy": "lending", "until": str(UNTIL)}
    ).json()["id"]


def _key(w: World) -> str:
    return w.client.post("/admin/keys", headers=w.h("admin"), json={"role": "regulator"}).json()[
        "key_id"
    ]


#: Every write but the two whose answers hold a secret (a new key, a share link's token):
#: who, method, path (from a new object of the caller's), body.
WRITES = {
    "grant consent": (
        "A",
        "POST",
        lambda w: "/me/consents",
        {"partner": ORG_Q, "policy": "lending", "purpose": "rental_deposit", "until": str(UNTIL)},
    ),
    "revoke consent": ("A", "DELETE", lambda w: f"/me/consents/{_consent(w)}", None),
    "open dispute": ("A", "POST", lambda w: "/me/disputes", None),
    "note (person)": (
        "A",
        "POST",
        lambda w: f"/me/disputes/{_dispute(w)}/notes",
        {"note": "see the attached statement"},
    ),
    "request review": (
        "A",
        "POST",
        lambda w: "/me/reviews",
        {"policy": "rongcheng", "message": "Please look again."},
    ),
    "revoke share": ("A", "DELETE", lambda w: f"/me/shares/{_share(w)}", None),
    "note (org)": (
        "F",
        "POST",
        lambda w: f"/org/disputes/{_dispute(w)}/notes",
        {"note": "looking into it"},
    ),
    "decide": (
        "F",
        "POST",
        lambda w: f"/org/disputes/{_dispute(w)}/decision",
        {"decision": "retract", "note": "our mistake"},
    ),
    "answer review": (
        "S",
        "POST",
        lambda w: f"/provider/reviews/{_review(w)}/answer",
        {"answer": "Checked by hand."},
    ),
    "revoke key": ("admin", "DELETE", lambda w: f"/admin/keys/{_key(w)}", None),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_replays_with_the_same_idempotency_key(world: World, write: str) -> None:
    """A retried write (same key, same body) gets the first answer and changes nothing more
    (without the key the retry would grant, request or note twice, or be refused with 409)."""
    who, method, path_of, body = WRITES[write]
    path = path_of(world)
    if write == "open dispute":
        body = {"seq": world.file(ORG_F, **rec()), "reason": "not me"}
    headers = world.h(who) | {"Idempotency-Key": unique("write")}
    first = world.client.request(method, path, headers=headers, json=body)
    assert first.status_code < 300, first.text
    mine = world.client.get("/me/file", headers=world.h("A")).json()
    second = world.client.request(method, path, headers=headers, json=body)
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert world.client.get("/me/file", headers=world.h("A")).json() == mine
    if body is not None:  # the same key with another body is refused
        text = next((k for k in ("note", "answer", "message", "reason") if k in body), None)
        other = body | ({text: body[text] + " (changed)"} if text else {"purpose": "lending"})
        r = world.client.request(method, path, headers=headers, json=other)
        assert r.status_code == 422 and "different request body" in r.json()["detail"]


def test_writes_with_secrets_are_never_stored_for_replay(world: World) -> None:
    from sqlalchemy import select

    from opencredit.access.tables import idempotency_keys

    made = world.client.post(
        "/admin/keys",
        headers=world.h("admin") | {"Idempotency-Key": unique("secret")},
        json={"role": "regulator"},
    ).json()
    share = world.client.post(
        "/me/shares",
        headers=world.h("A") | {"Idempotency-Key": unique("secret")},
        json={"policy": "lending", "until": str(UNTIL)},
    ).json()
    with world.ctx.access.read() as conn:
        stored = " ".join(r.body or "" for r in conn.execute(select(idempotency_keys)))
    assert made["token"] not in stored and share["token"] not in stored


# disputes ----------------------------------------------------------------------------------------
def dispute(w: World, seq: int, reason: str = "I paid on time") -> dict:
    r = w.client.post("/me/disputes", headers=w.h("A"), json={"seq": seq, "reason": reason})
    assert r.status_code == 201, r.text
    return r.json()


def decide(w: World, dispute_id: int, decision: str, **extra) -> dict:
    r = w.client.post(
        f"/org/disputes/{dispute_id}/decision",
        headers=w.h("F"),
        json={"decision": decision, "note": f"we {decision}", **extra},
    )
    assert r.status_code == 200, r.text
    return r.json()


def file_missed(w: World, days: int) -> int:
    r = w.client.post("/records", headers=w.h("F"), json=rec(value=days))
    assert r.status_code == 201
    return r.json()["last_seq"]


def test_dispute_amend_retract_confirm_change_scores(fresh_world: World) -> None:
    w = fresh_world
    clean = score(w, "lending@1")
    seq = file_missed(w, 90)
    with_record = score(w, "lending@1")
    assert with_record < clean

    opened = dispute(w, seq, "It was 5 days late, not 90")
    assert (opened["status"], opened["deadline"]) == ("open", str(TODAY + dt.timedelta(days=30)))
    assert opened["org"] == ORG_F and [e["event"] for e in opened["history"]] == ["opened"]
    queue = w.client.get("/org/disputes", headers=w.h("F"), params={"open_only": True}).json()
    assert [d["id"] for d in queue] == [opened["id"]]

    # amend: a correction in the ledger, and the score follows the corrected value
    amended = decide(w, opened["id"], "amend", correction={"value": 5})
    assert amended["status"] == "amended" and amended["correction_seq"] == w.count()
    file = w.client.get("/me/file", headers=w.h("A")).json()
    correction = next(r for r in file["records"] if r["seq"] == amended["correction_seq"])
    assert (correction["action"], correction["target"], correction["value"]) == ("amend", seq, 5)
    after_amend = score(w, "lending@1")
    assert with_record < after_amend < clean
    assert file["scores"][0]["policy"] == "lending@1"
    assert file["scores"][0]["score"] == after_amend

    # the amended record can be disputed in turn; retracting it restores the clean score
    second = dispute(w, amended["correction_seq"], "I was never late at all")
    retracted = decide(w, second["id"], "retract")
    assert retracted["status"] == "retracted"
    assert score(w, "lending@1") == clean

    # confirm: the record stands, and so does the score
    seq2 = file_missed(w, 20)
    low = score(w, "lending@1")
    third = dispute(w, seq2)
    confirmed = decide(w, third["id"], "confirm")
    assert confirmed["status"] == "confirmed" and confirmed["correction_seq"] is None
    assert score(w, "lending@1") == low

    # notes from either side join the history
    noted = w.client.post(
        f"/me/disputes/{third['id']}/notes", headers=w.h("A"), json={"note": "Here is my receipt."}
    )
    assert noted.status_code == 200
    noted = w.client.post(
        f"/org/disputes/{third['id']}/notes",
        headers=w.h("F"),
        json={"note": "Received; it does not change the decision."},
    )
    assert [(e["event"], e["actor"]) for e in noted.json()["history"]] == [
        ("opened", PERSON_A),
        ("decided", ORG_F),
        ("note", PERSON_A),
        ("note", ORG_F),
    ]

    # history is kept: each dispute opened then decided, with the notes, never rewritten
    history = {d["id"]: d for d in w.client.get("/me/disputes", headers=w.h("A")).json()}
    assert [(e["event"], e["note"]) for e in history[opened["id"]]["history"]] == [
        ("opened", "It was 5 days late, not 90"),
        ("decided", "we amend"),
    ]
    again = w.client.post(
        f"/org/disputes/{third['id']}/decision",
        headers=w.h("F"),
        json={"decision": "retract", "note": "changed our mind"},
    )
    assert again.status_code == 409
    assert w.client.get("/me/disputes", headers=w.h("A")).json() == list(history.values())
    # one open dispute per record
    seq3 = file_missed(w, 1)
    dispute(w, seq3)
    r = w.client.post("/me/disputes", headers=w.h("A"), json={"seq": seq3, "reason": "again"})
    assert r.status_code == 409


def test_unresolved_dispute_suppresses_the_record_after_30_days(
    fresh_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = fresh_world
    day31 = TODAY + dt.timedelta(days=31)
    move_today(monkeypatch, day31)
    clean = score(w, "lending@1")
    move_today(monkeypatch, TODAY)
    seq = file_missed(w, 60)
    opened = dispute(w, seq)

    move_today(monkeypatch, TODAY + dt.timedelta(days=30))  # the deadline: still counts
    on_deadline = w.client.get("/me/scores/lending", headers=w.h("A")).json()
    assert on_deadline["score"] < score(w, "lending@1") + 1 and on_deadline["score"] != clean
    assert w.client.get("/me/disputes", headers=w.h("A")).json()[0]["status"] == "open"

    move_today(monkeypatch, day31)  # past it: the record stops counting everywhere
    mine = w.client.get("/me/scores/lending", headers=w.h("A")).json()
    assert mine["score"] == clean == score(w, "lending@1")
    assert all(seq not in f["records"] for f in mine["factors"])
    assert w.client.get("/me/disputes", headers=w.h("A")).json()[0]["status"] == "overdue"
    w.client.post(
        "/me/consents",
        headers=w.h("A"),
        json={"partner": ORG_P, "policy": "lending", "purpose": "lending", "until": "2027-01-01"},
    )
    read = w.client.get(
        f"/scores/{PERSON_A}", headers=w.h("P"), params={"policy": "lending", "purpose": "lending"}
    )
    assert read.json()["score"] == clean
    stats = w.client.get("/regulator/disputes", headers=w.h("R")).json()
    assert stats == [
        {
            "org": ORG_F,
            "opened": 1,
            "resolved": 0,
            "open": 1,
            "overdue": 1,
            "resolved_late": 0,
            "median_resolution_days": None,
        }
    ]

    # decided late (confirmed): it counts again, and the regulator sees a late resolution
    decided = decide(w, opened["id"], "confirm")
    assert decided["status"] == "confirmed"
    assert score(w, "lending@1") < clean
    assert w.client.get("/me/scores/lending", headers=w.h("A")).json()["score"] < clean
    stats = w.client.get("/regulator/disputes", headers=w.h("R")).json()
    assert stats[0] | {"org": ORG_F} == {
        "org": ORG_F,
        "opened": 1,
        "resolved": 1,
        "open": 0,
        "overdue": 0,
        "resolved_late": 1,
        "median_resolution_days": 31.0,
    }


def test_amend_with_a_long_ref_and_a_refused_correction(fresh_world: World) -> None:
    """A disputed record whose ref is as long as allowed can still be corrected; a correction
    the ledger refuses (outside the licence) leaves the dispute open."""
    w = fresh_world
    body = rec(value=40) | {"ref": "r" * MAX_REF_LENGTH}
    seq = w.client.post("/records", headers=w.h("F"), json=body).json()["last_seq"]
    d = dispute(w, seq)
    refused = w.client.post(
        f"/org/disputes/{d['id']}/decision",
        headers=w.h("F"),
        json={"decision": "amend", "note": "n", "correction": {"kind": "speeding"}},
    )
    assert refused.status_code == 422 and "licensed for finance" in refused.json()["detail"]
    assert w.client.get("/me/disputes", headers=w.h("A")).json()[0]["status"] == "open"
    assert decide(w, d["id"], "retract")["correction_seq"] == w.count()


# human review ------------------------------------------------------------------------------------
def test_human_review_request_and_answer(fresh_world: World) -> None:
    w = fresh_world
    asked = w.client.post(
        "/me/reviews",
        headers=w.h("A"),
        json={"policy": "sesame-2015", "message": "Why do video games count against me?"},
    )
    assert asked.status_code == 201
    review = asked.json()
    assert (review["provider"], review["policy_key"], review["answer"]) == (
        ORG_S,
        "sesame-2015@1",
        None,
    )
    queue = w.client.get(
        "/provider/reviews", headers=w.h("S"), params={"unanswered_only": True}
    ).json()
    assert [r["id"] for r in queue] == [review["id"]]
    answered = w.client.post(
        f"/provider/reviews/{review['id']}/answer",
        headers=w.h("S"),
        json={"answer": "A person reviewed it: the rule stands."},
    )
    assert answered.status_code == 200 and answered.json()["answered_on"] == str(TODAY)
    assert (
        w.client.get("/provider/reviews", headers=w.h("S"), params={"unanswered_only": True}).json()
        == []
    )
    again = w.client.post(
        f"/provider/reviews/{review['id']}/answer",
        headers=w.h("S"),
        json={"answer": "Second thoughts."},
    )
    assert again.status_code == 409
    file = w.client.get("/me/file", headers=w.h("A")).json()
    assert [(r["message"], r["answer"]) for r in file["reviews"]] == [
        ("Why do video games count against me?", "A person reviewed it: the rule stands.")
    ]


# share links -------------------------------------------------------------------------------------
def test_share_link_shows_score_and_band_only(world: World) -> None:
    made = world.client.post(
        "/me/shares", headers=world.h("A"), json={"policy": "sesame-2015", "until": str(UNTIL)}
    )
    assert made.status_code == 201
    share = made.json()
    assert share["path"] == f"/shared/{share['token']}" and share["policy_key"] == "sesame-2015@1"
    shown = world.client.get(share["path"])  # no key: anyone holding the link
    assert shown.status_code == 200
    body = shown.json()
    assert set(body) == {"policy_key", "score", "band", "as_of", "until"}
    assert body["score"] == score(world, "sesame-2015@1")
    assert body["band"] == world.ws.policy("sesame-2015").band_of(body["score"]).name
    assert body["until"] == str(UNTIL) and body["as_of"] == str(TODAY)
    assert PERSON_A not in shown.text and "records" not in shown.text

    revoked = world.client.delete(f"/me/shares/{share['id']}", headers=world.h("A"))
    assert revoked.status_code == 200 and revoked.json()["revoked_on"] == str(TODAY)
    gone = world.client.get(share["path"])
    assert gone.status_code == 410 and "revoked" in gone.json()["detail"]
    listed = world.client.get("/me/file", headers=world.h("A")).json()["shares"]
    assert next(s for s in listed if s["id"] == share["id"])["revoked_on"] == str(TODAY)


def test_share_link_expires_and_cannot_be_altered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    last = TODAY + dt.timedelta(days=1)
    share = world.client.post(
        "/me/shares", headers=world.h("A"), json={"policy": "lending", "until": str(last)}
    ).json()
    token = share["token"]
    share_id, _, signature = token.partition(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (
        f"{share_id}.{flipped}",
        f"{share_id[:-1]}x.{signature}",
        "garbage",
        f"{share_id}.",
        token + "x",
    ):
        r = world.client.get(f"/shared/{bad}")
        assert r.status_code == 404, bad
        assert "score" not in r.json()
    move_today(monkeypatch, last)
    assert world.client.get(f"/shared/{token}").status_code == 200
    move_today(monkeypatch, last + dt.timedelta(days=1))
    expired = world.client.get(f"/shared/{token}")
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]


# showcase ----------------------------------------------------------------------------------------
def test_showcase_ranks_opted_in_members_by_band(fresh_world: World) -> None:
    from opencredit import access

    w = fresh_world
    sesame = w.ws.policy("sesame-2015")
    body = {
        "partner": ORG_Q,
        "policy": "sesame-2015",
        "purpose": "dating_profile",
        "until": str(UNTIL),
        "showcase": True,
    }
    a_consent = w.client.post("/me/consents", headers=w.h("A"), json=body).json()
    b_consent = w.client.post("/me/consents", headers=w.h("B"), json=body).json()
    # two more members (without keys of their own: consents made through the library)
    others = [
        access.grant_consent(
            w.ctx.access,
            w.ws,
            p,
            ORG_Q,
            "sesame-2015",
            "dating_profile",
            UNTIL,
            TODAY,
            showcase=True,
        ).id
        for p in (CROWD_GOOD[0], CROWD_IDLE[0])
    ]
    # a consent without the showcase opt-in, and one to another partner, are not listed
    w.client.post(
        "/me/consents", headers=w.h("B"), json=body | {"showcase": False, "purpose": "lending"}
    )
    to_p = w.client.post("/me/consents", headers=w.h("A"), json=body | {"partner": ORG_P}).json()

    listing = w.client.get("/showcase", headers=w.h("Q"), params={"policy": "sesame-2015"})
    assert listing.status_code == 200
    entries = listing.json()
    members = {
        a_consent["id"]: PERSON_A,
        b_consent["id"]: PERSON_B,
        others[0]: CROWD_GOOD[0],
        others[1]: CROWD_IDLE[0],
    }
    assert sorted(e["consent_id"] for e in entries) == sorted(members)
    assert [e["rank"] for e in entries] == [1, 2, 3, 4]
    band_order = [b.name for b in sorted(sesame.bands, key=lambda b: -b.min)]
    keys = [(band_order.index(e["band"]), -e["score"]) for e in entries]
    assert keys == sorted(keys)
    for e in entries:
        assert e["score"] == score(w, "sesame-2015@1", members[e["consent_id"]])
        assert set(e) == {"rank", "consent_id", "band", "score", "policy_key"}
    assert not any(p in listing.text for p in members.values())
    log = w.client.get("/me/inquiries", headers=w.h("A")).json()
    assert [(i["partner"], i["reason"], i["granted"]) for i in log] == [
        (ORG_Q, "showcase listing", True)
    ]

    # A leaves by revoking
    w.client.delete(f"/me/consents/{a_consent['id']}", headers=w.h("A"))
    after = w.client.get("/showcase", headers=w.h("Q"), params={"policy": "sesame-2015"}).json()
    assert a_consent["id"] not in {e["consent_id"] for e in after} and len(after) == 3
    # P's showcase holds only the member who opted in with P
    at_p = w.client.get("/showcase", headers=w.h("P"), params={"policy": "sesame-2015"}).json()
    assert [e["consent_id"] for e in at_p] == [to_p["id"]]


# regulator ---------------------------------------------------------------------------------------
def test_regulator_aggregates_suppress_small_cells(world: World) -> None:
    r = world.h("R")
    dist = world.client.get(
        "/regulator/distribution", headers=r, params={"policy": "lending"}
    ).json()
    assert dist["k"] == 10 and dist["by"] == "province" and dist["as_of"] == str(TODAY)
    # the true counts, from the rebuild's stored scores and the registry's regions
    scores, _, _ = world.ws.store.scores("lending@1")
    regions = dict(
        zip(
            *world.ws.store.export_persons().select(["id", "region"]).to_pydict().values(),
            strict=True,
        )
    )
    true: dict[tuple[str, str], int] = {}
    for person, band in zip(
        scores.column("person").to_pylist(), scores.column("band").to_pylist(), strict=True
    ):
        cell = (regions[person][:2], band)
        true[cell] = true.get(cell, 0) + 1
    cells = {(c["group"], c["band"]): c["persons"] for c in dist["cells"]}
    assert set(cells) == set(true)
    shown = {k: v for k, v in cells.items() if v is not None}
    assert shown and len(shown) < len(cells)  # some shown, some suppressed
    assert all(v >= 10 and v == true[k] for k, v in shown.items())
    assert all(true[k] < 10 for k in true if true[k] < 10 and cells[k] is None)
    for line in [*{g for g, _ in cells}, *{b for _, b in cells}]:  # no lone suppressed cell
        in_line = [v for (g, b), v in cells.items() if line in (g, b)]
        assert sum(v is None for v in in_line) != 1 or len(in_line) == 1
    groups = {g["group"]: g for g in dist["groups"]}
    assert groups["11"]["persons"] == sum(n for (g, _), n in true.items() if g == "11")
    assert groups["44"] == {"group": "44", "persons": None, "mean": None, "median": None}

    bands = world.client.get("/regulator/bands", headers=r, params={"policy": "lending"}).json()
    national: dict[str, int] = {}
    for (_, band), n in true.items():
        national[band] = national.get(band, 0) + n
    total = sum(national.values())
    for share in bands:
        assert share["group"] == "all"
        if share["persons"] is not None:
            assert share["persons"] == national[share["band"]] >= 10
            assert share["share"] == pytest.approx(share["persons"] / total)
    assert any(s["persons"] is None for s in bands)

    unknown = world.client.get("/regulator/bands", headers=r, params={"policy": "nope"})
    assert unknown.status_code == 404 and "no installed policy" in unknown.json()["detail"]


def test_regulator_dispute_statistics_per_organisation(fresh_world: World) -> None:
    w = fresh_world
    d1 = dispute(w, w.seq["A_missed"])
    dispute(w, w.seq["A_repaid"])
    w.client.post(
        "/me/disputes", headers=w.h("A"), json={"seq": w.seq["A_speeding"], "reason": "not my car"}
    )
    decide(w, d1["id"], "confirm")
    stats = {s["org"]: s for s in w.client.get("/regulator/disputes", headers=w.h("R")).json()}
    assert stats[ORG_F] == {
        "org": ORG_F,
        "opened": 2,
        "resolved": 1,
        "open": 1,
        "overdue": 0,
        "resolved_late": 0,
        "median_resolution_days": 0.0,
    }
    assert stats[ORG_T]["opened"] == 1 and stats[ORG_T]["open"] == 1
    assert PERSON_A not in json.dumps(stats)
