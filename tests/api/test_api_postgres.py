"""A partner's read through the HTTP API with both stores on PostgreSQL, with the reads on the
event loop (the default for a database on loopback) and in a worker thread: the same answers,
refusals and inquiry log."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from opencredit.access import AccessStore, create_key
from opencredit.api import create_app
from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.api.settings import Settings
from opencredit.ledger.store import PERSON_SCHEMA
from opencredit.registry import make_org_code, make_resident_id
from opencredit.workspace import Workspace

TODAY = dt.date(2026, 3, 1)
PERSON = make_resident_id("110101", dt.date(1990, 5, 17), 11)
BANK = make_org_code("110000", 101)
LENDER = make_org_code("310000", 201)
PARAMS = {"policy": "lending", "purpose": "lending"}


def the_person() -> pa.Table:
    """PERSON's registry row."""
    return pa.table(
        {"id": [PERSON], "region": ["110101"], "birth_date": [dt.date(1990, 5, 17)], "sex": ["M"]},
        schema=PERSON_SCHEMA,
    )


@pytest.fixture(scope="module")
def database(pg_url: str) -> Iterator[str]:
    """A throwaway database (ledger and access tables in its schema opencredit), dropped after."""
    name = f"oc_api_{secrets.token_hex(5)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def tokens(database: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One person with two repayments on file, a bank, and keys for the person and a lender."""
    data = tmp_path_factory.mktemp("pg-api")
    with Workspace.init(data, database_url=database) as ws:
        ws.store.add_persons(the_person())
        ws.register_provider(BANK, "Example Bank", ["finance"])
        records = [
            RecordIn(person=PERSON, kind="loan_repaid", occurred=f"2025-0{m}-01", ref=f"r{m}")
            for m in (1, 2)
        ]
        assert ws.ingest_rows(rows_from_records(records, "seed"), BANK).receipt is not None
        with AccessStore(database) as store:
            _, person = create_key(store, "person", PERSON, "test person", ledger=ws.store)
            _, lender = create_key(store, "partner", LENDER, "test lender", ledger=ws.store)
    return {"data": str(data), "person": person, "lender": lender}


def _client(tokens: dict[str, str], database: str, reads_on_loop: str) -> TestClient:
    settings = Settings(
        data=Path(tokens["data"]), database_url=database, reads_on_loop=reads_on_loop
    )
    return TestClient(create_app(settings))


@pytest.mark.parametrize("reads_on_loop", ["auto", "off"])
def test_a_partner_reads_only_under_consent_and_every_read_is_logged(
    tokens: dict[str, str],
    database: str,
    reads_on_loop: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENCREDIT_TODAY", TODAY.isoformat())
    person = {"Authorization": f"Bearer {tokens['person']}"}
    lender = {"Authorization": f"Bearer {tokens['lender']}"}
    with _client(tokens, database, reads_on_loop) as client:
        ctx = client.app.state.context  # type: ignore[attr-defined]
        assert ctx.reads_on_loop is (reads_on_loop == "auto")  # loopback: on the loop
        logged = len(client.get("/me/inquiries", headers=person).json())

        refused = client.get(f"/scores/{PERSON}", headers=lender, params=PARAMS)
        assert refused.status_code == 403 and "score" not in refused.json()

        consent = client.post(
            "/me/consents",
            headers=person,
            json={
                "partner": LENDER,
                "policy": "lending",
                "purpose": "lending",
                "until": str(TODAY + dt.timedelta(days=30)),
            },
        )
        assert consent.status_code == 201
        read = client.get(f"/scores/{PERSON}", headers=lender, params=PARAMS)
        assert read.status_code == 200
        body = read.json()
        own = client.get("/me/scores/lending", headers=person).json()
        assert body["score"] == own["score"] and body["consent_id"] == consent.json()["id"]

        log = client.get("/me/inquiries", headers=person).json()
        assert len(log) == logged + 2
        assert [(i["granted"], i["partner"]) for i in log[:2]] == [(True, LENDER), (False, LENDER)]
        assert log[0]["id"] == body["inquiry_id"]
        revoked = client.delete(f"/me/consents/{consent.json()['id']}", headers=person)
        assert revoked.status_code == 200


def test_one_url_with_a_schema_serves_both_stores(
    pg_url: str, pg_schema: str, tmp_path: Path
) -> None:
    """``?schema=NAME`` keeps a whole deployment (ledger and access tables) in one schema."""
    url = f"{pg_url}?schema={pg_schema}"
    with Workspace.init(tmp_path, database_url=url) as ws:
        ws.store.add_persons(the_person())
        with AccessStore(url) as store:
            _, token = create_key(store, "person", PERSON, "test person", ledger=ws.store)
    with TestClient(create_app(Settings(data=tmp_path, database_url=url))) as client:
        assert client.app.state.context.access.schema == pg_schema  # type: ignore[attr-defined]
        mine = client.get("/me/inquiries", headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200 and mine.json() == []
