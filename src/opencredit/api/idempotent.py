"""``Idempotency-Key`` for writes: the same key and body gets the stored response."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi.responses import JSONResponse

from opencredit.access import Caller, idempotency
from opencredit.api.context import Context


def run_idempotent(ctx: Context, caller: Caller, key: str | None, fingerprint: bytes,
                   handler: Callable[[], JSONResponse]) -> JSONResponse:
    """Run ``handler`` once per (caller, key); replay its response for the same request.

    ``fingerprint`` identifies the request (method, path, body): the same key with another
    fingerprint is a 422. Without a key the handler simply runs.
    """
    if key is None:
        return handler()
    digest = hashlib.sha256(fingerprint).hexdigest()
    stored = idempotency.begin(ctx.access, caller.key_id, key, digest)
    if stored is not None:
        return JSONResponse(json.loads(stored.body), status_code=stored.status,
                            headers={"Idempotent-Replayed": "true"})
    try:
        response = handler()
    except BaseException:
        idempotency.abandon(ctx.access, caller.key_id, key)
        raise
    idempotency.finish(ctx.access, caller.key_id, key, response.status_code,
                       bytes(response.body).decode())
    return response
