"""The world the HTTP API tests run in (named uniquely: conftest files share a module name).

The world: the three published policies; persons A and B, a third person C, and a crowd for
the regulator's aggregates; data providers F (finance only) and T (traffic only); scoring
providers S (owner of sesame-2015) and S2 (owner of lending); partners P and Q; a regulator
and an admin; one API key each, plus a revoked key of A's. Records are filed through the
library before the app starts, and a rebuild stores scores for the regulator. Today is
pinned to :data:`TODAY`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from fastapi.testclient import TestClient

from opencredit.access import AccessStore, access_url, create_key, revoke_key
from opencredit.api import create_app
from opencredit.api.context import Context
from opencredit.api.filing import rows_from_records
from opencredit.api.schemas import RecordIn
from opencredit.api.settings import Settings
from opencredit.ledger.store import PERSON_SCHEMA
from opencredit.policies.model import published_policies
from opencredit.registry import make_org_code, make_resident_id
from opencredit.workspace import Workspace

TODAY = dt.date(2026, 3, 1)
#: Each published policy's owner: the scoring provider that answers for it.
OWNERS = {p.id: p.owner for p in published_policies()}

PERSON_A = make_resident_id("110101", dt.date(1990, 5, 17), 11)
PERSON_B = make_resident_id("110101", dt.date(1985, 2, 3), 22)
#: Registered, with no key and no records: a third party to point requests at.
PERSON_C = make_resident_id("440300", dt.date(1979, 8, 30), 33)
#: Valid, but never registered.
STRANGER = make_resident_id("310104", dt.date(2001, 1, 1), 44)
#: The crowd for the regulator: in province 11, 12 with no records (lending: Fair) and 12 with
#: three repayments each (Good); in provinces 44 and 31, three more each with no records (Fair).
#: So the lending distribution has small cells in two provinces and one band left to show.
CROWD_IDLE = [
    make_resident_id("110102", dt.date(1970, 1, 1) + dt.timedelta(days=97 * n), n)
    for n in range(1, 13)
]
CROWD_GOOD = [
    make_resident_id("110102", dt.date(1971, 1, 1) + dt.timedelta(days=89 * n), n)
    for n in range(13, 25)
]
CROWD_SOUTH = [
    make_resident_id("440301", dt.date(1975, 1, 1) + dt.timedelta(days=91 * n), n)
    for n in range(1, 4)
]
CROWD_EAST = [
    make_resident_id("310101", dt.date(1980, 1, 1) + dt.timedelta(days=83 * n), n)
    for n in range(1, 4)
]

ORG_F = make_org_code("110000", 101)  # a bank: finance only
ORG_T = make_org_code("110000", 102)  # a traffic police bureau: traffic only
ORG_S = OWNERS["sesame-2015"]
ORG_S2 = OWNERS["lending"]  # another scoring provider, so S has reviews it may not answer
ORG_P = make_org_code("310000", 201)  # a lender
ORG_Q = make_org_code("310000", 202)  # a dating site

#: Key name -> (role, subject). "revoked" is A's second key, revoked before the app starts.
KEYS: dict[str, tuple[str, str | None]] = {
    "A": ("person", PERSON_A),
    "B": ("person", PERSON_B),
    "F": ("data_provider", ORG_F),
    "T": ("data_provider", ORG_T),
    "S": ("scoring_provider", ORG_S),
    "S2": ("scoring_provider", ORG_S2),
    "P": ("partner", ORG_P),
    "Q": ("partner", ORG_Q),
    "R": ("regulator", None),
    "admin": ("admin", None),
    "revoked": ("person", PERSON_A),
}

#: Records filed before the app starts: name -> (org, fields). Names become ``world.seq``.
SEED_RECORDS: dict[str, tuple[str, dict]] = {
    "A_repaid": (ORG_F, dict(person=PERSON_A, kind="loan_repaid", occurred="2025-06-01")),
    "A_repaid2": (ORG_F, dict(person=PERSON_A, kind="loan_repaid", occurred="2025-09-01")),
    "A_missed": (
        ORG_F,
        dict(person=PERSON_A, kind="payment_missed", occurred="2025-11-10", value=12),
    ),
    "A_speeding": (ORG_T, dict(person=PERSON_A, kind="speeding", occurred="2025-12-01", value=20)),
    "B_missed": (
        ORG_F,
        dict(person=PERSON_B, kind="payment_missed", occurred="2025-10-01", value=40),
    ),
    "B_red_light": (ORG_T, dict(person=PERSON_B, kind="red_light", occurred="2026-01-15")),
}

_unique = itertools.count(1)


def unique(prefix: str = "t") -> str:
    """A ref (or key) no other test uses."""
    return f"{prefix}-{next(_unique)}"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """A data directory, the running app's client, and a key per role."""

    data: Path
    client: TestClient
    tokens: dict[str, str]
    key_ids: dict[str, str]
    seq: dict[str, int] = field(default_factory=dict)

    def h(self, name: str) -> dict[str, str]:
        """Headers authenticating as key ``name`` (see :data:`KEYS`)."""
        return bearer(self.tokens[name])

    @property
    def ctx(self) -> Context:
        """The running app's context (its workspace and access store)."""
        return self.client.app.state.context  # type: ignore[attr-defined]

    @property
    def ws(self) -> Workspace:
        """The running app's workspace."""
        return self.ctx.workspace

    def count(self) -> int:
        """How many ledger entries there are."""
        return self.ws.store.count_records()

    def file(self, org: str, **fields) -> int:
        """File one record through the library (not the API); returns its seq."""
        fields.setdefault("ref", unique("lib"))
        record = RecordIn(**fields)
        report = self.ws.ingest_rows(rows_from_records([record], "test"), org)
        assert report.receipt is not None and report.receipt.last_seq, report.errors
        return report.receipt.last_seq


def build_world(data: Path) -> dict:
    """Make the world's data directory; returns tokens, key ids and seeded seqs."""
    with Workspace.init(data) as ws:
        people = [PERSON_A, PERSON_B, PERSON_C, *CROWD_IDLE, *CROWD_GOOD, *CROWD_SOUTH, *CROWD_EAST]
        ws.store.add_persons(
            pa.table(
                {
                    "id": people,
                    "region": [p[:6] for p in people],
                    "birth_date": [
                        dt.date(int(p[6:10]), int(p[10:12]), int(p[12:14])) for p in people
                    ],
                    "sex": ["M" if int(p[16]) % 2 else "F" for p in people],
                },
                schema=PERSON_SCHEMA,
            )
        )
        ws.register_provider(ORG_F, "Example Bank", ["finance"])
        ws.register_provider(ORG_T, "Example Traffic Police", ["traffic"])
        crowd = [
            (
                ORG_F,
                f"crowd-{i}-{n}",
                dict(person=p, kind="loan_repaid", occurred=f"2025-{n + 10}-01"),
            )
            for i, p in enumerate(CROWD_GOOD)
            for n in range(3)
        ]
        seeds = [(org, ref, fields) for ref, (org, fields) in SEED_RECORDS.items()] + crowd
        seq = {}
        for org in (ORG_F, ORG_T):  # one batch per provider: each filing costs a DuckDB pass
            mine = [RecordIn(ref=ref, **fields) for o, ref, fields in seeds if o == org]
            report = ws.ingest_rows(rows_from_records(mine, "seed"), org)
            assert report.receipt is not None, report.errors
            found = ws.store.existing_refs(org, [r.ref for r in mine])
            seq |= {ref: found[ref].seq for ref in SEED_RECORDS if ref in found}
        ws.rebuild(TODAY)
        tokens, key_ids = {}, {}
        with AccessStore(access_url(data)) as store:
            for name, (role, subject) in KEYS.items():
                caller, token = create_key(store, role, subject, f"test {name}", ledger=ws.store)
                tokens[name], key_ids[name] = token, caller.key_id
            revoke_key(store, key_ids["revoked"])
    return dict(tokens=tokens, key_ids=key_ids, seq=seq)


@contextmanager
def open_world(template: Template, data: Path, **settings) -> Iterator[World]:
    """A copy of the template world in ``data``, with the app running on it (lifespan)."""
    shutil.copytree(template.data, data)
    app = create_app(Settings(data=data, **settings))
    with TestClient(app) as client:
        yield World(data, client, dict(template.tokens), dict(template.key_ids), dict(template.seq))


@dataclass(frozen=True)
class Template:
    """A world's data directory, made once and copied for each world (a build costs seconds:
    every filing runs DuckDB once per policy)."""

    data: Path
    tokens: dict[str, str]
    key_ids: dict[str, str]
    seq: dict[str, int]
