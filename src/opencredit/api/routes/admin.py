"""Admins create and revoke API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from opencredit import access
from opencredit.api.deps import AdminCaller, Ctx
from opencredit.api.idempotent import IdempotencyKey, idempotent
from opencredit.api.responses import AUTHENTICATED, WITH_BODY, problems
from opencredit.api.schemas import KeyIn, KeyOut

router = APIRouter(prefix="/admin", tags=["admin"], responses=AUTHENTICATED)


@router.post(
    "/keys",
    status_code=201,
    summary="Create an API key (shown once)",
    responses={**problems(404), **WITH_BODY},
)
def create(ctx: Ctx, caller: AdminCaller, body: KeyIn) -> KeyOut:
    """A key bound to a role and, for persons and organisations, to its subject.

    No Idempotency-Key here: replaying the response would mean storing the key's secret."""
    new, token = access.create_key(
        ctx.access, body.role, body.subject, body.label, ledger=ctx.workspace.store
    )
    return KeyOut(key_id=new.key_id, role=new.role.value, subject=new.subject, token=token)


@router.get("/keys", summary="Every key (no secrets)")
def keys(ctx: Ctx, caller: AdminCaller) -> list[access.KeyInfo]:
    """Key ids, roles, subjects, labels, creation and revocation times."""
    return access.list_keys(ctx.access)


@router.delete(
    "/keys/{key_id}", status_code=204, summary="Revoke a key", responses=problems(404, 409)
)
def revoke(
    ctx: Ctx,
    caller: AdminCaller,
    key_id: Annotated[str, Path(max_length=32)],
    idempotency_key: IdempotencyKey = None,
) -> None:
    """The key stops working at once."""
    return idempotent(  # type: ignore[return-value]
        ctx,
        caller,
        idempotency_key,
        f"DELETE /admin/keys/{key_id}",
        204,
        lambda: access.revoke_key(ctx.access, key_id),
    )
