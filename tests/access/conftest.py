"""Fixtures for the access layer: an access store on every backend, a ledger, a fake scorer.

The access store runs on SQLite (in the ledger's own file, as in production) and, when
``OPENCREDIT_TEST_PG_URL`` is set, on PostgreSQL in a throwaway schema dropped afterwards.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from access_helpers import BANK, PARTNER, PEOPLE, PG_URL, SHOP, FakeScorer, record_rows
from sqlalchemy import create_engine, text

from opencredit.access import AccessStore, Caller, Role
from opencredit.access.store import normalise_url
from opencredit.access.tables import metadata
from opencredit.ledger.sqlite_store import SQLiteStore
from opencredit.ledger.store import Organisation
from opencredit.policies.model import Policy, published_policies

#: Backends the access store is tested on: PostgreSQL only when a server is given.
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(scope="session")
def postgres_access_store():
    """One throwaway PostgreSQL schema for the session, dropped at the end."""
    schema = f"oc_access_test_{uuid.uuid4().hex[:12]}"
    store = AccessStore(PG_URL, schema)
    yield store
    store.close()
    engine = create_engine(normalise_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def access_store(request, tmp_path: Path):
    """An empty access store: SQLite in ``tmp_path/ledger.sqlite`` (a new file per test), or
    the session's PostgreSQL schema with every table emptied (faster than a schema per test)."""
    if request.param == "sqlite":
        store = AccessStore(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        yield store
        store.close()
        return
    store = request.getfixturevalue("postgres_access_store")
    names = ", ".join(f'"{store.schema}"."{t.name}"' for t in metadata.sorted_tables)
    with store.write() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    yield store


@pytest.fixture
def ledger(tmp_path: Path):
    """A SQLite ledger (the access store's file, on SQLite) with persons, two organisations
    and three records: seq 1 and 2 about PEOPLE[0] filed by BANK, seq 3 about PEOPLE[1]."""
    store = SQLiteStore(tmp_path / "ledger.sqlite")
    store.add_persons(
        pa.table(
            {
                "id": PEOPLE,  # the registry keeps the attributes the ID encodes
            },
        )
    )
    store.add_organisation(Organisation(BANK, "Bank", ("finance",)))
    store.add_organisation(Organisation(SHOP, "Shop", ("commerce",)))
    store.append(
        BANK,
        "test",
        record_rows(
            {"ref": "a"}, {"ref": "b", "kind": "loan_repaid"}, {"ref": "c", "person": PEOPLE[1]}
        ),
    )
    yield store
    store.close()


@pytest.fixture(scope="session")
def policies() -> dict[str, Policy]:
    """The published policies by id: lending, rongcheng, sesame-2015."""
    return {p.id: p for p in published_policies()}


@pytest.fixture
def scorer(policies) -> FakeScorer:
    """A scorer knowing every published policy and no scores yet."""
    return FakeScorer(list(policies.values()))


@pytest.fixture
def partner() -> Caller:
    """An authenticated partner (key creation is tested in test_access_keys)."""
    return Caller("0123456789abcdef", Role.PARTNER, PARTNER)
