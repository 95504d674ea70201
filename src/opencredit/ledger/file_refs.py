"""What a file being filed has used so far: every ref with the line that first used it, and
every corrected record with the line that corrects it.

A file is validated chunk by chunk (:mod:`opencredit.ledger.stream`); a ref repeated a million
lines later, or a second correction of one record, must still be named with the first line.
The index lives in a private temporary SQLite database (on disk past its page cache), so it
holds a file of any size in bounded memory; it is gone when closed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

#: Page cache of the index, in KiB (negative: SQLite's convention for a size).
_CACHE_KIB = 16 << 10


class FileRefs:
    """Refs (and corrected records) seen so far in one file, with their first line."""

    def __init__(self) -> None:
        # "": a private database in a temporary file, deleted on close
        self.db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self.db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE refs (ref TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")
        self.db.execute("CREATE TABLE targets (seq INTEGER PRIMARY KEY, line INTEGER)")
        self.empty = True

    def first_lines(self, refs: Iterable[str]) -> dict[str, int]:
        """Of ``refs``, those seen before, with the line that first used each."""
        if self.empty:
            return {}
        wanted = json.dumps(list(refs))
        rows = self.db.execute(
            "SELECT r.ref, r.line FROM json_each(?) w CROSS JOIN refs r ON r.ref = w.value",
            (wanted,),
        )
        return dict(rows)

    def add(self, refs: list[str], lines: list[int]) -> None:
        """Note each ref's first line (refs seen before keep theirs)."""
        if refs:
            self.db.execute("BEGIN")  # one transaction, not one per row
            self.db.executemany(
                "INSERT OR IGNORE INTO refs VALUES (?, ?)", zip(refs, lines, strict=True)
            )
            self.db.execute("COMMIT")
            self.empty = False

    def correcting_line(self, seq: int) -> int | None:
        """The line that corrects record ``seq``, if one does."""
        row = self.db.execute("SELECT line FROM targets WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def add_correction(self, seq: int, line: int) -> None:
        """Note that ``line`` corrects record ``seq``."""
        self.db.execute("INSERT OR IGNORE INTO targets VALUES (?, ?)", (seq, line))

    def close(self) -> None:
        """Drop the index."""
        self.db.close()
