"""What every request works on: the workspace (ledger, policies, engines) and access store."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

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
    #: Filing is one writer at a time on SQLite anyway; the lock keeps waits in-process.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings) -> Context:
        """Open the workspace and the access store named by ``settings``."""
        ws = Workspace(settings.data, database_url=settings.database_url)
        url = settings.database_url or access_url(settings.data)
        return cls(settings, ws, AccessStore(url))

    @property
    def local(self) -> bool:
        """True when the stores are the SQLite file: local reads, never over a network."""
        return self.access.dialect == "sqlite" and not self.settings.database_url

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
        self.access.engine.dispose()
