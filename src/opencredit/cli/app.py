"""The ``opencredit`` command line: a few lines per command over :class:`Workspace`."""

from __future__ import annotations

import datetime as dt
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
policy_app = typer.Typer(help="Published scoring policies: lint, list, show, install.",
                         no_args_is_help=True)
registry_app = typer.Typer(help="The registry of persons and data providers.",
                           no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(registry_app, name="registry")

console = Console()
err_console = Console(stderr=True)


class _State:
    data: Path | None = None
    quiet: bool = False


state = _State()

DataOpt = Annotated[Path | None, typer.Option(
    "--data", envvar="OPENCREDIT_DATA", help="Data directory [default: ./opencredit-data].")]
PolicyOpt = Annotated[str, typer.Option("--policy", "-p", help="Policy id (latest version) or "
                                        "id@version.")]
AsOfOpt = Annotated[dt.datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="Score as of this date [default: today].")]


def _as_of(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _open(create: bool = False) -> Workspace:
    return Workspace(state.data, create=create)


@app.callback()
def main_options(
    data: DataOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """opencredit: every rule published, every point explained."""
    state.data = data
    state.quiet = quiet


@app.command()
def init() -> None:
    """Create the data directory and install the three published policies."""
    with Workspace.init(state.data) as ws:
        console.print(f"initialised {ws.data_dir} with policies: {', '.join(ws.policies)}")


@registry_app.command("add-persons")
def add_persons(file: Annotated[Path, typer.Argument(help="Parquet: id, region, birth_date, sex")]
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
    partial: Annotated[bool, typer.Option(help="File the good rows and reject only the bad "
                                          "ones (default: reject the file if any row is bad)")]
    = False,
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
def score(person: Annotated[str, typer.Argument(help="Resident ID")], policy: PolicyOpt,
          as_of: AsOfOpt = None) -> None:
    """A person's score under a policy, from the current factor state."""
    with _open() as ws:
        p = ws.policy(policy)
        raw, rounded = ws.score(person, policy, _as_of(as_of))
        console.print(f"{person}  {p.key}  {rounded}  ({p.band_of(rounded).name})  "
                      f"[dim]unrounded {raw:.4f}[/]")


@app.command()
def explain(person: Annotated[str, typer.Argument(help="Resident ID")], policy: PolicyOpt,
            as_of: AsOfOpt = None) -> None:
    """A person's score with every factor, the key reasons and the records behind them."""
    from opencredit.cli import render

    with _open() as ws:
        console.print(render.explanation(ws.explain(person, policy, _as_of(as_of))))


@app.command()
def whatif(
    person: Annotated[str, typer.Argument(help="Resident ID")],
    policy: PolicyOpt,
    retract: Annotated[list[int] | None, typer.Option(help="Sequence number of a record to "
                                                      "treat as retracted (repeatable)")] = None,
    expire: Annotated[list[int] | None, typer.Option(help="Sequence number of a record to "
                                                     "treat as expired (repeatable)")] = None,
    add: Annotated[list[str] | None, typer.Option(
        help="A hypothetical record: kind=speeding,occurred=2026-05-01,value=20[,category=...]"
        " (repeatable)")] = None,
    as_of: AsOfOpt = None,
) -> None:
    """The score if records were retracted, had expired, or new ones were filed."""
    from opencredit.cli import render
    from opencredit.scoring.hypothetical import parse_hypothetical

    with _open() as ws:
        result = ws.what_if(person, policy, _as_of(as_of), retract=retract or [],
                            expire=expire or [],
                            add=[parse_hypothetical(a) for a in add or []])
        console.print(render.what_if(result))


@app.command()
def rebuild(
    as_of: AsOfOpt = None,
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", help="Only this policy "
                                                     "(repeatable) [default: all installed]")]
    = None,
    state_: Annotated[bool, typer.Option("--state", help="Also rebuild the incremental "
                                         "engine's factor state from the ledger")] = False,
) -> None:
    """Recompute every score from the whole ledger with the batch engine (DuckDB)."""
    from opencredit.cli import render
    from opencredit.cli.progress import steps

    with _open() as ws:
        chosen = policy or list(ws.policies)
        with steps("rebuilding scores", len(chosen), state.quiet) as advance:
            results = ws.rebuild(_as_of(as_of), chosen, state=state_, progress=advance)
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
            console.print(f"{key:20} {p.name}  range {p.low}-{p.high}, purposes: "
                          f"{', '.join(p.purposes)}")


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
    out: Annotated[Path | None, typer.Option(help="Output folder [default: DATA/nation]")]
    = None,
    seed: Annotated[int, typer.Option(help="Random seed")] = 2015,
    years: Annotated[int, typer.Option(help="Years of history")] = 3,
    as_of: AsOfOpt = None,
) -> None:
    """Generate a synthetic nation (persons, providers, records) as Parquet files."""
    from opencredit.clock import today
    from opencredit.synth import generate_nation

    target = out or data_dir_from_env(state.data) / "nation"
    files = generate_nation(target, persons, seed=seed, as_of=_as_of(as_of) or today(),
                            years=years, quiet=state.quiet)
    console.print(f"wrote {files.n_persons:,} persons and {files.n_records:,} records to "
                  f"{target}")


@app.command()
def demo(
    persons: Annotated[int, typer.Option(help="How many persons")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 2015,
) -> None:
    """Generate a nation, file its records, score it under three policies, explain a score."""
    from opencredit.cli.demo import run_demo

    run_demo(data_dir_from_env(state.data), persons, seed, console, quiet=state.quiet)


def main() -> None:
    """Entry point: run the app, turning library errors into one clear line and exit 2."""
    try:
        app()
    except OpenCreditError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise SystemExit(2) from None
