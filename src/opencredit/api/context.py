"""What every request works on: the workspace (ledger, policies, engines) and access store."""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy.engine import URL

from opencredit.access import AccessStore, access_url
from opencredit.api.settings import Settings
from opencredit.clock import today
from opencredit.workspace import Workspace


@dataclass
class Context:
    """Opened once per app; shared by the request threads."""

    settings: Settings
    workspace: Workspace
    access: AccessStore
    #: Disputes and corrections, and filing on SQLite (one writer at a time anyway), take
    #: turns in-process; see :attr:`filing_lock`.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings) -> Context:
        """Open the workspace and the access store named by ``settings``."""
        ws = Workspace(settings.data, database_url=settings.database_url)
        url = settings.database_url or access_url(settings.data)
        return cls(settings, ws, AccessStore(url))

    @property
    def filing_lock(self) -> AbstractContextManager:
        """What a filing holds: on SQLite :attr:`write_lock` (one writer at a time anyway;
        waiting here is cheaper than in SQLite's busy handler); on PostgreSQL nothing, so that
        one batch is checked while another is appended (appends take turns in the database,
        and a ref filed meanwhile makes the batch be checked again, see ``ledger.ingest``)."""
        return self.write_lock if self.access.dialect == "sqlite" else nullcontext()

    @property
    def reads_on_loop(self) -> bool:
        """Whether a score read runs its reads on the event loop (see ``Settings``)."""
        if self.settings.reads_on_loop != "auto":
            return self.settings.reads_on_loop == "on"
        return is_local(self.access.url)

    @property
    def secret(self) -> bytes:
        """The key that signs share links."""
        return self.settings.share_secret.encode()

    @staticmethod
    def today() -> dt.date:
        """Today (``OPENCREDIT_TODAY`` pins it)."""
        return today()

    def close(self) -> None:
        """Close the stores."""
        self.workspace.close()
        self.access.close()


#: Host names that are this machine.
_LOOPBACK = {"localhost", "::1", "[::1]"}


def is_local(url: URL) -> bool:
    """True if the database at ``url`` is on this machine: a SQLite file, or PostgreSQL over a
    Unix socket (no host, or a host that is a directory) or a loopback address. A read from it
    takes a fraction of a millisecond and crosses no network."""
    if url.get_backend_name() == "sqlite":
        return True
    hosts = url.query.get("host") or url.host or ""
    if isinstance(hosts, tuple):
        hosts = ",".join(hosts)
    return all(
        not h or h.startswith("/") or h in _LOOPBACK or h.startswith("127.")
        for h in hosts.split(",")
    )
