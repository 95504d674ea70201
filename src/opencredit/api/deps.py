"""Dependencies: the context, the authenticated caller, and role guards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from opencredit.access import Caller, Role, authenticate
from opencredit.api.context import Context

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer oc_...`")


async def get_context(request: Request) -> Context:
    """The app's context. ``async`` since it does no I/O: FastAPI runs a plain ``def``
    dependency in a worker thread, a hop that costs more than the dependency itself."""
    return request.app.state.context


Ctx = Annotated[Context, Depends(get_context)]


async def get_caller(
    ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Caller:
    """The caller named by the bearer token; 401 without a valid one.

    ``async``, so it runs on the event loop: the key read is one indexed row that never waits
    for a writer (SQLite WAL, PostgreSQL MVCC), about 0.1 ms, less than the hop to a worker
    thread that a plain ``def`` dependency costs (measured: see docs/benchmarks.md)."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "an API key is required: Authorization: Bearer oc_...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = authenticate(ctx.access, credentials.credentials, ledger=ctx.workspace.store)
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that admits only callers in ``roles`` (403 otherwise)."""
    allowed = ", ".join(r.value for r in roles)

    async def guard(caller: CurrentCaller) -> Caller:  # no I/O: no worker-thread hop
        if caller.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the role {allowed}; your key is {caller.role.value}",
            )
        return caller

    return guard


PersonCaller = Annotated[Caller, Depends(require(Role.PERSON))]
ProviderCaller = Annotated[Caller, Depends(require(Role.DATA_PROVIDER))]
ScoringCaller = Annotated[Caller, Depends(require(Role.SCORING_PROVIDER))]
PartnerCaller = Annotated[Caller, Depends(require(Role.PARTNER))]
RegulatorCaller = Annotated[Caller, Depends(require(Role.REGULATOR))]
AdminCaller = Annotated[Caller, Depends(require(Role.ADMIN))]
