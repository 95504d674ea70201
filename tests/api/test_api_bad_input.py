"""Bad input gets a 4xx with a message a person can act on, and writes nothing.

Each case checks the status, that the message names what was wrong (the field, the part of
an ID, the special category, the limit), and that the ledger and the caller's consents are
as they were.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from api_world import ORG_P, PERSON_A, TODAY, Template, World, open_world, unique

from opencredit.api.settings import Settings


def rec(**fields) -> dict:
    base = dict(person=PERSON_A, kind="loan_repaid", occurred="2026-02-01", ref=unique("bad"))
    return base | fields


@pytest.fixture
def unchanged(world: World) -> Iterator[World]:
    """The session world, checked afterwards: no record, consent or share was added."""

    def state() -> tuple:
        mine = world.client.get("/me/file", headers=world.h("A")).json()
        return world.count(), len(mine["consents"]), len(mine["shares"]), len(mine["reviews"])

    before = state()
    yield world
    assert state() == before


def post(w: World, path: str, who: str = "F", **kwargs):
    return w.client.post(path, headers=w.h(who) | kwargs.pop("headers", {}), **kwargs)


def detail(response) -> str:
    return response.json()["detail"]


# malformed bodies --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/records", "/records/batch", "/me/consents"])
def test_malformed_json(unchanged: World, path: str) -> None:
    who = "A" if path.startswith("/me") else "F"
    r = post(
        unchanged,
        path,
        who,
        content=b'{"person": "x", "ref": }',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert detail(r) == ("invalid request: body: not valid JSON at character 23: Expecting value")


def test_body_that_is_not_utf8(unchanged: World) -> None:
    r = post(
        unchanged,
        "/records",
        content=b'{"ref": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert "not UTF-8 text" in detail(r) and "send JSON encoded as UTF-8" in detail(r)


def test_json_that_is_not_an_object(unchanged: World) -> None:
    r = post(unchanged, "/records", json=[rec()])
    assert r.status_code == 422 and "body: Input should be a valid dictionary" in detail(r)


# wrong types, unknown and missing fields ---------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "who", "body", "field", "says"),
    [
        ("/records", "F", rec(value="three"), "value", "plain decimal number"),
        ("/records", "F", rec(ref=12), "ref", "valid string"),
        ("/records/batch", "F", {"records": [rec()], "partial": "maybe"}, "partial", "boolean"),
        ("/records/batch", "F", {"records": rec()}, "records", "valid list"),
        ("/records/batch", "F", {"records": []}, "records", "at least 1 item"),
        ("/me/disputes", "A", {"seq": "first", "reason": "x"}, "seq", "valid integer"),
        ("/me/disputes", "A", {"seq": 0, "reason": "x"}, "seq", "greater than or equal to 1"),
        ("/me/disputes", "A", {"seq": 2**70, "reason": "x"}, "seq", "less than or equal to"),
        (
            "/me/consents",
            "A",
            {"partner": ORG_P, "policy": "lending", "purpose": "lending", "until": 20270101},
            "until",
            "date",
        ),
        (
            "/me/consents",
            "A",
            {"partner": ORG_P, "policy": "lending", "purpose": ["lending"], "until": "2027-01-01"},
            "purpose",
            "valid string",
        ),
    ],
)
def test_wrong_types_name_the_field(unchanged: World, path, who, body, field, says) -> None:
    r = post(unchanged, path, who, json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert says in errors[0]["message"] and f"{field}: " in detail(r)


@pytest.mark.parametrize(
    ("path", "who", "body", "field"),
    [
        ("/records", "F", rec(colour="red"), "colour"),
        ("/records/batch", "F", {"records": [rec(), rec(persn=PERSON_A)]}, "records.1.persn"),
        ("/records/batch", "F", {"records": [rec()], "partially": True}, "partially"),
        (
            "/me/consents",
            "A",
            {
                "partner": ORG_P,
                "policy": "lending",
                "purpose": "lending",
                "until": "2027-01-01",
                "person": PERSON_A,
            },
            "person",
        ),
        ("/me/shares", "A", {"policy": "lending", "until": "2027-01-01", "public": True}, "public"),
        ("/admin/keys", "admin", {"role": "regulator", "scope": "all"}, "scope"),
    ],
)
def test_unknown_fields_are_refused_by_name(unchanged: World, path, who, body, field) -> None:
    r = post(unchanged, path, who, json=body)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": field,
            "type": "extra_forbidden",
            "message": f"unknown field {field.split('.')[-1]!r}; check its spelling against the "
            "schema",
        }
    ]


@pytest.mark.parametrize(
    ("path", "who", "body", "missing"),
    [
        (
            "/records",
            "F",
            {"person": PERSON_A, "kind": "loan_repaid", "occurred": "2026-01-01"},
            ["ref"],
        ),
        ("/me/consents", "A", {"partner": ORG_P, "policy": "lending"}, ["purpose", "until"]),
        ("/me/disputes", "A", {}, ["seq", "reason"]),
        ("/org/disputes/1/decision", "F", {"decision": "confirm"}, ["note"]),
    ],
)
def test_missing_fields_are_named(unchanged: World, path, who, body, missing) -> None:
    r = post(unchanged, path, who, json=body)
    assert r.status_code == 422
    assert [(e["field"], e["message"]) for e in r.json()["errors"]] == [
        (m, "Field required") for m in missing
    ]


def test_missing_row_fields_are_named_per_record(unchanged: World) -> None:
    r = post(
        unchanged,
        "/records/batch",
        json={"records": [rec(), {"ref": unique(), "kind": "loan_repaid"}]},
    )
    assert r.status_code == 422
    assert {(e["index"], e["field"]) for e in r.json()["errors"]} == {
        (2, "person"),
        (2, "occurred"),
    }


# identifiers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("11010119900517011", "has 17 characters; expected 18"),
        ("1101A1199005170112", "character 5 is 'A'; the first 17 characters must be digits"),
        ("990101199005170112", "region 990101 starts with 99, which is not a province code"),
        ("110101199013320011", "birth date 19901332 is not a real date (YYYYMMDD)"),
        ("110101199005170113", "check character is '3', expected '2'"),
    ],
)
def test_invalid_resident_ids_say_which_part_is_wrong(unchanged: World, value, says) -> None:
    """In a partner's read, a filed record, and a new key: the same explanation."""
    w = unchanged
    read = w.client.get(
        f"/scores/{value}", headers=w.h("P"), params={"policy": "lending", "purpose": "lending"}
    )
    assert read.status_code == 422 and says in detail(read)
    filed = post(w, "/records", json=rec(person=value))
    assert filed.status_code == 422
    assert filed.json()["errors"][0]["field"] == "person"
    assert says in filed.json()["errors"][0]["reason"]
    key = post(w, "/admin/keys", "admin", json={"role": "person", "subject": value})
    assert key.status_code == 422 and says in detail(key)


def test_invalid_org_code_in_a_consent_names_the_bad_part(unchanged: World) -> None:
    bad = ORG_P[:-1] + ("0" if ORG_P[-1] != "0" else "1")
    r = post(
        unchanged,
        "/me/consents",
        "A",
        json={"partner": bad, "policy": "lending", "purpose": "lending", "until": "2027-01-01"},
    )
    assert r.status_code == 422 and "check character is" in detail(r)
    r = post(
        unchanged,
        "/me/consents",
        "A",
        json={"partner": "short", "policy": "lending", "purpose": "lending", "until": "2027-01-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "partner"


def test_a_person_key_for_an_unregistered_person(unchanged: World) -> None:
    from api_world import STRANGER

    r = post(unchanged, "/admin/keys", "admin", json={"role": "person", "subject": STRANGER})
    assert r.status_code == 404 and "register them first" in detail(r)


# policies ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "who", "body"),
    [
        ("GET", "/policies/nope", None, None),
        ("GET", "/me/scores/nope", "A", None),
        (
            "POST",
            "/me/consents",
            "A",
            {"partner": ORG_P, "policy": "nope", "purpose": "lending", "until": "2027-01-01"},
        ),
        ("POST", "/me/shares", "A", {"policy": "nope", "until": "2027-01-01"}),
        ("POST", "/me/reviews", "A", {"policy": "nope", "message": "why?"}),
        ("GET", "/showcase?policy=nope", "Q", None),
        ("GET", "/regulator/distribution?policy=nope", "R", None),
        ("GET", f"/scores/{PERSON_A}?policy=nope&purpose=lending", "P", None),
    ],
)
def test_unknown_policy_is_404_listing_the_installed(
    unchanged: World, method, path, who, body
) -> None:
    headers = unchanged.h(who) if who else {}
    r = unchanged.client.request(method, path, headers=headers, json=body)
    assert r.status_code == 404
    assert detail(r) == (
        "no installed policy 'nope'; installed: lending@1, rongcheng@1, sesame-2015@1"
    )


def test_a_purpose_the_policy_does_not_allow(unchanged: World) -> None:
    r = post(
        unchanged,
        "/me/consents",
        "A",
        json={
            "partner": ORG_P,
            "policy": "lending",
            "purpose": "dating_profile",
            "until": "2027-01-01",
        },
    )
    assert r.status_code == 422
    assert detail(r) == (
        "policy lending@1 may not be read for purpose 'dating_profile'; it "
        "allows only lending, rental_deposit"
    )


# dates -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["01/02/2026", "2026-1-2", "yesterday", "2026-02-30", ""])
def test_dates_in_the_wrong_format(unchanged: World, value: str) -> None:
    r = post(unchanged, "/records", json=rec(occurred=value))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "occurred"
    assert "date" in r.json()["errors"][0]["message"]


def test_dates_out_of_range(unchanged: World) -> None:
    future = post(unchanged, "/records", json=rec(occurred="2026-03-02"))
    assert future.status_code == 422
    assert future.json()["errors"][0]["reason"] == "is in the future; today is 2026-03-01"
    past = post(
        unchanged,
        "/me/consents",
        "A",
        json={"partner": ORG_P, "policy": "lending", "purpose": "lending", "until": str(TODAY)},
    )
    assert past.status_code == 422
    assert detail(past) == "a consent must end after today (2026-03-01); got 2026-03-01"
    share = post(unchanged, "/me/shares", "A", json={"policy": "lending", "until": "2020-01-01"})
    assert share.status_code == 422 and "must end after today" in detail(share)


# values and categories ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"kind": "loan_default", "value": -500}, "is negative; expected at least 0.01 cny"),
        ({"kind": "payment_missed", "value": -3}, "is negative; expected at least 1 days_late"),
        ({"kind": "payment_missed"}, "kind payment_missed needs a value in days_late"),
        ({"kind": "loan_repaid", "value": 3}, "carries no value; leave it empty"),
        ({"kind": "loan_default", "value": 1e12}, "is too large; expected at most 1e+10 cny"),
    ],
)
def test_values_out_of_range(unchanged: World, fields, says) -> None:
    r = post(unchanged, "/records", json=rec(**fields))
    assert r.status_code == 422
    assert [(e["field"], says in e["reason"]) for e in r.json()["errors"]] == [("value", True)]


@pytest.mark.parametrize(
    ("who", "fields", "category"),
    [
        (
            "F",
            {"kind": "purchase", "category": "contraceptives", "value": 30},
            "reproductive health and contraception",
        ),
        (
            "F",
            {"kind": "purchase", "category": "pregnancy_tests", "value": 30},
            "reproductive health and contraception",
        ),
        (
            "F",
            {"kind": "purchase", "category": "church_donations", "value": 30},
            "religious or philosophical belief",
        ),
        ("F", {"kind": "hiv_test"}, "health"),
        ("F", {"kind": "union_dues"}, "trade union membership"),
    ],
)
def test_special_categories_are_refused_by_name(unchanged: World, who, fields, category) -> None:
    r = post(unchanged, "/records", who, json=rec(**fields))
    assert r.status_code == 422
    reasons = " ".join(e["reason"] for e in r.json()["errors"])
    assert f"it reveals {category}" in reasons
    assert "special-category data that opencredit never records" in reasons


def test_special_category_column_in_an_upload(unchanged: World) -> None:
    csv = (
        f"person,kind,occurred,ref,religion\n{PERSON_A},loan_repaid,2026-01-01,{unique()},none\n"
    ).encode()
    r = post(unchanged, "/records/upload", files={"file": ("r.csv", csv)})
    assert r.status_code == 422
    assert "column 'religion' is refused: it reveals religious or philosophical belief" in detail(r)


# uploads -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["records.xlsx", "records", "records.csv.exe", ".csv"])
def test_upload_with_unknown_extension(unchanged: World, name: str) -> None:
    r = post(unchanged, "/records/upload", files={"file": (name, b"person,kind\n")})
    assert r.status_code == 422
    assert "expected .csv, .jsonl or .parquet" in detail(r)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("r.csv", b"", "empty file"),
        ("r.csv", b"person,kind\n", "missing required column(s) occurred, ref"),
        ("r.parquet", b"not parquet at all", "cannot be read as Parquet"),
        ("r.csv", b"person,kind,occurred,ref\n\xff\xfe,x,y,z\n", "is not UTF-8 text"),
    ],
)
def test_unreadable_uploads(unchanged: World, name: str, content: bytes, says: str) -> None:
    r = post(unchanged, "/records/upload", files={"file": (name, content)})
    assert r.status_code == 422 and says in detail(r)


def test_upload_without_a_file(unchanged: World) -> None:
    r = post(unchanged, "/records/upload", data={"partial": "true"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


# sizes and limits --------------------------------------------------------------------------------
@pytest.fixture
def small_app(template: Template, tmp_path) -> Iterator[World]:
    """A world whose app refuses bodies over 1,000 bytes."""
    with open_world(template, tmp_path / "small", max_body_bytes=1000) as w:
        yield w


def test_oversized_bodies_are_413(small_app: World) -> None:
    w = small_app
    before = w.count()
    big = {"records": [rec() for _ in range(30)]}
    r = post(w, "/records/batch", json=big)
    assert r.status_code == 413
    assert detail(r) == "request body over the limit of 1,000 bytes; send less per request"
    upload = post(w, "/records/upload", files={"file": ("r.csv", b"x" * 2000)})
    assert upload.status_code == 413
    # without a Content-Length (chunked), the limit is enforced while reading
    chunks = (b'{"records": [' + b",".join([b'{"ref": "x"}'] * 200) + b"]}",)
    streamed = w.client.post(
        "/records/batch",
        headers=w.h("F") | {"Content-Type": "application/json"},
        content=iter(chunks),
    )
    assert streamed.status_code == 413, streamed.text
    assert "over the limit of 1,000 bytes" in detail(streamed)
    assert post(w, "/records", json=rec()).status_code == 201  # small ones still pass
    assert w.count() == before + 1


def test_field_size_limits(unchanged: World) -> None:
    r = post(unchanged, "/records", json=rec(ref="r" * 101))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ref"
    r = post(unchanged, "/me/reviews", "A", json={"policy": "lending", "message": "x" * 2001})
    assert r.status_code == 422 and "at most 2000 characters" in detail(r)
    r = post(unchanged, "/me/disputes", "A", json={"seq": 1, "reason": "   "})
    assert r.status_code == 422 and "the reason for the dispute is empty" in detail(r)


@pytest.mark.parametrize(
    "path", ["/me/consents/99999999999999999999", "/me/consents/0", "/me/consents/x"]
)
def test_ids_out_of_range_in_paths(unchanged: World, path: str) -> None:
    r = unchanged.client.delete(path, headers=unchanged.h("A"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.consent_id"


def test_idempotency_key_must_be_printable_ascii_and_short(unchanged: World) -> None:
    r = post(unchanged, "/records", json=rec(), headers={"Idempotency-Key": "tab\there"})
    assert r.status_code == 422 and "printable ASCII" in detail(r)
    r = post(unchanged, "/records", json=rec(), headers={"Idempotency-Key": "k" * 256})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_decisions_that_break_the_rules(fresh_world: World) -> None:
    w = fresh_world
    d = w.client.post(
        "/me/disputes", headers=w.h("A"), json={"seq": w.seq["A_missed"], "reason": "wrong"}
    ).json()
    path = f"/org/disputes/{d['id']}/decision"
    for body, says in [
        ({"decision": "amend", "note": "n"}, "an amendment needs the corrected fields"),
        (
            {"decision": "amend", "note": "n", "correction": {}},
            "an amendment needs the corrected fields",
        ),
        (
            {"decision": "confirm", "note": "n", "correction": {"value": 3}},
            "a confirm decision takes no corrected fields",
        ),
        (
            {"decision": "amend", "note": "n", "correction": {"person": PERSON_A}},
            "unknown field 'person'",
        ),
        ({"decision": "delete", "note": "n"}, "decision: Input should be"),
    ]:
        before = w.count()
        r = post(w, path, json=body)
        assert r.status_code == 422 and says in detail(r), (body, r.text)
        assert w.count() == before
    assert (
        post(
            w, "/org/disputes/999999/decision", json={"decision": "confirm", "note": "n"}
        ).status_code
        == 404
    )


def test_settings_refuse_a_short_share_secret() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        Settings(share_secret="too-short-to-sign-with")
    with pytest.raises(ValueError, match="OPENCREDIT_SHARE_SECRET"):
        Settings(environment="production")


def test_today_is_pinned() -> None:
    """The whole folder runs on TODAY (a guard for the date-dependent messages above)."""
    from opencredit.clock import today

    assert today() == TODAY == dt.date(2026, 3, 1)


# strict uploads: never a 5xx, never a server path -------------------------------------------------
def _parquet(**columns) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    base = {
        "person": pa.array([PERSON_A]),
        "kind": pa.array(["loan_repaid"]),
        "occurred": pa.array(["2025-01-01"]),
        "ref": pa.array([unique("up")]),
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(base | columns), sink)
    return sink.getvalue()


def _jsonl(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


STRICT_UPLOADS = {
    "over-long file name": ("r" * 300 + ".csv", b"person,kind,occurred,ref\n", "file name is 304"),
    "deeply nested JSON line": (
        "r.jsonl",
        _jsonl("[" * 3000 + "]" * 3000),
        "nested too deeply",
    ),
    "repeated JSON key": (
        "r.jsonl",
        _jsonl(
            f'{{"person": "{PERSON_A}", "kind": "loan_repaid", "occurred": "2025-01-01", '
            '"ref": "dup-key", "kind": "red_light"}'
        ),
        "appears more than once",
    ),
    "struct column": ("r.parquet", _parquet(value=[{"a": 1.0}]), "records are flat"),
    "list column": ("r.parquet", _parquet(category=[["a"]]), "records are flat"),
    "invalid UTF-8 in a binary column": (
        "r.parquet",
        _parquet(ref=[b"caf\xe9"]),
        "row 1, column 'ref' is not UTF-8 text",
    ),
    "open quote": (
        "r.csv",
        f'person,kind,occurred,ref\n{PERSON_A},loan_repaid,2025-01-01,"q1\n'.encode(),
        "quoted value must close on its own line",
    ),
    "over-long line": (
        "r.csv",
        b"person,kind,occurred,ref\n" + b"x" * 10_000 + b"\n",
        "bytes long",
    ),
}


@pytest.mark.parametrize("case", list(STRICT_UPLOADS))
def test_strict_uploads_are_a_4xx_naming_the_problem(unchanged: World, case: str) -> None:
    name, content, says = STRICT_UPLOADS[case]
    r = post(unchanged, "/records/upload", files={"file": (name, content)})
    assert 400 <= r.status_code < 500, r.text
    assert says in r.text, r.text
    assert "/tmp" not in r.text and "tmp" not in r.json().get("detail", "").split(":")[0]


def test_an_upload_with_nothing_new_writes_no_batch(unchanged: World) -> None:
    content = b"person,kind,occurred,ref\n"
    r = post(unchanged, "/records/upload", files={"file": ("empty.csv", content)})
    assert r.status_code == 200 and r.json()["batch"] is None and r.json()["accepted"] == 0


@pytest.mark.parametrize(
    ("given", "says"),
    [("r\x00.csv", "U+0000"), ("r\n.csv", "U+000A"), ("x" * 256 + ".csv", "at most 255")],
)
def test_upload_file_names_are_checked_where_they_enter(given: str, says: str) -> None:
    """(An HTTP client percent-encodes control characters; a raw request need not.)"""
    from opencredit.access import InvalidRequest
    from opencredit.api.routes.filing import _file_name

    with pytest.raises(InvalidRequest, match=re.escape(says)):
        _file_name(given)
    assert _file_name("C:\\exports\\records.csv") == "records.csv"


@pytest.mark.parametrize("path", ["/records", "/records/batch"])
def test_a_deeply_nested_json_body_is_a_4xx(unchanged: World, path: str) -> None:
    body = '{"records": ' + "[" * 50_000 + "]" * 50_000 + "}"
    r = post(unchanged, path, content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize(
    ("field", "given"),
    [
        ("value", "1_000"),
        ("value", "１２"),
        ("value", "nan"),
        ("value", True),
        ("occurred", "２０２６-01-01"),
        ("occurred", "2026-01-01T00:00:00"),
        ("occurred", 1767225600),
    ],
)
def test_json_values_and_dates_are_read_as_strictly_as_a_files(
    unchanged: World, field: str, given: object
) -> None:
    for path, body in (
        ("/records", rec(kind="payment_missed", value=3) | {field: given}),
        ("/records/batch", {"records": [rec(kind="payment_missed", value=3) | {field: given}]}),
    ):
        r = post(unchanged, path, json=body)
        assert r.status_code == 422, r.text
        assert field in r.text and ("YYYY-MM-DD" in r.text or "number" in r.text), r.text
