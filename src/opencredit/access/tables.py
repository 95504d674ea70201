"""The access layer's tables (SQLAlchemy Core): one schema for SQLite and PostgreSQL.

Tables carry no schema name; :class:`~opencredit.access.store.AccessStore` places them in a
PostgreSQL schema with ``schema_translate_map``. Names avoid the ledger's own tables, since on
SQLite both live in one file. Dates are ``Date``; instants are UTC (:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

ID = String(18)  # resident IDs and organisation codes are both 18 characters
#: Ledger sequence numbers and dispute ids: 64-bit, as the ledger keeps them (tens of billions
#: of records overflow a 32-bit integer on PostgreSQL).
LEDGER_ID = BigInteger


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no zone, so it is stored naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give instants in UTC")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("subject", ID),
    Column("label", String(200), nullable=False, default=""),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person", ID, nullable=False),
    Column("partner", ID, nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("granted_on", Date, nullable=False),
    Column("until", Date, nullable=False),
    Column("showcase", Boolean, nullable=False, default=False),
    Column("revoked_on", Date),
    Index("consents_person", "person"),
    Index("consents_partner", "partner", "policy_id"),
    # The partner read (live_consent) names all four: without this SQLite (which keeps no
    # statistics) prefers consents_partner and scans every consent the partner holds.
    Index("consents_read", "person", "partner", "policy_id", "purpose"),
)

inquiries = Table(
    "inquiries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person", ID, nullable=False),
    Column("partner", ID, nullable=False),
    Column("policy_key", String(80), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("reason", String(400), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
    Index("inquiries_person", "person", "at"),
)

share_links = Table(
    "share_links",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("person", ID, nullable=False),
    Column("policy_key", String(80), nullable=False),
    Column("until", Date, nullable=False),
    Column("created_on", Date, nullable=False),
    Column("revoked_on", Date),
    Index("share_links_person", "person"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person", ID, nullable=False),
    Column("policy_key", String(80), nullable=False),
    Column("provider", ID, nullable=False),
    Column("message", Text, nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("answer", Text),
    Column("answered_on", Date),
    Index("reviews_person", "person"),
    Index("reviews_provider", "provider"),
)

#: One row per dispute opened through the access layer; ``id`` is the ledger's dispute id.
#: ``open_seq`` is the disputed record while the dispute is open and NULL once decided: its
#: unique constraint is what makes "one open dispute per record" hold under concurrency.
dispute_cases = Table(
    "dispute_cases",
    metadata,
    Column("id", LEDGER_ID, primary_key=True, autoincrement=False),
    Column("seq", LEDGER_ID, nullable=False),
    Column("person", ID, nullable=False),
    Column("org", ID, nullable=False),
    Column("reason", Text, nullable=False),
    Column("opened", Date, nullable=False),
    Column("decision", String(16)),
    Column("decided_on", Date),
    Column("correction_seq", LEDGER_ID),
    Column("open_seq", LEDGER_ID, unique=True),
    Index("dispute_cases_person", "person"),
    Index("dispute_cases_org", "org"),
)

dispute_events = Table(
    "dispute_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dispute_id", LEDGER_ID, nullable=False),
    Column("event", String(16), nullable=False),
    Column("actor", ID, nullable=False),
    Column("day", Date, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("decision", String(16)),
    Column("note", Text, nullable=False, default=""),
    Column("correction_seq", LEDGER_ID),
    Index("dispute_events_dispute", "dispute_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("status", Integer),
    Column("body", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)
