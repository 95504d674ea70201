"""Published policies: public, since nothing about a score may be secret; published by their
owner (a scoring provider) or an admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from opencredit.access import Caller, Role
from opencredit.api.deps import Ctx, require
from opencredit.api.responses import AUTHENTICATED, WITH_BODY, problems
from opencredit.policies.model import Policy

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


class PolicyIn(BaseModel):
    """A policy document to publish."""

    model_config = ConfigDict(extra="forbid")

    document: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200_000,
            description="The policy's TOML document, exactly as it is to be published",
        ),
    ]


class PublishedOut(PolicyOut):
    """The policy as installed; ``new`` is False when this very document was installed
    already (nothing changed)."""

    new: bool


#: Who publishes: a scoring provider (its own policies only) or an admin.
PublisherCaller = Annotated[Caller, Depends(require(Role.SCORING_PROVIDER, Role.ADMIN))]


@router.get("", summary="Every installed policy")
def list_policies(ctx: Ctx) -> list[PolicyOut]:
    """Every installed policy with its published document."""
    return [_out(ctx, key) for key in sorted(ctx.workspace.policies)]


@router.get("/{name}", summary="One policy", responses=problems(404, 422))
def get_policy(ctx: Ctx, name: str) -> PolicyOut:
    """A policy by ``id`` (latest version) or ``id@version``."""
    return _out(ctx, ctx.workspace.policy(name).key)


@router.post(
    "",
    status_code=201,
    summary="Publish a policy version (its owner or an admin)",
    responses={**AUTHENTICATED, **problems(409), **WITH_BODY},
)
def publish(ctx: Ctx, caller: PublisherCaller, body: PolicyIn, response: Response) -> PublishedOut:
    """Install a policy version and build its factor state: 201, or 200 when this very
    document is installed already. Refused, with nothing installed: any error `policy lint`
    reports (422); a policy whose `owner` is not the calling scoring provider, or an id whose
    earlier versions name another owner (403; 409 for an admin); a different document under an
    installed `id@version`, since a published version never changes (409)."""
    installed = ctx.workspace.publish_policy(body.document, "document", publisher=caller)
    if not installed.new:
        response.status_code = 200
    out = _policy_out(installed.policy, body.document)  # the document stored: the same text
    return PublishedOut(**out.model_dump(), new=installed.new)


def _out(ctx: Ctx, key: str) -> PolicyOut:
    return _policy_out(ctx.workspace.policies[key], ctx.workspace.store.policy_documents()[key])


def _policy_out(p: Policy, document: str) -> PolicyOut:
    return PolicyOut(
        key=p.key,
        id=p.id,
        version=p.version,
        name=p.name,
        range=p.range,
        purposes=list(p.purposes),
        bands=[BandOut(name=b.name, min=b.min, max=b.max) for b in p.bands],
        document=document,
    )
