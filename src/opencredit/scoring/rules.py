"""Policies as flat arrays, for the compiled engines (:mod:`opencredit.scoring.kernel`,
:mod:`opencredit.scoring.rescore`).

Every factor of every policy is one *column*; every (kind, category) a factor scores is one
*rule*, grouped by the kind's code in the columnar copy's dictionary, so a record finds the
rules it feeds with two array reads. Bounds, bases, ranges and bands are arrays too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from opencredit.catalog import KINDS_BY_ID
from opencredit.policies.model import Policy


@dataclass(frozen=True)
class Rules:
    """Policies compiled against the copy's dictionaries (kinds and categories by code)."""

    policies: tuple[Policy, ...]
    #: per column: (policy index, factor id)
    columns: tuple[tuple[int, str], ...]
    #: per kind code: its rules are ``kstart[k]:kstart[k + 1]``
    kstart: np.ndarray
    rule_col: np.ndarray
    rule_cat: np.ndarray  # category code, -1: any
    rule_win: np.ndarray  # window in days, -1: none
    rule_per_record: np.ndarray
    rule_per_unit: np.ndarray
    rule_half: np.ndarray  # half-life in days, 0: does not fade
    retention: np.ndarray  # per kind code, -1: kept forever
    col_min: np.ndarray
    col_max: np.ndarray
    pstart: np.ndarray  # policy p's columns are pstart[p]:pstart[p + 1]
    base: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def n_columns(self) -> int:
        """How many (policy, factor) columns there are."""
        return len(self.columns)


def compile_rules(
    policies: Sequence[Policy], kinds: Sequence[str], categories: Sequence[str]
) -> Rules:
    """``policies`` as :class:`Rules` over the kind and category codes ``kinds``, ``categories``
    (the columnar copy's dictionaries)."""
    kind_code = {k: i for i, k in enumerate(kinds)}
    cat_code = {c: i for i, c in enumerate(categories)}
    columns, per_kind = [], [[] for _ in kinds]
    col_min, col_max, pstart = [], [], [0]
    for p, policy in enumerate(policies):
        for factor in policy.factors:
            col = len(columns)
            columns.append((p, factor.id))
            col_min.append(factor.min)
            col_max.append(factor.max)
            for kind in dict.fromkeys(factor.kinds):
                if kind not in kind_code:
                    continue  # never filed: nothing to score
                for category in dict.fromkeys(factor.categories) or [None]:
                    if category is not None and category not in cat_code:
                        continue
                    per_kind[kind_code[kind]].append(
                        (
                            col,
                            -1 if category is None else cat_code[category],
                            -1 if factor.window_days is None else factor.window_days,
                            factor.per_record,
                            factor.per_unit,
                            factor.half_life_days or 0.0,
                        )
                    )
        pstart.append(len(columns))
    rules = [r for rs in per_kind for r in rs]
    kstart = np.cumsum([0] + [len(rs) for rs in per_kind]).astype(np.int64)
    retention = [KINDS_BY_ID[k].retention_days if k in KINDS_BY_ID else None for k in kinds]

    def field(i: int, dtype: type) -> np.ndarray:
        return np.array([r[i] for r in rules], dtype=dtype)

    return Rules(
        policies=tuple(policies),
        columns=tuple(columns),
        kstart=kstart,
        rule_col=field(0, np.int64),
        rule_cat=field(1, np.int64),
        rule_win=field(2, np.int64),
        rule_per_record=field(3, np.float64),
        rule_per_unit=field(4, np.float64),
        rule_half=field(5, np.float64),
        retention=np.array([-1 if r is None else r for r in retention], dtype=np.int64),
        col_min=np.array(col_min, dtype=np.float64),
        col_max=np.array(col_max, dtype=np.float64),
        pstart=np.array(pstart, dtype=np.int64),
        base=np.array([float(p.base) for p in policies], dtype=np.float64),
        low=np.array([float(p.low) for p in policies], dtype=np.float64),
        high=np.array([float(p.high) for p in policies], dtype=np.float64),
    )
