"""Errors of the access layer, each with the HTTP status the API should answer with.

They subclass :class:`opencredit.errors.OpenCreditError`, so the CLI and the API can catch the
library's errors in one place; ``status`` saves the API from a mapping table of its own.
"""

from __future__ import annotations

from opencredit.errors import OpenCreditError


class AccessError(OpenCreditError):
    """Base class of the access layer's errors."""

    #: HTTP status the API answers with.
    status: int = 400


class InvalidRequest(AccessError, ValueError):
    """Input that breaks a rule (a purpose the policy does not allow, a date in the past, ...)."""

    status = 422


class AccessDenied(AccessError, PermissionError):
    """The caller may not do this; nothing was shown or written (beyond the inquiry log)."""

    status = 403


class NotFound(AccessError, LookupError):
    """No such object among the caller's own (another's objects are reported the same way)."""

    status = 404


class Conflict(AccessError):
    """The object is not in a state that allows this (already revoked, decided, open, ...)."""

    status = 409


class ShareInvalid(AccessError):
    """A share link that cannot be shown; ``reason`` says why.

    ``reason`` is one of ``malformed``, ``unknown``, ``signature``, ``expired``, ``revoked``.
    """

    status = 404

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        if reason in ("expired", "revoked"):
            self.status = 410


class IdempotencyConflict(AccessError):
    """An ``Idempotency-Key`` reused with a different request body."""

    status = 422


class IdempotencyInProgress(AccessError):
    """A request with the same ``Idempotency-Key`` is still being processed."""

    status = 409
