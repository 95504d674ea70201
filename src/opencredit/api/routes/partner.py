"""Partners read scores under consent; anyone holding a share link sees what it shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from opencredit import access
from opencredit.api.context import Context
from opencredit.api.deps import Ctx, PartnerCaller
from opencredit.api.responses import AUTHENTICATED, problems

router = APIRouter(tags=["partner"])

Name = Annotated[str, Query(min_length=1, max_length=80, description="Policy id or id@version")]
Purpose = Annotated[str, Query(min_length=1, max_length=64, description="Why you read it")]


#: Serialises the hot path's answer in one call (FastAPI's own response validation and
#: serialisation of a returned object costs about as much as the lookup itself).
_SCORE_JSON = TypeAdapter(access.PartnerScore)


@router.get(
    "/scores/{person}",
    summary="Read a person's score (needs their consent)",
    response_model=access.PartnerScore,
    responses={**AUTHENTICATED, **problems(404)},
)
async def read_score(
    request: Request, caller: PartnerCaller, person: str, policy: Name, purpose: Purpose
) -> Response:
    """Only under a live consent for this policy and purpose, which the policy must allow;
    403 and no score otherwise. Every attempt is logged in the person's file."""
    ctx: Context = request.app.state.context  # not a dependency: the busiest route
    args = (ctx.access, ctx.workspace, caller, person, policy, purpose, ctx.today())
    if ctx.reads_on_loop:
        # A database on this machine (SQLite, or PostgreSQL on loopback): its reads take
        # microseconds to a fraction of a millisecond and never wait for a writer, so they
        # run on the event loop, and the inquiry's commit is awaited. A hop to a worker
        # thread and back costs more than the reads, and under load the threads' turns at
        # the GIL put tens of milliseconds into the slowest answers (at 500 req/s, 1M persons,
        # PostgreSQL on loopback: p99 8-10 ms on the loop vs 13-87 ms in a thread).
        found = await access.partner_lookup_async(*args)
    else:  # reads over a network: in a worker thread, so the loop never waits for them
        found = await run_in_threadpool(access.partner_lookup, *args)
    return Response(_SCORE_JSON.dump_json(found), media_type="application/json")


@router.get(
    "/showcase",
    summary="Members who opted in, ranked by band",
    responses={**AUTHENTICATED, **problems(404)},
)
def list_showcase(ctx: Ctx, caller: PartnerCaller, policy: Name) -> list[access.ShowcaseEntry]:
    """Members with a live showcase consent to this partner; a member leaves by revoking."""
    assert caller.subject is not None
    return access.showcase(ctx.access, caller.subject, policy, ctx.workspace, ctx.today())


@router.get(
    "/shared/{token}",
    tags=["public"],
    summary="What a share link shows",
    responses=problems(404, 410, 422),
)
def shared(ctx: Ctx, token: str) -> access.SharedScore:
    """One policy's score and band, nothing else; 404 or 410 for a bad, expired or revoked
    link."""
    return access.shared_score(ctx.access, ctx.secret, token, ctx.workspace, ctx.today())
