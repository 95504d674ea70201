"""Importing scores computed elsewhere: stored only when they are under the installed policy
document, of this ledger's head, complete, self-consistent and agree with the reference
function on a sample; otherwise one clear error and nothing stored."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from opencredit.cli.app import app
from opencredit.engines.spark import write_scores_spark
from opencredit.registry import make_resident_id
from opencredit.scoring.batch import score_population
from opencredit.scoring.imports import (
    ImportRefused,
    ScoresManifest,
    import_scores,
    scores_manifest,
)
from opencredit.workspace import Workspace

from .world import AS_OF, oracle

KEY = "lending@1"


def write_file(
    ws: Workspace, directory: Path, *, up_to: int | None = None, key: str = KEY
) -> tuple[Path, pa.Table, ScoresManifest]:
    """Correct scores of ``key`` (DuckDB engine) with their manifest in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    head = ws.store.max_seq() if up_to is None else up_to
    scores = score_population(
        ws.policy(key),
        ws.ledger(),
        ws.store.export_persons(),
        AS_OF,
        disputes=ws.disputes_table(),
        up_to=head,
    )
    manifest = scores_manifest(ws.store, key, head, AS_OF, scores.num_rows, "duckdb")
    save(directory, scores, manifest)
    return directory / "scores.parquet", scores, manifest


def save(directory: Path, scores: pa.Table, manifest: ScoresManifest) -> None:
    pq.write_table(scores, directory / "scores.parquet")
    (directory / "manifest.json").write_text(manifest.model_dump_json())


@pytest.fixture
def clean(world: Workspace) -> Workspace:
    """The world with no stored scores of KEY."""
    empty = pa.table({"person": [], "raw": [], "score": [], "band": []})
    world.store.write_scores(KEY, dt.date(2000, 1, 1), 0, empty)
    return world


def stored(ws: Workspace) -> tuple:
    scores, as_of, up_to = ws.store.scores(KEY)
    return scores.num_rows, as_of, up_to


def test_good_scores_are_stored(clean: Workspace, tmp_path: Path) -> None:
    path, scores, m = write_file(clean, tmp_path)
    report = import_scores(clean.store, path, KEY)
    assert (report.persons, report.head_seq, report.stale) == (150, m.head_seq, False)
    assert report.checked == 100
    got, as_of, up_to = clean.store.scores(KEY)
    assert got.equals(scores.sort_by("person")) and (as_of, up_to) == (AS_OF, m.head_seq)


def test_stale_scores_only_when_allowed(clean: Workspace, tmp_path: Path) -> None:
    head = clean.store.max_seq()
    path, _, _ = write_file(clean, tmp_path, up_to=head - 10)
    with pytest.raises(ImportRefused, match=r"ledger has moved on.*--allow-stale"):
        import_scores(clean.store, path, KEY)
    assert stored(clean) == (0, dt.date(2000, 1, 1), 0)
    report = import_scores(clean.store, path, KEY, allow_stale=True, sample=150)
    assert report.stale and report.ledger_head == head
    assert stored(clean) == (150, AS_OF, head - 10)  # stored as of the head they are from


def _rows(f: Callable[[list[dict]], None]) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        rows = table.to_pylist()
        f(rows)
        return pa.Table.from_pylist(rows, schema=table.schema)

    return change


def _set(i: int, **values: object) -> Callable[[list[dict]], None]:
    return lambda rows: rows[i].update(values)


STRANGER = make_resident_id("110101", dt.date(1970, 1, 1), 999)
BAD_FILES: dict[str, tuple[Callable[[pa.Table], pa.Table], str]] = {
    "unregistered person": (_rows(_set(3, person=STRANGER)), "not registered here"),
    "a person twice": (
        _rows(lambda rows: rows[5].update(person=rows[4]["person"])),
        "has 2 scores",
    ),
    "score not its raw rounded": (
        _rows(lambda rows: rows[7].update(score=rows[7]["score"] + 1)),
        r"row 8 .*not raw .* rounded",
    ),
    "wrong band": (_rows(_set(2, band="Exceptional")), r"row 3 .*band 'Exceptional'"),
    "raw outside the range": (_rows(_set(0, raw=900.0, score=900)), r"row 1 .*300-850"),
    "not a number": (_rows(_set(1, raw=float("nan"))), r"row 2 "),
    "an empty band": (_rows(_set(9, band=None)), "row 10: band is empty"),
    "no score column": (lambda t: t.drop_columns(["score"]), "no column score"),
    "score as text": (
        lambda t: t.set_column(2, "score", pc.cast(t.column("score"), pa.string())),
        "column score is string",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=str)
def test_bad_files_are_refused_whole(clean: Workspace, tmp_path: Path, case: str) -> None:
    change, message = BAD_FILES[case]
    path, scores, _ = write_file(clean, tmp_path)
    pq.write_table(change(scores), path)
    with pytest.raises(ImportRefused, match=message):
        import_scores(clean.store, path, KEY)
    assert stored(clean) == (0, dt.date(2000, 1, 1), 0)


def manifest_with(m: ScoresManifest, **changes: object) -> ScoresManifest:
    return m.model_copy(update=changes)


BAD_MANIFESTS: dict[str, tuple[dict, str]] = {
    "another policy": ({"policy": "rongcheng@1"}, "under rongcheng@1, not lending@1"),
    "another document": ({"policy_sha256": "0" * 64}, "installed document of lending@1 is not"),
    "a longer ledger": ({"head_seq": 10**9}, "another ledger"),
    "another ledger as long": ({"head_record_sha256": "a" * 64}, "another ledger: its record"),
    "fewer rows said": ({"persons": 149}, "150 rows, the manifest says 149"),
}


@pytest.mark.parametrize("case", BAD_MANIFESTS, ids=str)
def test_manifests_that_do_not_fit_are_refused(clean: Workspace, tmp_path: Path, case: str) -> None:
    changes, message = BAD_MANIFESTS[case]
    path, scores, m = write_file(clean, tmp_path)
    save(tmp_path, scores, manifest_with(m, **changes))
    with pytest.raises(ImportRefused, match=message):
        import_scores(clean.store, path, KEY)
    assert stored(clean) == (0, dt.date(2000, 1, 1), 0)


def test_unreadable_inputs_say_which_file(clean: Workspace, tmp_path: Path) -> None:
    path, scores, m = write_file(clean, tmp_path)
    with pytest.raises(ImportRefused, match="not installed here"):
        save(tmp_path, scores, manifest_with(m, policy="nope@1"))
        import_scores(clean.store, path, "nope@1")
    save(tmp_path, scores, m)
    with pytest.raises(ImportRefused, match=r"no manifest .*elsewhere\.json"):
        import_scores(clean.store, path, KEY, manifest=tmp_path / "elsewhere.json")
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "opencredit-scores"}))
    with pytest.raises(ImportRefused, match=r"manifest\.json: policy: Field required"):
        import_scores(clean.store, path, KEY)
    save(tmp_path, scores, m)
    path.write_text("person,raw\n")
    with pytest.raises(ImportRefused, match="not readable as Parquet"):
        import_scores(clean.store, path, KEY)
    (tmp_path / "scores.parquet").unlink()
    pq.write_table(scores.slice(0, 149), path)
    save(tmp_path, scores.slice(0, 149), manifest_with(m, persons=149))
    with pytest.raises(ImportRefused, match="1 registered persons have no score"):
        import_scores(clean.store, path, KEY)
    assert stored(clean) == (0, dt.date(2000, 1, 1), 0)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_wrong_score_never_passes_a_full_check(
    clean: Workspace, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Any person's raw score moved (the rounded score and band moved with it, so the row is
    self-consistent) is caught when every person is checked."""
    directory = tmp_path_factory.mktemp("wrong")
    path, scores, _ = write_file(clean, directory)
    policy = clean.policy(KEY)
    i = data.draw(st.integers(0, scores.num_rows - 1), label="row")
    row = scores.slice(i, 1).to_pylist()[0]
    raw = data.draw(
        st.floats(policy.low, policy.high).filter(lambda r: abs(r - row["raw"]) > 1e-3),
        label="raw",
    )
    score = round(raw) if abs(raw - int(raw)) != 0.5 else int(raw) + (1 if raw > 0 else -1)
    rows = scores.to_pylist()
    rows[i] = {**row, "raw": raw, "score": score, "band": policy.band_of(score).name}
    pq.write_table(pa.Table.from_pylist(rows, schema=scores.schema), path)
    with pytest.raises(ImportRefused, match=f"person {row['person']}: the file gives"):
        import_scores(clean.store, path, KEY, sample=scores.num_rows)
    assert stored(clean) == (0, dt.date(2000, 1, 1), 0)


def test_spark_scores_round_trip_through_the_cli(
    spark, clean: Workspace, export: Path, tmp_path: Path
) -> None:
    """A cluster job's output (write_scores_spark over the export) imported by the CLI."""
    m = write_scores_spark(export, KEY, AS_OF, tmp_path / "out", spark=spark)
    assert m.head_seq == clean.store.max_seq() and m.persons == 150
    args = ["--data", str(clean.data_dir), "--quiet", "import-scores"]
    result = CliRunner().invoke(app, [*args, str(tmp_path / "out" / "scores"), "-p", KEY])
    assert result.exit_code == 0, result.output
    assert "imported 150 scores under lending@1" in " ".join(result.output.split())
    got, as_of, up_to = clean.store.scores(KEY)
    want = oracle(clean, KEY)
    assert (as_of, up_to) == (AS_OF, m.head_seq)
    for row in got.to_pylist():
        assert abs(row["raw"] - want[row["person"]].raw) <= 1e-6 * abs(row["raw"])
