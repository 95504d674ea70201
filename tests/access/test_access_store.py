"""The access store: tables created once, coexisting with the ledger in one SQLite file."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from access_helpers import BANK, NOW, PEOPLE, PG_URL, record_rows
from sqlalchemy import create_engine, inspect, select, text

from opencredit.access import AccessStore, access_url
from opencredit.access.store import normalise_url
from opencredit.access.tables import inquiries, metadata


def an_inquiry(at: dt.datetime):
    """An insert of one refused read by BANK at ``at``."""
    return inquiries.insert().values(
        person=PEOPLE[0], partner=BANK, policy_key="x@1", purpose="lending", granted=False, at=at
    )


def test_creates_every_table(access_store):
    names = set(inspect(access_store.engine).get_table_names(schema=access_store.schema))
    assert set(metadata.tables) <= names


def test_reopening_keeps_the_data(tmp_path):
    url = access_url(tmp_path)
    with AccessStore(url) as store, store.write() as conn:
        conn.execute(an_inquiry(NOW))
    with AccessStore(url) as store, store.read() as conn:
        row = conn.execute(select(inquiries)).one()
    assert row.at == NOW and row.at.tzinfo is dt.UTC


def test_naive_datetimes_are_refused(access_store):
    with pytest.raises(Exception, match="naive datetime"), access_store.write() as conn:
        conn.execute(an_inquiry(dt.datetime(2026, 1, 1)))


def test_sqlite_has_no_schema(tmp_path):
    with pytest.raises(ValueError, match="no schema"):
        AccessStore(access_url(tmp_path), "public")


def test_postgres_urls_use_psycopg3():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x") == "sqlite:///x"


def test_wal_and_busy_timeout_are_set(tmp_path):
    with AccessStore(access_url(tmp_path)) as store, store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_shares_the_ledger_file_and_waits_for_its_writer(ledger, tmp_path):
    """A write waits for the ledger's open transaction instead of failing."""
    store = AccessStore(access_url(tmp_path))
    ledger.db.execute("BEGIN IMMEDIATE")
    done = threading.Event()

    def write() -> None:
        with store.write() as conn:
            conn.execute(
                inquiries.insert().values(
                    person=PEOPLE[0],
                    partner=BANK,
                    policy_key="x@1",
                    purpose="lending",
                    granted=False,
                    at=NOW,
                )
            )
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not done.wait(0.3)  # blocked behind the ledger's writer
    ledger.db.execute("COMMIT")
    thread.join(10)
    assert done.is_set()
    ledger.append(BANK, "more", record_rows({"ref": "z"}))  # and the ledger still writes
    assert ledger.max_seq() == 4
    store.close()


def test_postgres_tables_never_analysed_are_analysed_on_open():
    """Without planner statistics PostgreSQL picked the partner's consent index for the
    partner read (a scan of all the partner's consents); a store analyses such tables."""
    schema = f"oc_analyze_{uuid.uuid4().hex[:10]}"
    engine = create_engine(normalise_url(PG_URL))
    query = text(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = :s AND "
        "(last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
    )
    try:
        with AccessStore(PG_URL, schema) as store:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                analysed = {r.relname for r in conn.execute(query, {"s": schema})}
            assert set(metadata.tables) <= analysed
            assert store.analyze(only_never_analyzed=True) == []
            assert set(store.analyze()) == set(metadata.tables)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_a_schema_in_the_url_holds_the_tables_as_for_the_ledger():
    """``?schema=NAME`` in a PostgreSQL URL puts the access tables in NAME, as it does the
    ledger's (libpq itself refuses the parameter), so one URL serves both stores."""
    schema = f"oc_url_schema_{uuid.uuid4().hex[:10]}"
    engine = create_engine(normalise_url(PG_URL))
    try:
        with AccessStore(f"{PG_URL}?schema={schema}") as store:
            assert store.schema == schema and "schema" not in str(store.url)
            with store.write() as conn:
                conn.execute(an_inquiry(NOW))
        names = set(inspect(engine).get_table_names(schema=schema))
        assert set(metadata.tables) <= names
        with engine.connect() as conn:
            count = conn.execute(text(f'SELECT count(*) FROM "{schema}".inquiries')).scalar()
        assert count == 1
        with AccessStore(f"{PG_URL}?schema={schema}", schema) as same:  # the same twice: fine
            assert same.schema == schema
        with pytest.raises(ValueError, match="two schemas"):
            AccessStore(f"{PG_URL}?schema={schema}", "another")
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def empty_database():
    """The URL of a new PostgreSQL database, dropped after the test."""
    name = f"oc_access_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_without_a_schema_the_tables_are_the_ledgers_and_earlier_ones_move_there(
    empty_database,
):
    """A URL without ``?schema`` keeps the access tables where the ledger is (``opencredit``);
    those an earlier version made in ``public`` move there with their rows, and another
    application's tables are left where they are."""
    engine = create_engine(normalise_url(empty_database))
    try:
        # where earlier versions put them
        with AccessStore(empty_database, "public") as old, old.write() as conn:
            conn.execute(an_inquiry(NOW))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE public.other_app (id int)"))
        with AccessStore(empty_database) as store:
            assert store.schema == "opencredit"
            with store.read() as conn:
                assert conn.execute(select(inquiries.c.purpose)).scalars().all() == ["lending"]
        assert set(metadata.tables) <= set(inspect(engine).get_table_names(schema="opencredit"))
        assert inspect(engine).get_table_names(schema="public") == ["other_app"]
        with AccessStore(empty_database) as again, again.read() as conn:  # nothing more to move
            assert conn.execute(select(inquiries.c.id)).scalars().all() == [1]
    finally:
        engine.dispose()


def test_another_applications_table_of_a_common_name_is_not_moved(empty_database):
    engine = create_engine(normalise_url(empty_database))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE public.consents (id int)"))
        with AccessStore(empty_database) as store:
            assert store.schema == "opencredit"
        assert inspect(engine).get_table_names(schema="public") == ["consents"]
        assert set(metadata.tables) <= set(inspect(engine).get_table_names(schema="opencredit"))
    finally:
        engine.dispose()
