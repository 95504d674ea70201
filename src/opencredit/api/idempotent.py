"""``Idempotency-Key`` for writes: the same key and body gets the stored response."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from opencredit.access import Caller, idempotency
from opencredit.api.context import Context

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retry safely: the same key and body get the first response again; the same "
        "key with another body is a 422",
    ),
]


def run_idempotent(
    ctx: Context,
    caller: Caller,
    key: str | None,
    fingerprint: bytes,
    handler: Callable[[], Response],
) -> Response:
    """Run ``handler`` once per (caller, key); replay its response for the same request.

    ``fingerprint`` identifies the request (method, path, body): the same key with another
    fingerprint is a 422. Without a key the handler simply runs. A response is stored whole,
    so one carrying a secret (a new API key) must not come through here.
    """
    if key is None:
        return handler()
    digest = hashlib.sha256(fingerprint).hexdigest()
    stored = idempotency.begin(ctx.access, caller.key_id, key, digest)
    if stored is not None:
        replayed = {"Idempotent-Replayed": "true"}
        if not stored.body:
            return Response(status_code=stored.status, headers=replayed)
        return JSONResponse(json.loads(stored.body), status_code=stored.status, headers=replayed)
    try:
        response = handler()
    except BaseException:
        idempotency.abandon(ctx.access, caller.key_id, key)
        raise
    idempotency.finish(
        ctx.access, caller.key_id, key, response.status_code, bytes(response.body).decode()
    )
    return response


def idempotent(
    ctx: Context,
    caller: Caller,
    key: str | None,
    request: str,
    status: int,
    produce: Callable[[], Any],
) -> Response:
    """Answer ``produce()`` as JSON with ``status`` (204: no body), once per Idempotency-Key.

    ``request`` identifies it: method, path and the body as JSON, say.
    """

    def handler() -> Response:
        result = produce()
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(jsonable_encoder(result), status_code=status)

    return run_idempotent(ctx, caller, key, request.encode(), handler)
