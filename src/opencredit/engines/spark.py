"""The Spark engine: a policy compiled to Spark SQL over a Parquet export of the ledger.

The query is the batch engine's (:mod:`opencredit.scoring.sql`) in the :data:`SPARK` dialect,
so it is the reference semantics of docs/scoring.md, as the DuckDB engine's is. It reads an
export written by ``opencredit export`` (:mod:`opencredit.ledger.export`), or any Parquet in
RECORD_SCHEMA. Sessions run in local mode by default (``local[2]``); on a cluster, pass the
cluster's session. Nothing is downloaded at run time: no Spark packages or jars are asked for.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from opencredit.errors import OpenCreditError
from opencredit.ledger.export import (
    ExportManifest,
    document_hash,
    export_ledger,
    read_manifest,
)
from opencredit.ledger.store import SCORE_SCHEMA
from opencredit.policies.model import Policy, parse_policy
from opencredit.scoring.imports import SCORES_MANIFEST_FILE, ScoresManifest
from opencredit.scoring.sql import SPARK, scores_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from opencredit.workspace import RebuildResult, Workspace

#: The export's tables as Spark reads them (explicit: no schema inference, and an empty
#: ledger is an empty table rather than an error).
RECORDS_DDL = (
    "seq BIGINT, person STRING, kind STRING, occurred DATE, value DOUBLE, category STRING, "
    "org STRING, ref STRING, action STRING, target BIGINT"
)
PERSONS_DDL = "id STRING"
DISPUTES_DDL = "seq BIGINT, opened DATE, resolved DATE"
#: Partitions of the export ``rebuild --engine spark`` writes: a few per local core.
REBUILD_PARTITIONS = 8

_session: SparkSession | None = None


class SparkUnavailable(OpenCreditError):
    """pyspark is not installed, or Spark (Java) cannot start."""


def spark_session(master: str = "local[2]", memory: str = "2g") -> SparkSession:
    """This process's Spark session, started on first use (local mode unless ``master``)."""
    global _session
    if _session is not None:
        return _session
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs pyspark: pip install 'opencredit[spark]'"
        ) from None
    cores = master.removeprefix("local[").removesuffix("]") if master.startswith("local[") else ""
    builder = (
        SparkSession.builder.master(master)
        .appName("opencredit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", memory)
        # a few shuffle partitions per core, not the default 200, in local mode
        .config("spark.sql.shuffle.partitions", str(2 * int(cores)) if cores.isdigit() else "64")
    )
    try:
        _session = builder.getOrCreate()
    except Exception as exc:  # Java missing or too old: pyspark's own error is long
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkUnavailable(
            f"Apache Spark could not start ({first}); it needs Java 17 or later (JAVA_HOME)"
        ) from None
    _session.sparkContext.setLogLevel("ERROR")
    return _session


def spark_scores(
    spark: SparkSession,
    policy: Policy,
    records: str | Path,
    persons: str | Path,
    as_of: dt.date,
    *,
    disputes: str | Path | None = None,
    up_to: int | None = None,
) -> DataFrame:
    """(person, raw, score, band) of every person in ``persons`` (Parquet with column ``id``)
    under ``policy`` at ``as_of``, from ``records`` (Parquet in RECORD_SCHEMA; a file or a
    directory, hive partitions allowed), as a lazy Spark DataFrame (unordered)."""
    session = spark.newSession()  # its own temporary views: calls do not see each other's
    session.read.schema(RECORDS_DDL).parquet(str(records)).createOrReplaceTempView("records")
    session.read.schema(PERSONS_DDL).parquet(str(persons)).createOrReplaceTempView("persons")
    has_disputes = False
    if disputes is not None:
        frame = session.read.schema(DISPUTES_DDL).parquet(str(disputes))
        frame.createOrReplaceTempView("disputes")
        has_disputes = True
    sql = scores_sql(policy, "records", "persons", as_of, up_to, has_disputes, SPARK)
    return session.sql(sql)


def score_population_spark(
    policy: Policy,
    export_dir: str | Path,
    as_of: dt.date,
    *,
    spark: SparkSession | None = None,
    up_to: int | None = None,
) -> pa.Table:
    """Scores of every person of an export (``opencredit export``) under ``policy`` at
    ``as_of``, from its ledger up to ``up_to`` (default: the export's head), as an Arrow table
    (SCORE_SCHEMA) ordered by person, like the DuckDB engine's ``score_population``."""
    manifest = read_manifest(export_dir)
    frame = _export_scores(
        spark or spark_session(), policy, Path(export_dir), manifest, as_of, up_to
    )
    table = frame.toArrow().select(SCORE_SCHEMA.names).cast(SCORE_SCHEMA)
    return table.sort_by("person")


def write_scores_spark(
    export_dir: str | Path,
    policy_key: str,
    as_of: dt.date,
    out: str | Path,
    *,
    spark: SparkSession | None = None,
) -> ScoresManifest:
    """Score an export under one of its policies (read from the export's own documents) and
    write the scores as Parquet to ``out`` with a manifest, for ``opencredit import-scores``:
    what a cluster job runs."""
    export_dir, out = Path(export_dir), Path(out)
    manifest = read_manifest(export_dir)
    if policy_key not in manifest.policies:
        raise OpenCreditError(
            f"{export_dir} has no policy {policy_key!r}; it has "
            f"{', '.join(manifest.policies) or 'none'}"
        )
    document = (export_dir / "policies" / f"{policy_key}.toml").read_text(encoding="utf-8")
    if document_hash(document) != manifest.policies[policy_key]:
        raise OpenCreditError(f"{export_dir}: policies/{policy_key}.toml differs from its manifest")
    policy = parse_policy(document, policy_key)
    session = spark or spark_session()
    frame = _export_scores(session, policy, export_dir, manifest, as_of, None)
    frame.write.mode("errorifexists").parquet(str(out / "scores"))
    persons = session.read.parquet(str(out / "scores")).count()
    scores_manifest = ScoresManifest(
        policy=policy_key,
        policy_sha256=manifest.policies[policy_key],
        head_seq=manifest.head_seq,
        head_record_sha256=manifest.head_record_sha256,
        as_of=as_of,
        persons=persons,
        engine=f"spark {session.version}",
        created=dt.datetime.now(dt.UTC),
    )
    (out / SCORES_MANIFEST_FILE).write_text(scores_manifest.model_dump_json(indent=2))
    return scores_manifest


def rebuild_with_spark(
    ws: Workspace,
    as_of: dt.date | None = None,
    policies: Iterable[str] | None = None,
    *,
    state: bool = False,
    progress: Callable[[str], None] | None = None,
    spark: SparkSession | None = None,
) -> list[RebuildResult]:
    """``Workspace.rebuild`` with the Spark engine: the ledger exported to a temporary
    directory, every chosen policy scored by Spark, the scores stored (as of today unless
    ``as_of``)."""
    from opencredit.clock import today
    from opencredit.workspace import RebuildResult

    as_of = as_of or today()
    chosen = [ws.policy(p) for p in policies] if policies else list(ws.policies.values())
    session = spark or spark_session()
    results = []
    ws.data_dir.mkdir(parents=True, exist_ok=True)  # a PostgreSQL workspace may have none yet
    with tempfile.TemporaryDirectory(prefix="spark-", dir=ws.data_dir) as tmp:
        export_dir = Path(tmp) / "export"
        if progress:
            progress("exporting the ledger")
        manifest = export_ledger(ws.store, export_dir, partitions=REBUILD_PARTITIONS)
        for policy in chosen:
            if progress:
                progress(policy.key)
            scores = score_population_spark(policy, export_dir, as_of, spark=session)
            ws.store.write_scores(policy.key, as_of, manifest.head_seq, scores)
            if state:
                ws.engine().rebuild_state(policy, ws.ledger(manifest.head_seq))
            up_to = manifest.head_seq
            results.append(RebuildResult(policy.key, scores.num_rows, as_of, up_to, scores))
    return results


def _export_scores(
    spark: SparkSession,
    policy: Policy,
    export_dir: Path,
    manifest: ExportManifest,
    as_of: dt.date,
    up_to: int | None,
) -> DataFrame:
    return spark_scores(
        spark,
        policy,
        export_dir / "records",
        export_dir / "persons",
        as_of,
        disputes=export_dir / "disputes.parquet" if manifest.disputes else None,
        up_to=manifest.head_seq if up_to is None else min(up_to, manifest.head_seq),
    )
