"""Constants and helpers shared by the access tests (named uniquely: no other conftest)."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa

from opencredit.errors import UnknownName
from opencredit.policies.model import Policy
from opencredit.registry import make_org_code, make_resident_id

PG_URL = os.environ.get("OPENCREDIT_TEST_PG_URL")
TODAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
PEOPLE = [
    make_resident_id("110101", dt.date(1990, 1, 1) + dt.timedelta(days=n), n) for n in range(1, 6)
]
BANK = make_org_code("110000", 1)
SHOP = make_org_code("440300", 2)
PARTNER = make_org_code("310000", 3)
OTHER_PARTNER = make_org_code("310000", 4)
PROVIDER = make_org_code("330100", 5)


def record_rows(*rows: dict) -> pa.Table:
    """Ledger rows (RECORD_SCHEMA less seq and org) from dicts with defaults."""
    base = dict(
        person=PEOPLE[0],
        kind="payment_missed",
        occurred=dt.date(2026, 1, 5),
        value=None,
        category=None,
        ref="r",
        action="file",
        target=None,
    )
    full = [base | r for r in rows]
    return pa.table(
        {
            "person": pa.array([r["person"] for r in full], pa.string()),
            "kind": pa.array([r["kind"] for r in full], pa.string()),
            "occurred": pa.array([r["occurred"] for r in full], pa.date32()),
            "value": pa.array([r["value"] for r in full], pa.float64()),
            "category": pa.array([r["category"] for r in full], pa.string()),
            "ref": pa.array([r["ref"] for r in full], pa.string()),
            "action": pa.array([r["action"] for r in full], pa.string()),
            "target": pa.array([r["target"] for r in full], pa.int64()),
        }
    )


class FakeScorer:
    """The :class:`~opencredit.access.lookup.Scorer` protocol over fixed scores."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = {p.key: p for p in policies}
        self.scores: dict[tuple[str, str], int] = {}
        self.calls = 0

    def policy(self, name: str) -> Policy:
        if name in self.policies:
            return self.policies[name]
        versions = [p for p in self.policies.values() if p.id == name]
        if not versions:
            raise UnknownName(f"no installed policy {name!r}")
        return max(versions, key=lambda p: p.version)

    def score(self, person: str, policy: str, as_of: dt.date | None = None) -> tuple[float, int]:
        self.calls += 1
        key = (person, self.policy(policy).id)
        if key not in self.scores:
            raise UnknownName(f"no person {person} in the registry")
        return float(self.scores[key]), self.scores[key]
