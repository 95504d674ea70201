"""The error responses each route documents, so the OpenAPI schema lists every status it sends."""

from __future__ import annotations

from typing import Any

from opencredit.api.schemas import Problem

DESCRIPTIONS = {
    401: "No API key, or an unknown or revoked one",
    403: "Your role, or the person's consent, does not allow this",
    404: "No such object among yours, or no such policy",
    409: "The object is not in a state that allows this, a request with the same "
    "Idempotency-Key is still running, or concurrent batches kept filing the same refs first "
    "(send it again)",
    410: "The share link expired or was revoked",
    413: "The request body is over the server's limit",
    422: "The request is invalid; the detail says what was expected",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: each status with the :class:`Problem` body."""
    return {code: {"model": Problem, "description": DESCRIPTIONS[code]} for code in codes}


#: Every route behind an API key: no key (401), wrong role (403), invalid input (422).
AUTHENTICATED = problems(401, 403, 422)
#: Routes that take a request body.
WITH_BODY = problems(413)
