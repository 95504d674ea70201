"""The policy query in each dialect, as snapshots: a change to the generated SQL shows in review.

Regenerate after an intended change with ``OPENCREDIT_UPDATE_SNAPSHOTS=1 pytest
tests/engines/test_sql_dialects.py`` and read the diff."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from opencredit.policies.model import load_policy
from opencredit.scoring.sql import DUCKDB, SPARK, Dialect, scores_sql

from .conftest import TEST_POLICY

SNAPSHOTS = Path(__file__).with_name("snapshots")


@pytest.mark.parametrize("dialect", [DUCKDB, SPARK], ids=lambda d: d.name)
def test_generated_sql_matches_its_snapshot(dialect: Dialect) -> None:
    policy = load_policy(TEST_POLICY)
    sql = scores_sql(policy, "records", "persons", dt.date(2026, 6, 1), 1234, True, dialect)
    path = SNAPSHOTS / f"{policy.id}.{dialect.name}.sql"
    if os.environ.get("OPENCREDIT_UPDATE_SNAPSHOTS"):
        path.write_text(sql, encoding="utf-8")
    assert sql == path.read_text(encoding="utf-8"), f"{path} differs; see the module docstring"


def test_dialects_differ_only_where_they_must() -> None:
    policy = load_policy(TEST_POLICY)
    duck, spark = (
        scores_sql(policy, "records", "persons", dt.date(2026, 6, 1), None, True, d)
        for d in (DUCKDB, SPARK)
    )
    assert "date_diff('day', occurred, DATE '2026-06-01')" in duck
    assert "datediff(DATE '2026-06-01', occurred)" in spark
    assert '"f_late-recent"' in duck and "`f_late-recent`" in spark
    assert "seq NOT IN (SELECT seq FROM corrected)" in duck
    assert "NOT EXISTS (SELECT 1 FROM (SELECT seq FROM corrected) AS x" in spark
    assert duck.rstrip().endswith("ORDER BY person") and "ORDER BY" not in spark
    assert "date_diff" not in spark and "NOT IN" not in spark and '"' not in spark
