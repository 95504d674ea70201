"""The regulator: aggregates only, never an individual's file."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from opencredit.access import regulator
from opencredit.api.deps import Ctx, RegulatorCaller
from opencredit.api.responses import AUTHENTICATED, problems

router = APIRouter(prefix="/regulator", tags=["regulator"], responses=AUTHENTICATED)

Name = Annotated[str, Query(min_length=1, max_length=80, description="Policy id or id@version")]


@router.get(
    "/distribution", summary="Score distribution per region and band", responses=problems(404)
)
def distribution(
    ctx: Ctx, caller: RegulatorCaller, policy: Name, by: Literal["province"] = "province"
) -> regulator.Distribution:
    """Counts per (province, band) with mean and median per province, from the last rebuild;
    cells under 10 persons are suppressed."""
    key = ctx.workspace.policy(policy).key
    return regulator.score_distribution(ctx.workspace.store, key, by=by)


@router.get("/bands", summary="Band shares", responses=problems(404))
def bands(
    ctx: Ctx, caller: RegulatorCaller, policy: Name, by: Literal["province"] | None = None
) -> list[regulator.BandShare]:
    """Each band's share of the population (or of each province)."""
    key = ctx.workspace.policy(policy).key
    return regulator.band_shares(ctx.workspace.store, key, by=by)


@router.get("/disputes", summary="Dispute counts and resolution times per organisation")
def disputes(ctx: Ctx, caller: RegulatorCaller) -> list[regulator.OrgDisputeStats]:
    """Opened, resolved, open, overdue, resolved late, median days to resolve."""
    return regulator.dispute_stats(ctx.workspace.store, ctx.access, ctx.today())
