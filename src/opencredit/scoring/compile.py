"""A policy as tables: what the SQL engines (DuckDB, SQLite, Spark) join records against.

``factor_map`` has one row per (factor, kind, category) a factor scores; ``factor_table`` one
row per factor with its bounds, half-life and window; ``kind_table`` each kind's retention.
Every engine reads the same tables, so the policy language has one meaning everywhere.
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


def factor_table(policy: Policy) -> pa.Table:
    """(factor, position, fmin, fmax, half_life, window_days, at_zero) per factor.

    ``at_zero`` is the contribution of a factor with no records, clip(0, min, max): every
    person gets it, whether or not they have records.
    """
    fs = policy.factors
    return pa.table(
        {
            "factor": pa.array([f.id for f in fs], pa.string()),
            "position": pa.array(range(len(fs)), pa.int32()),
            "fmin": pa.array([f.min for f in fs], pa.float64()),
            "fmax": pa.array([f.max for f in fs], pa.float64()),
            "half_life": pa.array([f.half_life_days for f in fs], pa.float64()),
            "window_days": pa.array([f.window_days for f in fs], pa.int32()),
            "at_zero": pa.array([min(max(0.0, f.min), f.max) for f in fs], pa.float64()),
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


def band_table(policy: Policy) -> pa.Table:
    """(band, bmin, bmax) per band."""
    return pa.table(
        {
            "band": pa.array([b.name for b in policy.bands], pa.string()),
            "bmin": pa.array([b.min for b in policy.bands], pa.int64()),
            "bmax": pa.array([b.max for b in policy.bands], pa.int64()),
        }
    )
