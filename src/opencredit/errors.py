"""Errors a person can act on: each says what was wrong and what was expected."""

from __future__ import annotations


class OpenCreditError(Exception):
    """Base class of every error the library raises on purpose."""


class InvalidIdentifier(OpenCreditError, ValueError):
    """A resident ID or organisation code that fails validation."""


class RefusedData(OpenCreditError, ValueError):
    """Special-category data (docs/principles.md, principle 5) or a person attribute where
    none may be."""


class UnknownName(OpenCreditError, ValueError):
    """A kind, category, policy, person or organisation that does not exist."""


class PolicyError(OpenCreditError, ValueError):
    """A policy document that cannot be loaded."""


class LedgerError(OpenCreditError, ValueError):
    """A write the ledger refuses (bad correction, conflicting reference, ...)."""


class ConcurrentFiling(LedgerError):
    """A batch met a record that a concurrent batch filed after the batch was checked (the
    same ref of the same organisation, or a correction of the same record); nothing of the
    batch was written, and checking it again sees the other batch's records."""


class PoliciesChanged(LedgerError):
    """A policy was installed after a filing's factor state was prepared (by another process,
    say): nothing of the filing was written; reload the policies and file again."""
