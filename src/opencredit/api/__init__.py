"""The HTTP API: FastAPI over the same library and data directory as the CLI.

``create_app`` builds the app; ``opencredit serve`` runs it on uvicorn. One router per
resource under ``routes/``; the caller and their role come from ``deps``.
"""

from opencredit.api.app import create_app

__all__ = ["create_app"]
