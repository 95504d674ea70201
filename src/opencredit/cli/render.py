"""Rich renderings of library results: explanations, ingest reports, distributions."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from opencredit.ledger.ingest import IngestReport
from opencredit.policies.model import Policy
from opencredit.scoring.explain import MAX_REASONS, WhatIf, clipped, unclipped_total
from opencredit.scoring.reference import ScoreResult

MAX_ERRORS_SHOWN = 20


def explanation(result: ScoreResult, max_records_per_factor: int | None = None) -> Group:
    """A person's score, band, every factor's contribution, reasons and records."""
    policy = result.policy
    head = Text.assemble(
        (f"{result.score}", "bold"),
        f"  ({result.band})   under {policy.name} [{policy.key}], "
        f"range {policy.low}-{policy.high}, as of {result.as_of}\n",
        f"base {policy.base:g} + factors {sum(f.contribution for f in result.factors):+.1f}"
        f" = {unclipped_total(result):.2f}",
        _clip_note(result),
    )
    factors = Table(title="Factors", title_justify="left", expand=False)
    factors.add_column("factor")
    factors.add_column("points", justify="right")
    factors.add_column("best possible", justify="right")
    factors.add_column("bounds", justify="right")
    factors.add_column("records", justify="right")
    for f in result.factors:
        style = "red" if f.contribution < 0 else ("green" if f.contribution > 0 else "")
        factors.add_row(
            f.factor.id,
            Text(f"{f.contribution:+.1f}", style=style),
            f"{f.factor.max:+g}",
            f"{f.factor.min:g}..{f.factor.max:g}",
            str(len(f.records)),
        )
    reasons = Table(title=f"Key reasons (up to {MAX_REASONS})", title_justify="left")
    reasons.add_column("code")
    reasons.add_column("reason")
    reasons.add_column("costs", justify="right")
    for f in result.reasons(MAX_REASONS):
        reasons.add_row(f.factor.id, f.factor.reason, f"{f.shortfall:.1f}")
    if not result.reasons(MAX_REASONS):
        reasons.add_row("-", "every factor is at its best possible contribution", "0")
    records = Table(title="Records behind each factor", title_justify="left")
    for name in ("factor", "seq", "date", "kind", "value", "category", "points now"):
        records.add_column(name, justify="right" if name in ("seq", "points now") else "left")
    for f in result.factors:
        ordered = sorted(f.records, key=lambda rp: rp[0].occurred, reverse=True)
        shown = ordered[:max_records_per_factor] if max_records_per_factor else ordered
        if len(shown) < len(ordered):
            records.add_row(
                f.factor.id,
                "",
                "",
                f"... {len(ordered) - len(shown)} older",
                "",
                "",
                f"{sum(p for _, p in ordered[len(shown) :]):+.2f}",
            )
        for record, points in shown:
            records.add_row(
                f.factor.id,
                str(record.seq),
                record.occurred.isoformat(),
                record.kind,
                "" if record.value is None else f"{record.value:g}",
                record.category or "",
                f"{points:+.2f}",
            )
    return Group(Panel(head, title=f"Score of {result.person}"), factors, reasons, records)


def _clip_note(result: ScoreResult) -> str:
    """Says when the policy's range clipped the total, and to what."""
    if not clipped(result):
        return ""
    edge = "top" if unclipped_total(result) > result.policy.high else "bottom"
    return f", clipped to the {edge} of the range: {result.raw:g}"


def what_if(result: WhatIf) -> Panel:
    """Before and after of a what-if."""
    lines = "\n".join(f"- {c}" for c in result.changes) or "- no change"
    for when, r in (("before", result.before), ("after", result.after)):
        if clipped(r):
            lines += f"\n  (the total {when}, {unclipped_total(r):.2f}{_clip_note(r)})"
    body = Text.assemble(
        f"{lines}\n\n",
        "score ",
        (f"{result.before.score}", "bold"),
        f" ({result.before.band}) -> ",
        (f"{result.after.score}", "bold"),
        f" ({result.after.band}): ",
        (f"{result.delta:+d} points", "green" if result.delta > 0 else "red"),
    )
    return Panel(body, title=f"What if, under {result.before.policy.key}")


def ingest_report(report: IngestReport, console: Console, report_dir: Path | None) -> None:
    """Print an ingest report; write every bad row to a CSV file if there are many."""
    if report.receipt is not None:
        r = report.receipt
        seqs = f"ledger {r.first_seq}..{r.last_seq}" if r.first_seq else "nothing new"
        summary = Text.assemble(
            ("accepted", "green"),
            f" {report.source}: batch {r.batch}, {r.accepted:,} "
            f"records ({seqs}), {r.duplicates:,} duplicates skipped, "
            f"{report.bad_rows:,} bad rows rejected",
        )
    elif not report.rejected_whole:  # nothing new to write: no rows, or only duplicates
        summary = Text.assemble(
            ("nothing new", "green"),
            f" in {report.source}: {report.rows:,} rows, {report.duplicates:,} duplicates "
            "skipped, no batch written",
        )
    else:
        summary = Text.assemble(
            ("rejected", "red"),
            f" {report.source}: {report.bad_rows:,} bad rows out of "
            f"{report.rows:,}; nothing was written "
            "(use --partial to file the good rows and reject only the bad ones)",
        )
    console.print(summary, soft_wrap=True)
    if not report.errors:
        return
    table = Table(title="Bad rows", title_justify="left")
    for name in (report.line_word, "field", "value", "reason"):
        table.add_column(name, overflow="fold")
    for e in report.errors[:MAX_ERRORS_SHOWN]:
        table.add_row(str(e.line), e.field, e.value or "", e.reason)
    console.print(table)
    if len(report.errors) > MAX_ERRORS_SHOWN and report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        path = report_dir / f"rejected-{Path(report.source).stem}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([report.line_word, "field", "value", "reason"])
            writer.writerows((e.line, e.field, e.value or "", e.reason) for e in report.errors)
        console.print(
            f"... and {len(report.errors) - MAX_ERRORS_SHOWN:,} more; all "
            f"{len(report.errors):,} in {path}"
        )


def distribution(policy: Policy, scores: pa.Table, bins: int = 12, width: int = 40) -> Group:
    """A histogram of scores over the policy's range and each band's share."""
    values = scores.column("score").to_numpy()
    n = len(values)
    hist = Table(
        title=Text(  # plain text: "[lending@1]" is not markup
            f"{policy.name} [{policy.key}]: {n:,} persons, mean "
            f"{values.mean():.0f}, median {np.median(values):.0f}"
            if n
            else f"{policy.key}: no scores"
        ),
        title_justify="left",
        show_header=False,
        box=None,
        padding=(0, 1),
    )
    if n:
        counts, edges = np.histogram(values, bins=bins, range=(policy.low, policy.high + 1))
        top = counts.max() or 1
        for count, lo, hi in zip(counts, edges[:-1], edges[1:], strict=True):
            bar = "█" * round(width * count / top)
            hist.add_row(f"{lo:6.0f}-{hi - 1:<6.0f}", Text(bar, style="cyan"), f"{count:,}")
    bands = Table(show_header=True, box=None, padding=(0, 1))
    bands.add_column("band")
    bands.add_column("range")
    bands.add_column("share", justify="right")
    bands.add_column("")
    counts_by_band = (
        dict(zip(*pc.value_counts(scores.column("band")).flatten(), strict=True)) if n else {}
    )
    counts_by_band = {k.as_py(): v.as_py() for k, v in counts_by_band.items()}
    for band in policy.bands:
        share = counts_by_band.get(band.name, 0) / n if n else 0.0
        bands.add_row(
            band.name,
            f"{band.min}-{band.max}",
            f"{share:6.1%}",
            Text("▇" * round(width * share), style="magenta"),
        )
    return Group(hist, bands, Text(""))
