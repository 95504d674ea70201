"""The ``opencredit`` command line: a few lines per command over :class:`Workspace`."""

from __future__ import annotations

import datetime as dt
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from opencredit.catalog import Domain
from opencredit.cli.group import OpenCreditGroup, set_shared, state
from opencredit.errors import OpenCreditError
from opencredit.workspace import Workspace, data_dir_from_env

app = typer.Typer(
    name="opencredit",
    cls=OpenCreditGroup,
    help="An open, accountable social credit system: published rules, explained scores, "
    "refused special-category data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(
    help="Published scoring policies: lint, list, show, install.", no_args_is_help=True
)
registry_app = typer.Typer(help="The registry of persons and data providers.", no_args_is_help=True)
keys_app = typer.Typer(
    help="API keys for the HTTP service: create (shown once), list, revoke.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")
app.add_typer(registry_app, name="registry")
app.add_typer(keys_app, name="keys")

console = Console()


def say(line: str) -> None:
    """Print one line whole: never wrapped (a person copies it, a script parses it), and
    never read as markup (names and paths may hold brackets)."""
    console.print(line, markup=False, highlight=False, soft_wrap=True)


DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data", envvar="OPENCREDIT_DATA", help="Data directory (default: ./opencredit-data)."
    ),
]
PolicyOpt = Annotated[
    str, typer.Option("--policy", "-p", help="Policy id (latest version) or id@version.")
]
AsOfOpt = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Score as of this date [default: today]."),
]

#: A file the command reads: it must exist and be a readable file (checked before anything runs).
INPUT_FILE = {"exists": True, "dir_okay": False, "readable": True}
SeedOpt = Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Random seed")]
#: Exit status of `ingest --partial` when rows were left out (the report says how many).
EXIT_PARTIAL = 3
#: The largest nation `generate` makes: a country's population (1.4 billion, the scale target).
MAX_NATION = 1_400_000_000
#: The largest nation the demo files and scores on one machine.
MAX_DEMO = 10_000_000
#: The most years of history `generate` makes.
MAX_YEARS = 50


def _as_of(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _open(create: bool = False) -> Workspace:
    return Workspace(state.data, create=create, database_url=state.database_url)


@app.callback()
def main_options(
    data: DataOpt = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="OPENCREDIT_DATABASE_URL",
            help="The store: postgresql://user@host/db, or sqlite:///PATH "
            "(default: DATA/ledger.sqlite).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """opencredit: every rule published, every point explained.

    --data, --database-url and --quiet may also follow any command (`opencredit demo --data
    DIR`). Exit status: 0 done; 1 a check failed (a rejected file, a policy with lint errors);
    2 a usage error or a refusal (one line on stderr); 3 `ingest --partial` left rows out.
    """
    set_shared(data, database_url, quiet)


@app.command()
def init() -> None:
    """Create the data directory and install the three published policies."""
    with Workspace.init(state.data, database_url=state.database_url) as ws:
        say(f"initialised {ws.data_dir} with policies: {', '.join(ws.policies)}")


@registry_app.command("add-persons")
def add_persons(
    file: Annotated[
        Path, typer.Argument(help="Parquet: id, region, birth_date, sex", **INPUT_FILE)
    ],
) -> None:
    """Register the persons listed in a Parquet file."""
    with _open() as ws:
        added = ws.register_persons(file)
        say(f"registered {added:,} new persons ({ws.store.count_persons():,} in all)")


@registry_app.command("add-provider")
def add_provider(
    code: Annotated[str, typer.Argument(help="Unified Social Credit Code (18 characters)")],
    name: Annotated[str, typer.Option(help="The organisation's name")],
    domain: Annotated[
        list[Domain], typer.Option(help="A licensed domain (repeatable)", case_sensitive=False)
    ],
) -> None:
    """Register a data provider licensed to file records in some domains."""
    with _open() as ws:
        org = ws.register_provider(code, name, [d.value for d in domain])
        say(f"registered {org.name} ({org.code}) for {', '.join(org.domains)}")


@app.command()
def ingest(
    file: Annotated[
        Path, typer.Argument(help="CSV, JSON Lines or Parquet file of records", **INPUT_FILE)
    ],
    provider: Annotated[str, typer.Option(help="The filing organisation's code")],
    partial: Annotated[
        bool,
        typer.Option(
            help="File the good rows and reject only the bad "
            "ones (default: reject the file if any row is bad)"
        ),
    ] = False,
) -> None:
    """Validate and file a provider's records; a bad row rejects the file unless --partial.

    Exit status 0: every row filed (or a duplicate); 1: the file was rejected, nothing
    written; 3: with --partial, the good rows were filed and the bad ones left out.
    """
    from opencredit.cli import render
    from opencredit.cli.progress import spinner

    with _open() as ws:
        with spinner(f"validating and filing {file}", state.quiet):
            report = ws.ingest(file, provider, partial=partial)
        render.ingest_report(report, console, ws.data_dir / "rejections")
    if report.rejected_whole:
        raise typer.Exit(1)
    if report.bad_rows:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def score(
    person: Annotated[str, typer.Argument(help="Resident ID")],
    policy: PolicyOpt,
    as_of: AsOfOpt = None,
) -> None:
    """A person's score under a policy, from the current factor state."""
    with _open() as ws:
        p = ws.policy(policy)
        raw, rounded = ws.score(person, policy, _as_of(as_of))
        console.print(
            f"{person}  {p.key}  {rounded}  ({p.band_of(rounded).name})  "
            f"[dim]unrounded {raw:.4f}[/]",
            soft_wrap=True,
        )


@app.command()
def explain(
    person: Annotated[str, typer.Argument(help="Resident ID")],
    policy: PolicyOpt,
    as_of: AsOfOpt = None,
) -> None:
    """A person's score with every factor, the key reasons and the records behind them."""
    from opencredit.cli import render

    with _open() as ws:
        console.print(render.explanation(ws.explain(person, policy, _as_of(as_of))))


@app.command()
def whatif(
    person: Annotated[str, typer.Argument(help="Resident ID")],
    policy: PolicyOpt,
    retract: Annotated[
        list[int] | None,
        typer.Option(help="Sequence number of a record to treat as retracted (repeatable)"),
    ] = None,
    expire: Annotated[
        list[int] | None,
        typer.Option(help="Sequence number of a record to treat as expired (repeatable)"),
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option(
            help="A hypothetical record: kind=speeding,occurred=2026-05-01,value=20[,category=...]"
            " (repeatable)"
        ),
    ] = None,
    as_of: AsOfOpt = None,
) -> None:
    """The score if records were retracted, had expired, or new ones were filed."""
    from opencredit.cli import render
    from opencredit.scoring.hypothetical import parse_hypothetical

    with _open() as ws:
        result = ws.what_if(
            person,
            policy,
            _as_of(as_of),
            retract=retract or [],
            expire=expire or [],
            add=[parse_hypothetical(a) for a in add or []],
        )
        console.print(render.what_if(result))


class Engine(StrEnum):
    """Engines ``opencredit rebuild`` can score with."""

    auto = "auto"
    kernel = "kernel"
    duckdb = "duckdb"
    state = "state"
    spark = "spark"


@app.command()
def rebuild(
    as_of: AsOfOpt = None,
    policy: Annotated[
        list[str] | None,
        typer.Option(
            "--policy", "-p", help="Only this policy (repeatable) [default: all installed]"
        ),
    ] = None,
    state_: Annotated[
        bool,
        typer.Option(
            "--state", help="Also rebuild the incremental engine's factor state from the ledger"
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only compare the ledger's columnar copy with the row store; exit 1 if they "
            "differ",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="auto (default: duckdb for a small ledger, kernel for a large one), kernel "
            "(compiled, numba), duckdb, state (re-score from per-person state, built when "
            "missing or stale) or spark (local[2], via a Parquet export)",
        ),
    ] = Engine.auto,
) -> None:
    """Recompute every score from the ledger's columnar copy, all policies in one pass."""
    from opencredit.cli import render
    from opencredit.cli.progress import steps

    with _open() as ws:
        if check:
            found = ws.columnar_differences()
            for line in found:
                say(line)
            if found:
                say(
                    f"the columnar copy differs from the row store; delete "
                    f"{ws.columnar().dir} to copy it again"
                )
                raise typer.Exit(1)
            say("the columnar copy equals the row store")
            return
        chosen = [ws.policy(p).key for p in policy] if policy else list(ws.policies)
        if engine == Engine.spark:
            from opencredit.engines.spark import rebuild_with_spark

            with steps("rebuilding scores", len(chosen) + 1, state.quiet) as advance:
                results = rebuild_with_spark(
                    ws, _as_of(as_of), chosen, state=state_, progress=advance
                )
        else:
            with steps(
                "rebuilding scores", 1 + (len(chosen) if state_ else 0), state.quiet
            ) as advance:
                results = ws.rebuild(
                    _as_of(as_of), chosen, state=state_, engine=engine.value, progress=advance
                )
        for r in results:
            console.print(render.distribution(ws.policy(r.policy), r.scores))


class ExportFormat(StrEnum):
    """Formats ``opencredit export`` writes."""

    parquet = "parquet"


@app.command("export")
def export_command(
    format_: Annotated[
        ExportFormat, typer.Option("--format", help="Output format")
    ] = ExportFormat.parquet,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: DATA/exports/seq-HEAD)")
    ] = None,
    partitions: Annotated[
        int, typer.Option(min=1, max=65_536, help="Partitions: md5 of the resident ID mod N")
    ] = 64,
    with_attributes: Annotated[
        bool, typer.Option(help="Export the persons' attributes too (for the regulator)")
    ] = False,
) -> None:
    """Export the ledger, registry, disputes and policies as Parquet partitioned by person."""
    from opencredit.cli.progress import counter
    from opencredit.ledger.export import export_ledger

    with _open() as ws:
        head = ws.store.max_seq()
        target = out or ws.data_dir / "exports" / f"seq-{head}"
        with counter("exporting records", head, state.quiet) as advance:
            m = export_ledger(
                ws.store,
                target,
                partitions=partitions,
                with_attributes=with_attributes,
                progress=advance,
            )
    say(
        f"exported {m.records:,} records (head seq {m.head_seq:,}), {m.persons:,} persons, "
        f"{m.disputes:,} disputes in {m.partitions} partitions to {target}"
    )


@app.command("import-scores")
def import_scores_command(
    file: Annotated[
        Path, typer.Argument(help="Parquet (file or directory): person, raw, score, band")
    ],
    policy: PolicyOpt,
    manifest: Annotated[
        Path | None, typer.Option(help="The scores' manifest (default: manifest.json beside FILE)")
    ] = None,
    allow_stale: Annotated[
        bool, typer.Option(help="Store them even if records were filed since they were computed")
    ] = False,
    sample: Annotated[
        int,
        typer.Option(
            min=0, max=1_000_000, help="Persons spot-checked against the reference function"
        ),
    ] = 100,
) -> None:
    """Check scores computed elsewhere (Spark, another site) and store them; nothing on error."""
    from opencredit.cli.progress import spinner
    from opencredit.scoring.imports import import_scores

    with _open() as ws, spinner(f"checking {file}", state.quiet):
        key = ws.policy(policy).key
        r = import_scores(
            ws.store, file, key, manifest=manifest, allow_stale=allow_stale, sample=sample
        )
    stale = f"; stale: the ledger is now at seq {r.ledger_head:,}" if r.stale else ""
    say(
        f"imported {r.persons:,} scores under {r.policy} as of {r.as_of} (ledger up to seq "
        f"{r.head_seq:,}; {r.checked} spot-checked){stale}"
    )


@policy_app.command("lint")
def policy_lint(
    files: Annotated[list[Path], typer.Argument(help="Policy TOML files", **INPUT_FILE)],
) -> None:
    """Check policies: errors for refused data, warnings for legal and design risks."""
    from opencredit.policies.lint import lint_policy_file, print_report

    failed = False
    for file in files:
        report = lint_policy_file(file)
        print_report(report, console)
        failed |= not report.ok
    if failed:
        raise typer.Exit(1)


@policy_app.command("list")
def policy_list() -> None:
    """The installed policies."""
    with _open() as ws:
        for key, p in sorted(ws.policies.items()):
            console.print(
                f"{key:20} {p.name}  range {p.low}-{p.high}, purposes: {', '.join(p.purposes)}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )


@policy_app.command("show")
def policy_show(policy: Annotated[str, typer.Argument(help="Policy id or id@version")]) -> None:
    """Print an installed policy's published document."""
    with _open() as ws:
        p = ws.policy(policy)
        console.print(
            ws.store.policy_documents()[p.key], markup=False, highlight=False, soft_wrap=True
        )


@policy_app.command("install")
def policy_install(
    file: Annotated[Path, typer.Argument(help="Policy TOML file", **INPUT_FILE)],
) -> None:
    """Install a policy (it must lint without errors) and build its factor state."""
    from opencredit.policies.lint import lint_policy_file, print_report

    report = lint_policy_file(file)
    if not report.ok:
        print_report(report, console)
        raise typer.Exit(1)
    with _open() as ws:
        done = ws.install_policy(file)
        say(f"{'installed' if done.new else 'already installed'} {done.key}")
        earlier = [
            p
            for p in ws.policies.values()
            if p.id == done.policy.id and p.version < done.policy.version
        ]
        if done.new and earlier:
            from opencredit.scoring.rescore import needs_rebuild

            before = max(earlier, key=lambda p: p.version)
            need = needs_rebuild(before, done.policy)
            how = "rebuild" if need.needed else "rebuild --engine state"
            say(f"against {before.key}: {need.reason}; scores: opencredit {how} -p {done.key}")


@app.command()
def generate(
    persons: Annotated[int, typer.Option(min=1, max=MAX_NATION, help="How many persons")] = 100_000,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: DATA/nation)")] = None,
    seed: SeedOpt = 2015,
    years: Annotated[int, typer.Option(min=1, max=MAX_YEARS, help="Years of history")] = 3,
    as_of: AsOfOpt = None,
) -> None:
    """Generate a synthetic nation (persons, providers, records) as Parquet files."""
    from opencredit.clock import today
    from opencredit.synth import generate_nation

    target = out or data_dir_from_env(state.data) / "nation"
    files = generate_nation(
        target, persons, seed=seed, as_of=_as_of(as_of) or today(), years=years, quiet=state.quiet
    )
    say(f"wrote {files.n_persons:,} persons and {files.n_records:,} records to {target}")


@app.command()
def demo(
    persons: Annotated[
        int, typer.Option(min=1, max=MAX_DEMO, help="How many persons (a small nation is quick)")
    ] = 100_000,
    seed: SeedOpt = 2015,
) -> None:
    """Generate a nation, file its records, score it under three policies, explain a score."""
    from opencredit.cli.demo import run_demo

    run_demo(data_dir_from_env(state.data), persons, seed, console, quiet=state.quiet)


def _access():
    """The access store (keys, consents...) of the data directory, which must exist."""
    from opencredit.access import AccessStore, access_url

    _open().close()  # no data directory (or database): say so, rather than make one
    return AccessStore(state.database_url or access_url(data_dir_from_env(state.data)))


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str,
        typer.Option(help="person, data_provider, scoring_provider, partner, regulator or admin"),
    ],
    subject: Annotated[
        str | None,
        typer.Option(
            help="Resident ID (person) or organisation "
            "code (data_provider, scoring_provider, "
            "partner)"
        ),
    ] = None,
    label: Annotated[str, typer.Option(help="A note to recognise the key by")] = "",
) -> None:
    """Create an API key; the token is printed this once and only its hash is kept."""
    from opencredit.access import create_key

    with _open() as ws:
        store = _access()
        try:
            caller, token = create_key(store, role, subject, label, ledger=ws.store)
        finally:
            store.close()
    say(
        f"{caller.role.value} key {caller.key_id}"
        + (f" for {caller.subject}" if caller.subject else "")
    )
    console.print(token, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, subject, label, created, revoked (never the secret)."""
    from opencredit.access import list_keys

    store = _access()
    try:
        for k in list_keys(store):
            state_ = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            console.print(
                f"{k.key_id}  {k.role:16} {k.subject or '-':18}  {state_:18} {k.label}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    finally:
        store.close()


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id")]) -> None:
    """Revoke a key at once."""
    from opencredit.access import revoke_key

    store = _access()
    try:
        revoke_key(store, key_id)
    finally:
        store.close()
    say(f"revoked {key_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (each opens the stores itself); about one per core",
        ),
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request (off with --quiet)")] = True,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) over the data directory."""
    import socket

    import uvicorn

    from opencredit.api.settings import Settings

    try:  # a host that cannot be listened on: say so now, in one line
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise OpenCreditError(
            f"--host {host!r}: cannot listen there ({exc.strerror or exc}); expected an "
            "address of this machine, such as 127.0.0.1 or 0.0.0.0"
        ) from None
    settings = Settings(data=data_dir_from_env(state.data), database_url=state.database_url)
    Workspace(settings.data, database_url=settings.database_url).close()  # fail early, clearly
    # Each worker builds the app from the environment, so pass the settings through it.
    os.environ["OPENCREDIT_DATA"] = str(settings.data)
    if settings.database_url:
        os.environ["OPENCREDIT_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "opencredit.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning" if state.quiet else "info",
        access_log=access_log and not state.quiet,
    )


def main() -> None:
    """Entry point: run the app (errors become one line on stderr; see cli.group)."""
    app()
