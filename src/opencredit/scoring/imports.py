"""Scores computed elsewhere (a Spark cluster, another site), checked before they are stored.

A scores file is Parquet of (person, raw, score, band) with a manifest (:class:`ScoresManifest`)
saying under which policy document, from which ledger prefix and at which date they were
computed. :func:`import_scores` stores them only if every check passes.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCORES_FORMAT = "opencredit-scores"
SCORES_MANIFEST_FILE = "manifest.json"


class ScoresManifest(BaseModel):
    """What a scores file claims: policy version and document, ledger head, as-of date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["opencredit-scores"] = SCORES_FORMAT
    format_version: Literal[1] = 1
    policy: str = Field(description="id@version")
    policy_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    head_seq: int = Field(ge=0, description="computed from the ledger up to this seq")
    as_of: dt.date
    persons: int = Field(ge=0)
    engine: str
    created: dt.datetime
