"""An SQLite too old for the embedded store is refused with a message that says what to do."""

from __future__ import annotations

import sqlite3

import pytest

from opencredit.errors import LedgerError
from opencredit.ledger.sqlite_store import SQLiteStore


def test_an_sqlite_too_old_for_the_store_is_refused_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.37.2")
    with pytest.raises(LedgerError, match=r"SQLite 3\.37\.2 is too old.*3\.38\.0 or newer"):
        SQLiteStore(tmp_path / "ledger.sqlite")
    assert not (tmp_path / "ledger.sqlite").exists()  # nothing written


def test_this_sqlite_is_new_enough(tmp_path):
    SQLiteStore(tmp_path / "ledger.sqlite").close()
    assert sqlite3.sqlite_version_info >= (3, 38, 0)
