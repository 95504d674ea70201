"""What the regulator sees: aggregates only, never an individual's file or score.

Score distributions and band shares come from the stored scores of a full rebuild (ledger
``Store.scores``) joined with each person's registered region, grouped by province (the first
two digits of the region code), prefecture (four) or county (six).

**k-anonymity.** A cell counting fewer than :data:`K_ANONYMITY` (10) persons is suppressed:
its count is None and it is flagged. So that a suppressed count cannot be recovered by
subtraction, whenever a row (a group) or a column (a band, whose national total
:func:`band_shares` publishes) has exactly one suppressed cell, the smallest other cell in it is
suppressed too, until no line has exactly one. A group's mean and median are shown only when
the group has at least k persons. Dispute statistics are about organisations, not persons,
and are not suppressed.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass

import duckdb
from sqlalchemy import select

from opencredit.access import validate
from opencredit.access.errors import InvalidRequest
from opencredit.access.store import AccessStore
from opencredit.access.tables import dispute_cases
from opencredit.ledger.records import DISPUTE_DEADLINE_DAYS
from opencredit.ledger.store import Store

#: Fewest persons a published cell may count.
K_ANONYMITY = 10
#: Groupings by region, and how many leading digits of the region code each keeps.
GROUPINGS = {"province": 2, "prefecture": 4, "county": 6}
NOTE = (
    "cells counting fewer than {k} persons are suppressed (count None), and so is the "
    "smallest other cell of any group or band left with exactly one suppressed cell; "
    "means and medians are shown only for groups of at least {k} persons"
)


@dataclass(frozen=True, slots=True)
class Cell:
    """Persons of one group in one band; ``persons`` is None when suppressed."""

    group: str
    band: str
    persons: int | None

    @property
    def suppressed(self) -> bool:
        return self.persons is None


@dataclass(frozen=True, slots=True)
class GroupStats:
    """A group's size, mean and median score; all None when the group is under k."""

    group: str
    persons: int | None
    mean: float | None
    median: float | None

    @property
    def suppressed(self) -> bool:
        return self.persons is None


@dataclass(frozen=True, slots=True)
class Distribution:
    """A policy's stored scores counted per group and band."""

    policy_key: str
    as_of: dt.date | None
    up_to: int | None
    by: str
    k: int
    cells: list[Cell]
    groups: list[GroupStats]
    note: str


@dataclass(frozen=True, slots=True)
class BandShare:
    """The share of a group's persons in one band (None when suppressed)."""

    group: str
    band: str
    persons: int | None
    share: float | None


@dataclass(frozen=True, slots=True)
class OrgDisputeStats:
    """Disputes of one organisation's records."""

    org: str
    opened: int
    resolved: int
    open: int
    overdue: int
    resolved_late: int
    median_resolution_days: float | None


def suppress(counts: dict[tuple[str, str], int], k: int) -> set[tuple[str, str]]:
    """The (row, column) cells to hide: primary (< k) and secondary (see module docstring)."""
    hidden = {cell for cell, n in counts.items() if n < k}
    lines: dict[tuple[int, str], list[tuple[str, str]]] = defaultdict(list)
    for cell in counts:
        lines[(0, cell[0])].append(cell)
        lines[(1, cell[1])].append(cell)
    changed = True
    while changed:
        changed = False
        for cells in lines.values():
            if sum(c in hidden for c in cells) == 1:
                visible = [c for c in cells if c not in hidden]
                if visible:
                    hidden.add(min(visible, key=lambda c: (counts[c], c)))
                    changed = True
    return hidden


def _scored(ledger_store: Store, policy_key: str, by: str | None):
    if by is not None and by not in GROUPINGS:
        raise InvalidRequest(f"group by {by!r}: expected one of {', '.join(GROUPINGS)}")
    scores, as_of, up_to = ledger_store.scores(policy_key)
    persons = ledger_store.export_persons().select(["id", "region"])
    con = duckdb.connect()
    con.register("scores", scores)
    con.register("persons", persons)
    digits = GROUPINGS[by] if by else 0
    group = f"substr(p.region, 1, {digits})" if digits else "'all'"
    con.execute(
        f"CREATE TEMP TABLE scored AS SELECT {group} AS grp, s.band, s.score "
        "FROM scores s JOIN persons p ON s.person = p.id"
    )
    return con, as_of, up_to


def score_distribution(
    ledger_store: Store, policy_key: str, by: str = "province", k: int = K_ANONYMITY
) -> Distribution:
    """Counts per (group, band) and mean and median per group, with k-anonymity applied."""
    validate.policy_key(policy_key)
    con, as_of, up_to = _scored(ledger_store, policy_key, by)
    counts = {
        (g, b): n
        for g, b, n in con.execute(
            "SELECT grp, band, count(*) FROM scored GROUP BY grp, band"
        ).fetchall()
    }
    hidden = suppress(counts, k)
    cells = [Cell(g, b, None if (g, b) in hidden else n) for (g, b), n in sorted(counts.items())]
    groups = []
    for g, n, mean, median in con.execute(
        "SELECT grp, count(*), avg(score), median(score) FROM scored GROUP BY grp ORDER BY grp"
    ).fetchall():
        groups.append(
            GroupStats(g, n, float(mean), float(median))
            if n >= k
            else GroupStats(g, None, None, None)
        )
    con.close()
    return Distribution(policy_key, as_of, up_to, by, k, cells, groups, NOTE.format(k=k))


def band_shares(
    ledger_store: Store, policy_key: str, by: str | None = None, k: int = K_ANONYMITY
) -> list[BandShare]:
    """Share of persons in each band, nationally (``by=None``, group ``all``) or per group."""
    validate.policy_key(policy_key)
    if by is not None:
        dist = score_distribution(ledger_store, policy_key, by, k)
        totals = {g.group: g.persons for g in dist.groups}
        return [
            BandShare(
                c.group,
                c.band,
                c.persons,
                None if c.persons is None or not totals[c.group] else c.persons / totals[c.group],
            )
            for c in dist.cells
        ]
    con, _, _ = _scored(ledger_store, policy_key, None)
    counts = {
        ("all", b): n
        for b, n in con.execute(
            "SELECT band, count(*) FROM scored GROUP BY band ORDER BY band"
        ).fetchall()
    }
    con.close()
    total = sum(counts.values())
    hidden = suppress(counts, k)
    return [
        BandShare(
            "all", b, None if (g, b) in hidden else n, None if (g, b) in hidden else n / total
        )
        for (g, b), n in sorted(counts.items())
    ]


def dispute_stats(
    ledger_store: Store, access_store: AccessStore, today: dt.date
) -> list[OrgDisputeStats]:
    """Per organisation: disputes opened, resolved, open, overdue (open past the deadline),
    resolved late, and the median days to resolve."""
    with access_store.read() as conn:
        org_of = dict(
            conn.execute(select(dispute_cases.c.seq, dispute_cases.c.org).distinct()).all()
        )
    per_org: dict[str, list] = defaultdict(list)
    for d in ledger_store.disputes():
        if d.seq not in org_of:
            record = ledger_store.record(d.seq)
            org_of[d.seq] = record.org if record else "unknown"
        per_org[org_of[d.seq]].append(d)
    out = []
    for org, ds in sorted(per_org.items()):
        days = [(d.resolved - d.opened).days for d in ds if d.resolved is not None]
        still_open = [d for d in ds if d.resolved is None]
        out.append(
            OrgDisputeStats(
                org=org,
                opened=len(ds),
                resolved=len(days),
                open=len(still_open),
                overdue=sum((today - d.opened).days > DISPUTE_DEADLINE_DAYS for d in still_open),
                resolved_late=sum(n > DISPUTE_DEADLINE_DAYS for n in days),
                median_resolution_days=float(statistics.median(days)) if days else None,
            )
        )
    return out
