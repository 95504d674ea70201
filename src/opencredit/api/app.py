"""The FastAPI application: routers per resource, errors as JSON a person can act on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from opencredit import __version__
from opencredit.access import AccessError
from opencredit.api.context import Context
from opencredit.api.routes import admin, filing, partner, person, policies, provider, regulator
from opencredit.api.settings import Settings
from opencredit.errors import InvalidIdentifier, OpenCreditError, RefusedData, UnknownName

DESCRIPTION = """
The opencredit API. Every party uses it with an API key (`Authorization: Bearer oc_...`)
bound to a role: **person**, **data_provider**, **scoring_provider**, **partner**,
**regulator**, **admin**. The server enforces the person's rights: a person sees only their
own file; a partner reads a score only under a live consent whose purpose the policy allows,
and every read is logged in the person's file; a data provider files only in its licensed
domains; the regulator sees aggregates only. Policies are public.
"""


def create_app(settings: Settings | None = None, context: Context | None = None) -> FastAPI:
    """The app over the data directory (and database) named by ``settings``."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.context is None
        if owned:
            app.state.context = Context.open(settings)
        try:
            yield
        finally:
            if owned:
                app.state.context.close()
                app.state.context = None

    app = FastAPI(title="opencredit", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.context = context
    for module in (policies, person, filing, partner, provider, regulator, admin):
        app.include_router(module.router)
    app.add_exception_handler(OpenCreditError, _library_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app


def _status(exc: OpenCreditError) -> int:
    if isinstance(exc, AccessError):
        return exc.status
    if isinstance(exc, UnknownName):
        return 404
    if isinstance(exc, InvalidIdentifier | RefusedData):
        return 422
    return 422


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenCreditError)
    return JSONResponse({"detail": str(exc)}, status_code=_status(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
         "message": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse({"detail": f"invalid request: {lines}", "errors": errors},
                        status_code=422)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before reading them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(self.limit, send)
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(self.limit, send)


class _TooLarge(Exception):
    pass


async def _too_large(limit: int, send: Send) -> None:
    response = JSONResponse({"detail": f"request body over the limit of {limit:,} bytes"},
                            status_code=413)
    await send({"type": "http.response.start", "status": 413,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
