"""The ``opencredit`` command line: a few lines per command over :class:`Workspace`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from opencredit.errors import OpenCreditError
from opencredit.workspace import Workspace, data_dir_from_env

app = typer.Typer(
    name="opencredit",
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
err_console = Console(stderr=True)


class _State:
    data: Path | None = None
    database_url: str | None = None
    quiet: bool = False


state = _State()

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data", envvar="OPENCREDIT_DATA", help="Data directory [default: ./opencredit-data]."
    ),
]
PolicyOpt = Annotated[
    str, typer.Option("--policy", "-p", help="Policy id (latest version) or id@version.")
]
AsOfOpt = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Score as of this date [default: today]."),
]


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
    """opencredit: every rule published, every point explained."""
    state.data = data
    state.database_url = database_url
    state.quiet = quiet


@app.command()
def init() -> None:
    """Create the data directory and install the three published policies."""
    with Workspace.init(state.data, database_url=state.database_url) as ws:
        console.print(f"initialised {ws.data_dir} with policies: {', '.join(ws.policies)}")


@registry_app.command("add-persons")
def add_persons(
    file: Annotated[Path, typer.Argument(help="Parquet: id, region, birth_date, sex")],
) -> None:
    """Register the persons listed in a Parquet file."""
    with _open() as ws:
        added = ws.register_persons(file)
        console.print(f"registered {added:,} new persons ({ws.store.count_persons():,} in all)")


@registry_app.command("add-provider")
def add_provider(
    code: Annotated[str, typer.Argument(help="Unified Social Credit Code (18 characters)")],
    name: Annotated[str, typer.Option(help="The organisation's name")],
    domain: Annotated[list[str], typer.Option(help="A licensed domain (repeatable)")],
) -> None:
    """Register a data provider licensed to file records in some domains."""
    with _open() as ws:
        org = ws.register_provider(code, name, domain)
        console.print(f"registered {org.name} ({org.code}) for {', '.join(org.domains)}")


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="CSV, JSON Lines or Parquet file of records")],
    provider: Annotated[str, typer.Option(help="The filing organisation's code")],
    partial: Annotated[
        bool,
        typer.Option(
            help="File the good rows and reject only the bad "
            "ones (default: reject the file if any row is bad)"
        ),
    ] = False,
) -> None:
    """Validate and file a provider's records; a bad row rejects the file unless --partial."""
    from opencredit.cli import render
    from opencredit.cli.progress import spinner

    with _open() as ws:
        with spinner(f"validating and filing {file}", state.quiet):
            report = ws.ingest(file, provider, partial=partial)
        render.ingest_report(report, console, ws.data_dir / "rejections")
    if report.rejected_whole:
        raise typer.Exit(1)


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
            f"[dim]unrounded {raw:.4f}[/]"
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
        str,
        typer.Option(
            "--engine",
            help="auto (default: duckdb for a small ledger, kernel for a large one), kernel "
            "(compiled), duckdb, or state (re-score from per-person state, built when "
            "missing or stale)",
        ),
    ] = "auto",
) -> None:
    """Recompute every score from the ledger's columnar copy, all policies in one pass."""
    from opencredit.cli import render
    from opencredit.cli.progress import steps

    with _open() as ws:
        if check:
            found = ws.columnar_differences()
            for line in found:
                console.print(line, markup=False, highlight=False)
            if found:
                console.print(
                    f"the columnar copy differs from the row store; delete "
                    f"{ws.columnar().dir} to copy it again",
                    markup=False,
                )
                raise typer.Exit(1)
            console.print("the columnar copy equals the row store", markup=False)
            return
        chosen = policy or list(ws.policies)
        with steps("rebuilding scores", 1 + (len(chosen) if state_ else 0), state.quiet) as advance:
            results = ws.rebuild(
                _as_of(as_of), chosen, state=state_, engine=engine, progress=advance
            )
        for r in results:
            console.print(render.distribution(ws.policy(r.policy), r.scores))


@policy_app.command("lint")
def policy_lint(files: Annotated[list[Path], typer.Argument(help="Policy TOML files")]) -> None:
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
                f"{key:20} {p.name}  range {p.low}-{p.high}, purposes: {', '.join(p.purposes)}"
            )


@policy_app.command("show")
def policy_show(policy: Annotated[str, typer.Argument(help="Policy id or id@version")]) -> None:
    """Print an installed policy's published document."""
    with _open() as ws:
        p = ws.policy(policy)
        console.print(ws.store.policy_documents()[p.key], markup=False, highlight=False)


@policy_app.command("install")
def policy_install(file: Annotated[Path, typer.Argument(help="Policy TOML file")]) -> None:
    """Install a policy (it must lint without errors) and build its factor state."""
    from opencredit.policies.lint import lint_policy_file, print_report

    report = lint_policy_file(file)
    if not report.ok:
        print_report(report, console)
        raise typer.Exit(1)
    with _open() as ws:
        p = ws.install_policy(file)
        console.print(f"installed {p.key}")


@app.command()
def generate(
    persons: Annotated[int, typer.Option(help="How many persons")] = 100_000,
    out: Annotated[Path | None, typer.Option(help="Output folder [default: DATA/nation]")] = None,
    seed: Annotated[int, typer.Option(help="Random seed")] = 2015,
    years: Annotated[int, typer.Option(help="Years of history")] = 3,
    as_of: AsOfOpt = None,
) -> None:
    """Generate a synthetic nation (persons, providers, records) as Parquet files."""
    from opencredit.clock import today
    from opencredit.synth import generate_nation

    target = out or data_dir_from_env(state.data) / "nation"
    files = generate_nation(
        target, persons, seed=seed, as_of=_as_of(as_of) or today(), years=years, quiet=state.quiet
    )
    console.print(f"wrote {files.n_persons:,} persons and {files.n_records:,} records to {target}")


@app.command()
def demo(
    persons: Annotated[int, typer.Option(help="How many persons")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 2015,
) -> None:
    """Generate a nation, file its records, score it under three policies, explain a score."""
    from opencredit.cli.demo import run_demo

    run_demo(data_dir_from_env(state.data), persons, seed, console, quiet=state.quiet)


def _access():
    from opencredit.access import AccessStore, access_url

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
    console.print(
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
    console.print(f"revoked {key_id}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
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
    import uvicorn

    from opencredit.api.settings import Settings

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
    """Entry point: run the app, turning library errors into one clear line and exit 2."""
    try:
        app()
    except OpenCreditError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise SystemExit(2) from None
