"""A PostgreSQL server for the store tests: each test (or module) gets its own schema, dropped
afterwards.

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

# A developer's own settings must not point the tests at their data or database.
for _name in ("OPENCREDIT_DATABASE_URL", "OPENCREDIT_DATA", "OPENCREDIT_TODAY"):
    os.environ.pop(_name, None)


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


def _throwaway_schema(url: str) -> Iterator[str]:
    name = f"test_{secrets.token_hex(6)}"
    yield name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh schema name for one test; the schema is dropped when the test ends."""
    yield from _throwaway_schema(pg_url)


@pytest.fixture(scope="module")
def pg_module_schema(pg_url: str) -> Iterator[str]:
    """A schema name shared by one test module (creating a schema takes a few tenths of a
    second); dropped when the module ends."""
    yield from _throwaway_schema(pg_url)
