"""Admins create and revoke API keys."""

from __future__ import annotations

from fastapi import APIRouter

from opencredit import access
from opencredit.api.deps import AdminCaller, Ctx
from opencredit.api.responses import AUTHENTICATED, WITH_BODY, problems
from opencredit.api.schemas import KeyIn, KeyOut

router = APIRouter(prefix="/admin", tags=["admin"], responses=AUTHENTICATED)


@router.post("/keys", status_code=201, summary="Create an API key (shown once)",
             responses={**problems(404), **WITH_BODY})
def create(ctx: Ctx, caller: AdminCaller, body: KeyIn) -> KeyOut:
    """A key bound to a role and, for persons and organisations, to its subject."""
    new, token = access.create_key(ctx.access, body.role, body.subject, body.label,
                                   ledger=ctx.workspace.store)
    return KeyOut(key_id=new.key_id, role=new.role.value, subject=new.subject, token=token)


@router.get("/keys", summary="Every key (no secrets)")
def keys(ctx: Ctx, caller: AdminCaller) -> list[access.KeyInfo]:
    """Key ids, roles, subjects, labels, creation and revocation times."""
    return access.list_keys(ctx.access)


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke a key",
               responses=problems(404))
def revoke(ctx: Ctx, caller: AdminCaller, key_id: str) -> None:
    """The key stops working at once."""
    access.revoke_key(ctx.access, key_id)
