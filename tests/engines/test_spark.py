"""The Spark engine against the oracle: the same scores as the plain-Python reference function
on a filed ledger with amendments, retractions and disputes, from its Parquet export, and
through ``opencredit rebuild --engine spark``.

One Spark session serves every test (``spark`` in conftest); each query here is one Spark job,
so there are few of them, on a ledger of 150 persons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from opencredit.cli.app import app
from opencredit.engines.spark import SparkUnavailable, score_population_spark, spark_scores
from opencredit.ledger.export import partition_of, partition_sql
from opencredit.ledger.store import SCORE_SCHEMA
from opencredit.workspace import Workspace
from scoring.tables import close, near_half

from .world import AS_OF, oracle


def assert_oracle_scores(ws: Workspace, key: str, got: pa.Table, as_of: dt.date, **kw) -> None:
    """``got`` holds every registered person once, with the reference function's scores."""
    assert got.schema.equals(SCORE_SCHEMA), got.schema
    want = oracle(ws, key, as_of, **kw)
    rows = got.to_pylist()
    assert [r["person"] for r in rows] == sorted(want), "every person once, in order"
    for row in rows:
        ref = want[row["person"]]
        assert close(row["raw"], ref.raw), (key, row, ref.raw)
        assert row["band"] == ws.policy(key).band_of(row["score"]).name
        if not near_half(ref.raw):
            assert (row["score"], row["band"]) == (ref.score, ref.band), (key, row, ref.raw)


@pytest.mark.parametrize("key", ["lending@1", "rongcheng@1", "sesame-2015@1", "window-test@1"])
def test_spark_gives_the_oracle_scores(spark, world: Workspace, export: Path, key: str) -> None:
    got = score_population_spark(world.policy(key), export, AS_OF, spark=spark)
    assert_oracle_scores(world, key, got, AS_OF)


def test_the_world_exercises_corrections_and_disputes(world: Workspace) -> None:
    """The oracle scores above would pass without these rules if no score depended on them."""
    actions = {r["action"] for b in world.store.export_records() for r in b.to_pylist()}
    assert actions == {"file", "amend", "retract"}
    with_disputes = oracle(world, "lending@1", AS_OF)
    without = oracle(world, "lending@1", AS_OF, disputes=False)
    assert any(with_disputes[p].raw != without[p].raw for p in without)


def test_spark_respects_the_ledger_prefix_and_the_date(
    spark, world: Workspace, export: Path
) -> None:
    """Before the corrections were filed, and at a later date (the resolved dispute no longer
    matters, the open one within its deadline has become overdue)."""
    records = [r for b in world.store.export_records() for r in b.to_pylist()]
    first_fix = min(r["seq"] for r in records if r["action"] != "file")
    later = AS_OF + dt.timedelta(days=25)
    got = score_population_spark(
        world.policy("lending@1"), export, later, spark=spark, up_to=first_fix - 1
    )
    assert_oracle_scores(world, "lending@1", got, later, up_to=first_fix - 1)


def test_spark_reads_any_parquet_in_record_schema(spark, world: Workspace, tmp_path: Path) -> None:
    """Not only an export: one Parquet file of the ledger and one of the registry."""
    import pyarrow.parquet as pq

    pq.write_table(world.ledger(), tmp_path / "ledger.parquet")
    pq.write_table(world.store.export_persons(), tmp_path / "persons.parquet")
    policy = world.policy("rongcheng@1")
    frame = spark_scores(
        spark, policy, tmp_path / "ledger.parquet", tmp_path / "persons.parquet", AS_OF
    )
    got = frame.toArrow().select(SCORE_SCHEMA.names).cast(SCORE_SCHEMA).sort_by("person")
    assert_oracle_scores(world, "rongcheng@1", got, AS_OF, disputes=False)


def test_partition_is_the_same_in_spark(spark) -> None:
    ids = ["110101199003074514", "x", "é中文", "'; --", "0" * 18]
    rows = ", ".join("('" + i.replace("'", "''") + "')" for i in ids)
    got = spark.sql(f"SELECT {partition_sql('p', 97, 'spark')} AS k FROM VALUES {rows} AS t(p)")
    assert [r.k for r in got.collect()] == [partition_of(i, 97) for i in ids]


def test_cli_rebuild_with_spark(spark, world: Workspace) -> None:
    args = ["--data", str(world.data_dir), "--quiet", "rebuild", "--engine", "spark"]
    result = CliRunner().invoke(
        app, [*args, "--policy", "window-test", "--as-of", AS_OF.isoformat(), "--state"]
    )
    assert result.exit_code == 0, result.output
    scores, as_of, up_to = world.store.scores("window-test@1")
    assert (as_of, up_to) == (AS_OF, world.store.max_seq())
    assert_oracle_scores(world, "window-test@1", scores, AS_OF)
    want = oracle(world, "window-test@1", AS_OF)  # --state: the factor state rebuilt too
    for person in sorted(want)[:20]:
        raw, _ = world.engine().score(world.policy("window-test@1"), person, AS_OF)
        assert close(raw, want[person].raw)
    assert not list(world.data_dir.glob("spark-*")), "the temporary export is removed"


def test_without_pyspark_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import opencredit.engines.spark as engine

    monkeypatch.setattr(engine, "_session", None)  # restored afterwards: the shared session
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as if not installed
    with pytest.raises(SparkUnavailable, match=r"pip install 'opencredit\[spark\]'"):
        engine.spark_session()
