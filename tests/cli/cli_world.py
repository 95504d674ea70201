"""The command line run in-process: what its tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from opencredit.cli.app import app
from opencredit.registry import make_org_code

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
#: A small nation: the demo runs in about a second.
DEMO_PERSONS = 300
#: A data provider no demo registers.
NEW_PROVIDER = make_org_code("110000", 777)


@dataclass(frozen=True)
class Demo:
    """A data directory made by ``opencredit demo`` and facts about it."""

    data: Path
    person: str  # the person the demo explained (has records in many domains)
    other_person: str  # another registered person
    bank: str  # a data provider licensed for finance
    output: str  # what the demo printed


def invoke(*args: object, input: str | None = None):
    """Run ``opencredit ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def scores_from_elsewhere(data: Path, out: Path, policy: str = "lending") -> Path:
    """What a cluster job leaves for ``opencredit import-scores``: the scores of ``policy``
    (computed here by the DuckDB batch engine) as ``out/`` Parquet with ``manifest.json``
    beside it. Returns ``out``."""
    import pyarrow.parquet as pq

    from opencredit.clock import today
    from opencredit.scoring.batch import score_population
    from opencredit.scoring.imports import scores_manifest
    from opencredit.workspace import Workspace

    with Workspace(data) as ws:
        key, head = ws.policy(policy).key, ws.store.max_seq()
        scores = score_population(
            ws.policy(key),
            ws.ledger(head),
            ws.store.export_persons(),
            today(),
            disputes=ws.disputes_table(),
            up_to=head,
        )
        manifest = scores_manifest(ws.store, key, head, today(), scores.num_rows, "duckdb")
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(scores, out / "scores.parquet")
    (out.parent / "manifest.json").write_text(manifest.model_dump_json())
    return out
