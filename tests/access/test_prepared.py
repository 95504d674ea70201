"""Prepared statements (the partner read's hot path) store and read values exactly as
SQLAlchemy Core does, on every backend: dates, aware datetimes, booleans, NULLs, literals."""

from __future__ import annotations

import datetime as dt

from access_helpers import PARTNER, PEOPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, select

from opencredit.access.tables import consents, inquiries

COLUMNS = ("person", "partner", "policy_key", "purpose", "granted", "at", "reason")
INSERT = (
    inquiries.insert()
    .values({c: bindparam(c, type_=inquiries.c[c].type) for c in COLUMNS})
    .returning(inquiries.c.id)
)
BY_PERSON = (
    select(consents)
    .where(consents.c.person == bindparam("person"), consents.c.until >= bindparam("today"))
    .order_by(consents.c.id.desc())
    .limit(1)  # a literal the statement carries itself
)

instants = st.datetimes(
    min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=instants, granted=st.booleans(), reason=st.text(max_size=40))
def test_an_inserted_row_reads_back_through_core_unchanged(access_store, at, granted, reason):
    values = dict(
        person=PEOPLE[0],
        partner=PARTNER,
        policy_key="lending",
        purpose="lending",
        granted=granted,
        at=at,
        reason=reason.replace("\x00", ""),
    )
    with access_store.raw_write() as cursor:
        prepared = access_store.prepare(INSERT)
        cursor.execute(prepared.sql, prepared.params(values))
        key = prepared.row(cursor.fetchone()).id
    with access_store.read() as conn:
        row = conn.execute(select(inquiries).where(inquiries.c.id == key)).one()
    assert {c: getattr(row, c) for c in COLUMNS} == values


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(granted=dates, until=dates, revoked=st.none() | dates, showcase=st.booleans())
def test_a_selected_row_is_the_row_core_reads(access_store, granted, until, revoked, showcase):
    with access_store.write() as conn:
        conn.execute(consents.delete())
        conn.execute(
            consents.insert(),
            [
                dict(
                    person=PEOPLE[1],
                    partner=PARTNER,
                    policy_id="lending",
                    purpose=p,
                    granted_on=granted,
                    until=until,
                    showcase=showcase,
                    revoked_on=revoked,
                )
                for p in ("a", "b")
            ],
        )
    params = {"person": PEOPLE[1], "today": dt.date(2026, 1, 1)}
    with access_store.read() as conn:
        expected = conn.execute(BY_PERSON, params).first()
    got = access_store.fetch_one(access_store.prepare(BY_PERSON), params)
    assert (got is None) == (expected is None)
    if got is not None:
        assert tuple(got) == tuple(expected) and got._fields == tuple(expected._fields)
        assert got.purpose == "b" and type(got.granted_on) is dt.date
    assert (
        access_store.fetch_one(access_store.prepare(BY_PERSON), {**params, "person": "x"}) is None
    )
