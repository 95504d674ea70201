"""The FastAPI application: routers per resource, errors as JSON a person can act on."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from opencredit import __version__
from opencredit.access import AccessError
from opencredit.api.context import Context
from opencredit.api.routes import admin, filing, partner, person, policies, provider, regulator
from opencredit.api.settings import Settings
from opencredit.errors import (
    ConcurrentFiling,
    InvalidIdentifier,
    OpenCreditError,
    RefusedData,
    UnknownName,
)

DESCRIPTION = """
The opencredit API. Every party uses it with an API key (`Authorization: Bearer oc_...`)
bound to a role: **person**, **data_provider**, **scoring_provider**, **partner**,
**regulator**, **admin**. The server enforces the person's rights: a person sees only their
own file; a partner reads a score only under a live consent whose purpose the policy allows,
and every read is logged in the person's file; a data provider files only in its licensed
domains; the regulator sees aggregates only. Policies are public.
"""


def create_app(
    settings: Settings | None = None, context: Context | None = None, *, server: bool = False
) -> FastAPI:
    """The app over the data directory (and database) named by ``settings``.

    ``server``: the app is the process's whole life (``opencredit serve``), so what exists
    once it has started is frozen out of the garbage collector's full collections, which
    otherwise scan it all (30 ms measured here at 1M persons, stalling every request in
    flight). Not for an app embedded in a longer-lived process, such as the tests."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.context is None
        if owned:
            app.state.context = Context.open(settings)
        # Each thread that runs a blocking route keeps a database connection: bound them
        # (anyio's default is 40 per process, which ran PostgreSQL out of connections).
        to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if server:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if owned:
                app.state.context.close()
                app.state.context = None

    app = FastAPI(
        title="opencredit", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.context = context
    # Routes are matched in order: the partner read, the busiest, first.
    for module in (partner, policies, person, filing, provider, regulator, admin):
        app.include_router(module.router)
    app.add_exception_handler(OpenCreditError, _library_error)
    for data_error in _data_errors():
        app.add_exception_handler(data_error, _unstorable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    """The app over the settings in the environment (``OPENCREDIT_*``): the factory that
    ``opencredit serve --workers N`` hands to uvicorn, which imports it in each worker."""
    return create_app(Settings(), server=True)


def _status(exc: OpenCreditError) -> int:
    if isinstance(exc, AccessError):
        return exc.status
    if isinstance(exc, UnknownName):
        return 404
    if isinstance(exc, ConcurrentFiling):  # concurrent batches kept filing its refs first
        return 409
    if isinstance(exc, InvalidIdentifier | RefusedData):
        return 422
    return 422


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenCreditError)
    return JSONResponse({"detail": str(exc)}, status_code=_status(exc))


def _data_errors() -> tuple[type[Exception], ...]:
    """The database driver's "data exception" errors (SQLSTATE class 22), raw and as
    SQLAlchemy wraps them: a value PostgreSQL cannot store, such as text with a NUL."""
    import psycopg
    import sqlalchemy.exc

    return psycopg.DataError, sqlalchemy.exc.DataError


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value in the request that the database refused to store: the request's fault, so
    422 naming the problem (the store wrote nothing: the statement failed whole)."""
    cause = getattr(exc, "orig", None) or exc
    message = (str(cause).strip().splitlines() or ["a value cannot be stored"])[0][:300]
    if "NUL" in message or "0x00" in message:
        message = "text may not contain the NUL character (U+0000)"
    return JSONResponse(
        {"detail": f"a value in the request cannot be stored: {message}"}, status_code=422
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's own errors; a body that cannot be parsed is a 422, like
    malformed JSON, with the reason (FastAPI says only "There was an error parsing the body")."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 400:
        return await http_exception_handler(request, exc)
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        detail = (
            f"the request body is not UTF-8 text (byte {cause.start}: {cause.reason}); "
            "send JSON encoded as UTF-8"
        )
    elif cause is not None and str(cause):
        detail = f"the request body cannot be read: {cause}"
    else:
        detail = f"the request body cannot be read: {exc.detail}"
    return JSONResponse({"detail": detail}, status_code=422)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_problem(err) for err in exc.errors()]
    lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse({"detail": f"invalid request: {lines}", "errors": errors}, status_code=422)


def _field_problem(err: dict) -> dict[str, str]:
    """One validation error as {field, message, type}, saying where and what was expected."""
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    message = err.get("msg", "")
    if kind == "json_invalid":
        # FastAPI's loc is ("body", offset) and its msg a bare "JSON decode error".
        offset = loc[1] if len(loc) > 1 else None
        reason = (err.get("ctx") or {}).get("error", "")
        where = f" at character {offset}" if isinstance(offset, int) else ""
        return {
            "field": "body",
            "message": f"not valid JSON{where}: {reason}".rstrip(": "),
            "type": kind,
        }
    where = ".".join(str(p) for p in loc if p != "body") or "body"
    if kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}; check its spelling against the schema"
    return {"field": where, "message": message, "type": kind}


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
                    raise _TooLarge(self.limit)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(self.limit, send)


class _TooLarge(HTTPException):
    """Raised while the body is read: an HTTPException, so FastAPI answers it with 413 instead
    of wrapping it in a 400 "error parsing the body" (as it does any other exception)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_detail(limit))


def _too_large_detail(limit: int) -> str:
    return f"request body over the limit of {limit:,} bytes; send less per request"


async def _too_large(limit: int, send: Send) -> None:
    response = JSONResponse({"detail": _too_large_detail(limit)}, status_code=413)
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
