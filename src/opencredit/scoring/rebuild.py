"""Every score of every chosen policy from the columnar copy, by one of two engines.

``kernel`` (the default) is the numba pass of :mod:`opencredit.scoring.kernel`; ``duckdb`` is
one DuckDB query over the same segments (:func:`opencredit.scoring.sql.copy_scores_sql`). Both
compute every factor of every policy in one read of the copy; docs/benchmarks.md compares
them. ``state`` re-scores from the per-person state of :mod:`opencredit.scoring.rescore`,
building it (one read of the copy) only when it is missing or no longer answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from opencredit.errors import OpenCreditError
from opencredit.ledger.columnar import ColumnarCopy, Manifest
from opencredit.ledger.records import Dispute
from opencredit.policies.model import Policy
from opencredit.scoring.rescore import ScoreState
from opencredit.scoring.rules import Rules, compile_rules

ENGINES = ("kernel", "duckdb", "state")


@dataclass(frozen=True)
class PopulationScores:
    """Every registered person's scores under some policies, from the ledger up to ``up_to``."""

    rules: Rules
    as_of: dt.date
    up_to: int
    persons: np.ndarray  # int64 keys, sorted
    raw: np.ndarray  # persons x policies
    score: np.ndarray  # persons x policies


def score_population(
    copy: ColumnarCopy,
    manifest: Manifest,
    policies: Sequence[Policy],
    as_of: dt.date,
    disputes: Sequence[Dispute] = (),
    engine: str = "kernel",
    state_dir: Path | None = None,
) -> PopulationScores:
    """Scores from the copy as ``manifest`` describes it (call inside ``copy.reading()``);
    the ``state`` engine keeps its state in ``state_dir``."""
    rules = compile_rules(policies, manifest.kinds, manifest.categories)
    if engine == "state":
        if state_dir is None:
            raise OpenCreditError("the state engine needs a directory for its state")
        state = current_state(copy, manifest, policies, as_of, disputes, state_dir)
        persons, raw, score = state.rescore(policies, as_of)
    elif engine == "kernel":
        from opencredit.scoring.kernel import score_copy

        persons, raw, score = score_copy(copy, manifest, rules, as_of, disputes)
    elif engine == "duckdb":
        persons, raw = _duckdb_scores(copy, manifest, rules, as_of, disputes)
        score = round_half_away(raw)
    else:
        raise OpenCreditError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    return PopulationScores(rules, as_of, manifest.last_seq, persons, raw, score)


def current_state(
    copy: ColumnarCopy,
    manifest: Manifest,
    policies: Sequence[Policy],
    as_of: dt.date,
    disputes: Sequence[Dispute],
    directory: Path,
) -> ScoreState:
    """The state saved in ``directory`` if it can score ``policies`` at ``as_of`` for this
    ledger and these disputes; else one built at ``as_of`` from the copy, and saved."""
    state = ScoreState.load(directory)
    if (
        state is None
        or not state.current(manifest.last_seq, disputes)
        or state.missing(policies)
        or as_of < state.reference
    ):
        state = ScoreState.build(copy, manifest, policies, as_of, disputes)
        state.save(directory)
    return state


def round_half_away(raw: np.ndarray) -> np.ndarray:
    """Round half away from zero, element-wise (docs/scoring.md)."""
    whole = np.floor(np.abs(raw))
    return (np.sign(raw) * (whole + (np.abs(raw) - whole >= 0.5))).astype(np.int64)


def _duckdb_scores(
    copy: ColumnarCopy,
    manifest: Manifest,
    rules: Rules,
    as_of: dt.date,
    disputes: Sequence[Dispute],
) -> tuple[np.ndarray, np.ndarray]:
    import duckdb
    import pyarrow as pa

    from opencredit.clock import to_days
    from opencredit.scoring.sql import copy_scores_sql

    con = duckdb.connect()
    try:
        if disputes:
            con.register(
                "disputes",
                pa.table(
                    {
                        "seq": [d.seq for d in disputes],
                        "opened": [to_days(d.opened) for d in disputes],
                        "resolved": [
                            None if d.resolved is None else to_days(d.resolved) for d in disputes
                        ],
                    },
                    schema=pa.schema(
                        [("seq", pa.int64()), ("opened", pa.int32()), ("resolved", pa.int32())]
                    ),
                ),
            )
        segments = [str(copy.dir / s.file) for s in manifest.segments]
        if not segments:
            persons = copy.persons_keys()
            raw = np.tile(
                [_at_zero(rules, p) for p in range(len(rules.policies))], (len(persons), 1)
            )
            return persons, raw.reshape(len(persons), len(rules.policies))
        sql = copy_scores_sql(
            rules,
            segments,
            str(copy.dir / "persons.parquet"),
            as_of,
            manifest.last_seq,
            bool(disputes),
        )
        table = con.sql(sql).to_arrow_table()
    finally:
        con.close()
    persons = table.column("person").to_numpy()
    raw = np.column_stack([table.column(f"raw_{p}").to_numpy() for p in range(len(rules.policies))])
    return persons, raw


def _at_zero(rules: Rules, p: int) -> float:
    cols = range(rules.pstart[p], rules.pstart[p + 1])
    total = rules.base[p] + sum(min(max(0.0, rules.col_min[c]), rules.col_max[c]) for c in cols)
    return float(min(max(total, rules.low[p]), rules.high[p]))
