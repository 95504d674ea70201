"""``opencredit demo``: a synthetic nation generated, filed, scored and explained, end to end."""

from __future__ import annotations

import shlex
import shutil
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from opencredit.clock import today
from opencredit.errors import OpenCreditError
from opencredit.scoring.reference import ScoreResult
from opencredit.workspace import Workspace, data_dir_from_env

MARKER = ".opencredit-demo"
EXPLAINED_POLICY = "sesame-2015"


def prepare_dir(data_dir: Path) -> None:
    """Empty a data directory the demo made before; refuse to touch one it did not make."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise OpenCreditError(
                f"{data_dir} holds data the demo did not make; run the demo elsewhere with "
                "--data DIR (or OPENCREDIT_DATA)"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by `opencredit demo`; the next demo replaces it\n")


def run_demo(
    data_dir: Path, persons: int, seed: int, console: Console, *, quiet: bool = False
) -> None:
    """Run the whole pipeline and print what a new user should see."""
    from opencredit.cli import render
    from opencredit.cli.progress import spinner, steps
    from opencredit.synth import generate_nation

    started = time.perf_counter()
    as_of = today()
    prepare_dir(data_dir)
    console.print(Rule(f"opencredit demo: a synthetic nation of {persons:,} persons"))
    nation = generate_nation(data_dir / "nation", persons, seed=seed, as_of=as_of, quiet=quiet)
    console.print(
        f"generated {nation.n_persons:,} persons and {nation.n_records:,} records "
        f"in {data_dir / 'nation'}"
    )

    # The demo always runs on the embedded store, whatever OPENCREDIT_DATABASE_URL says.
    with Workspace.init(data_dir, database_url=str(data_dir / "ledger.sqlite")) as ws:
        ws.register_persons(nation.persons)
        for row in pq.read_table(nation.providers).to_pylist():
            ws.register_provider(row["code"], row["name"], row["domains"])
        with steps("filing records", len(nation.records), quiet) as advance:
            for code, path in nation.records.items():
                advance(path.name)
                report = ws.ingest(path, code)
                if report.rejected_whole:
                    render.ingest_report(report, console, data_dir / "rejections")
                    raise OpenCreditError(f"the demo's own file {path} was rejected")
        console.print(
            f"filed {ws.store.count_records():,} records from "
            f"{len(nation.records)} providers into {ws.data_dir / 'ledger.sqlite'}"
        )
        with steps("scoring everyone", len(ws.policies), quiet) as advance:
            results = ws.rebuild(as_of, progress=advance)
        for r in results:
            console.print(Rule(r.policy, style="dim"))
            console.print(render.distribution(ws.policy(r.policy), r.scores))

        person = pick_person(ws, nation.records)
        console.print(Rule(f"one person's file under {EXPLAINED_POLICY}"))
        result = ws.explain(person, EXPLAINED_POLICY, as_of)
        console.print(render.explanation(result, max_records_per_factor=3))
        worst = worst_record(result)
        if worst is not None:
            with spinner("what if", quiet):
                console.print(
                    render.what_if(ws.what_if(person, EXPLAINED_POLICY, as_of, retract=[worst]))
                )
        keys = demo_keys(ws, person)
    console.print(Rule("keys for the HTTP service (shown once; only their hashes are kept)"))
    table = Table(box=None, padding=(0, 1))
    for name in ("role", "bound to", "token"):
        table.add_column(name, overflow="fold")
    for role, subject, token in keys:
        table.add_row(role, subject or "-", token)
    console.print(table)
    partner_token = next(t for r, _, t in keys if r == "partner")
    # the commands find this demo's data only if they are told where it is
    at = "" if data_dir == data_dir_from_env() else f" --data {shlex.quote(str(data_dir))}"
    console.print(
        f"  opencredit serve{at}    # then http://127.0.0.1:8000/docs\n"
        f"  curl -H 'Authorization: Bearer {partner_token}' "
        f"'http://127.0.0.1:8000/scores/{person}?policy=lending&purpose=lending'"
        "   # 403 until the person consents",
        highlight=False,
        soft_wrap=True,
    )
    console.print(Rule("try next"))
    console.print(
        f"  opencredit explain {person} --policy lending{at}\n"
        f"  opencredit score {person} --policy rongcheng{at}\n"
        f"  opencredit whatif {person} --policy sesame-2015 "
        f"--add kind=purchase,category=baby_care,value=300{at}\n"
        "  opencredit policy lint policies/sesame-2015.toml\n"
        f"  opencredit policy show lending{at}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"[dim]demo finished in {time.perf_counter() - started:.0f} s; data in {data_dir}[/]"
    )


#: A dating site, the kind of partner the press described showcasing high scorers.
DEMO_PARTNER = ("91110000300000002N", "Example Dating")


def demo_keys(ws: Workspace, person: str) -> list[tuple[str, str | None, str]]:
    """One ready API key per role, so a new user can try every part of the service."""
    from opencredit.access import AccessStore, access_url, create_key

    bank = next(o.code for o in ws.store.organisations() if "finance" in o.domains)
    owner = ws.policy(EXPLAINED_POLICY).owner
    wanted = [
        ("person", person),
        ("data_provider", bank),
        ("scoring_provider", owner),
        ("partner", DEMO_PARTNER[0]),
        ("regulator", None),
        ("admin", None),
    ]
    store = AccessStore(access_url(ws.data_dir))
    try:
        out = []
        for role, subject in wanted:
            caller, token = create_key(
                store, role, subject, "made by opencredit demo", ledger=ws.store
            )
            out.append((caller.role.value, caller.subject, token))
        return out
    finally:
        store.close()


def pick_person(ws: Workspace, record_files: dict[str, Path]) -> str:
    """A person with records in many domains, so the explanation has something to say."""
    import duckdb

    files = ", ".join(f"'{p.as_posix()}'" for p in record_files.values())
    rows = duckdb.sql(
        f"SELECT person, count(DISTINCT kind) AS kinds, count(*) AS n "
        f"FROM read_parquet([{files}]) GROUP BY person "
        "HAVING n BETWEEN 8 AND 30 ORDER BY kinds DESC, n DESC, person LIMIT 1"
    ).fetchall()
    if not rows:
        scores, _, _ = ws.store.scores(ws.policy(EXPLAINED_POLICY).key)
        return scores.column("person")[
            int(pc.index(scores.column("score"), pc.min(scores.column("score"))).as_py())
        ].as_py()
    return rows[0][0]


def worst_record(result: ScoreResult) -> int | None:
    """The record costing the most points now, for the what-if."""
    worst = min(
        ((points, record.seq) for f in result.factors for record, points in f.records), default=None
    )
    return worst[1] if worst and worst[0] < 0 else None
