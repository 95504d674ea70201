"""Today's date, in one place, so runs can be pinned (``OPENCREDIT_TODAY=2026-01-31``)."""

from __future__ import annotations

import datetime as dt
import os

EPOCH = dt.date(1970, 1, 1)


def today() -> dt.date:
    """Today, or the date in ``OPENCREDIT_TODAY`` when set (for reproducible runs)."""
    pinned = os.environ.get("OPENCREDIT_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def to_days(day: dt.date) -> int:
    """Days since 1970-01-01 (how the store keeps dates)."""
    return (day - EPOCH).days


def from_days(days: int) -> dt.date:
    """The date ``days`` after 1970-01-01."""
    return EPOCH + dt.timedelta(days=days)
