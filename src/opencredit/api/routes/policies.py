"""Published policies: public, since nothing about a score may be secret."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from opencredit.api.deps import Ctx
from opencredit.api.responses import problems

router = APIRouter(prefix="/policies", tags=["policies"])


class BandOut(BaseModel):
    """A named score range."""

    name: str
    min: int
    max: int


class PolicyOut(BaseModel):
    """A policy's summary and its full published document."""

    key: str
    id: str
    version: int
    name: str
    range: tuple[int, int]
    purposes: list[str]
    bands: list[BandOut]
    document: str


@router.get("", summary="Every installed policy")
def list_policies(ctx: Ctx) -> list[PolicyOut]:
    """Every installed policy with its published document."""
    return [_out(ctx, key) for key in sorted(ctx.workspace.policies)]


@router.get("/{name}", summary="One policy", responses=problems(404, 422))
def get_policy(ctx: Ctx, name: str) -> PolicyOut:
    """A policy by ``id`` (latest version) or ``id@version``."""
    return _out(ctx, ctx.workspace.policy(name).key)


def _out(ctx: Ctx, key: str) -> PolicyOut:
    p = ctx.workspace.policies[key]
    return PolicyOut(
        key=p.key,
        id=p.id,
        version=p.version,
        name=p.name,
        range=p.range,
        purposes=list(p.purposes),
        bands=[BandOut(name=b.name, min=b.min, max=b.max) for b in p.bands],
        document=ctx.workspace.store.policy_documents()[key],
    )
