"""A policy as tables, for the incremental engine's term maker to join new records against.

``factor_map`` has one row per (factor, kind, category) a factor scores; ``kind_table`` each
kind's retention. (The batch engine compiles the policy to SQL instead: scoring.sql.)
"""

from __future__ import annotations

import pyarrow as pa

from opencredit.catalog import KINDS
from opencredit.policies.model import Policy


def factor_map(policy: Policy) -> pa.Table:
    """(factor, kind, category, per_record, per_unit): which records feed which factor."""
    rows = {}
    for f in policy.factors:
        for kind in f.kinds:
            for category in f.categories or [None]:
                rows[(f.id, kind, category)] = (f.per_record, f.per_unit)
    keys = list(rows)
    return pa.table(
        {
            "factor": pa.array([k[0] for k in keys], pa.string()),
            "kind": pa.array([k[1] for k in keys], pa.string()),
            "category": pa.array([k[2] for k in keys], pa.string()),
            "per_record": pa.array([rows[k][0] for k in keys], pa.float64()),
            "per_unit": pa.array([rows[k][1] for k in keys], pa.float64()),
        }
    )


def kind_table() -> pa.Table:
    """(kind, retention_days) for every kind in the catalog."""
    return pa.table(
        {
            "kind": pa.array([k.id for k in KINDS], pa.string()),
            "retention_days": pa.array([k.retention_days for k in KINDS], pa.int32()),
        }
    )
