"""Stores by database URL: a short scheme name mapped to a class, imported only when used.

``sqlite:///relative/ledger.sqlite``, ``sqlite:////absolute/ledger.sqlite`` or a plain path open
the embedded SQLite store; ``postgresql://user@host:port/db`` (or ``postgres://``) opens the
PostgreSQL store, in schema ``opencredit`` unless the URL adds ``?schema=NAME``.
"""

from __future__ import annotations

import hashlib
import importlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opencredit.errors import OpenCreditError
from opencredit.ledger.store import Store

#: The PostgreSQL schema of a deployment (ledger and access tables) whose URL names none.
DEFAULT_SCHEMA = "opencredit"


def lock_key(purpose: str, schema: str) -> int:
    """A stable signed 64-bit PostgreSQL advisory lock key for one purpose in one schema
    (the ledger's and the access tables' stores take the same ``"schema"`` lock)."""
    digest = hashlib.blake2b(f"opencredit:{purpose}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


#: URL scheme -> "module:Class" of the store it opens.
BACKENDS: dict[str, str] = {
    "sqlite": "opencredit.ledger.sqlite_store:SQLiteStore",
    "postgresql": "opencredit.ledger.postgres_store:PostgresStore",
    "postgres": "opencredit.ledger.postgres_store:PostgresStore",
}


class UnknownBackend(OpenCreditError, ValueError):
    """A database URL whose scheme names no store."""


def _store_class(scheme: str) -> type[Store]:
    module, _, name = BACKENDS[scheme].partition(":")
    return getattr(importlib.import_module(module), name)


def open_store(url: str) -> Store:
    """Open the store a database URL (or a plain SQLite file path) names."""
    scheme, sep, rest = url.partition("://")
    if not sep:  # a plain path
        return _store_class("sqlite")(url)
    if scheme not in BACKENDS:
        raise UnknownBackend(
            f"unknown database URL scheme {scheme!r} in {url!r}; expected one of "
            f"{', '.join(s + '://' for s in BACKENDS)} or a path to a SQLite file"
        )
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise UnknownBackend(f"expected sqlite:///PATH (three slashes), got {url!r}")
        return _store_class("sqlite")(rest[1:])
    plain, schema = split_schema(url)
    store_class = _store_class(scheme)
    return store_class(plain, schema=schema) if schema else store_class(plain)


def split_schema(url: str) -> tuple[str, str | None]:
    """``url`` without its ``?schema=NAME`` parameter, and NAME (None if absent; the last one
    if repeated). libpq refuses parameters it does not know, so the schema is taken out."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = [v for k, v in query if k == "schema"]
    if not schema:
        return url, None
    plain = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
    return plain, schema[-1]
