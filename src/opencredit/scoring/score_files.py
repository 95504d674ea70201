"""A rebuild's scores as one Parquet file per run, and one policy's scores read back.

A run file holds a row per registered person (``person``: the int64 key, see
:mod:`opencredit.ledger.person_keys`) and, per policy key, three columns
``KEY:raw`` (float64), ``KEY:score`` (int64) and ``KEY:band`` (dictionary-encoded text).
The row store keeps, per policy, which file holds its latest scores (with the as-of date and
ledger sequence), so everything that reads stored scores reads them through
``Store.scores`` as before (docs/scoring.md, "Stored scores").
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from opencredit.ledger.person_keys import to_ids
from opencredit.ledger.store import SCORE_SCHEMA
from opencredit.policies.model import Policy


def band_codes(policy: Policy, score: np.ndarray) -> pa.DictionaryArray:
    """The band of each (rounded, in-range) score, dictionary-encoded."""
    bands = sorted(policy.bands, key=lambda b: b.min)
    mins = np.array([b.min for b in bands], dtype=np.int64)
    codes = np.searchsorted(mins, score, side="right") - 1
    names = pa.array([b.name for b in bands], pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), names)


def run_table(
    policies: list[Policy], persons: np.ndarray, raw: np.ndarray, score: np.ndarray
) -> pa.Table:
    """One run's scores (persons x policies) as a table of the run file's layout."""
    columns: dict[str, pa.Array] = {"person": pa.array(persons, pa.int64())}
    for p, policy in enumerate(policies):
        columns[f"{policy.key}:raw"] = pa.array(raw[:, p])
        columns[f"{policy.key}:score"] = pa.array(score[:, p])
        columns[f"{policy.key}:band"] = band_codes(policy, score[:, p])
    return pa.table(columns)


def write_run(directory: Path, as_of: dt.date, up_to: int, table: pa.Table) -> Path:
    """Write a run file under ``directory``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"scores-{as_of.isoformat()}-{up_to}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def read_policy_scores(path: str | Path, policy_key: str) -> pa.Table:
    """One policy's scores from a run file, as SCORE_SCHEMA ordered by person."""
    names = [f"{policy_key}:{c}" for c in ("raw", "score", "band")]
    table = pq.read_table(path, columns=["person", *names])
    return pa.table(
        [
            to_ids(table.column("person").to_numpy()),
            table.column(names[0]),
            table.column(names[1]),
            table.column(names[2]).cast(pa.string()),
        ],
        schema=SCORE_SCHEMA,
    )
