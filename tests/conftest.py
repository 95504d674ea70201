"""A PostgreSQL server for the store tests: each test gets its own schema, dropped afterwards.

The server is ``$OPENCREDIT_TEST_PG_URL``, else ``postgresql://postgres@127.0.0.1:5432/test``.
No server is an error, not a skip: ``scripts/test-postgres.sh`` starts a throwaway one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test server's URL, checked once per session."""
    url = os.environ.get("OPENCREDIT_TEST_PG_URL") or DEFAULT_PG_URL
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"no PostgreSQL server at {url} ({exc}); run the tests through "
            "scripts/test-postgres.sh, which starts a throwaway server, or set "
            "OPENCREDIT_TEST_PG_URL",
            pytrace=False,
        )
    return url


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh schema name for one test; the schema is dropped when the test ends."""
    name = f"test_{secrets.token_hex(6)}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
