"""Server settings, from the environment (``OPENCREDIT_*``) or arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opencredit.access.shares import MIN_SECRET_BYTES

DEVELOPMENT_SECRET = "development-only-share-secret-change-me"


class Settings(BaseSettings):
    """Where the data is, how share links are signed, and request limits."""

    model_config = SettingsConfigDict(env_prefix="OPENCREDIT_", extra="ignore")

    data: Path = Field(default=Path("opencredit-data"), description="The data directory.")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; default: the SQLite file in the data directory."
    )
    environment: str = Field(default="development", description="development or production.")
    # As long as the share links' own minimum (in bytes; each character is at least one), so
    # that a short secret is refused at startup rather than by every share link made.
    share_secret: str = Field(
        default=DEVELOPMENT_SECRET,
        min_length=MIN_SECRET_BYTES,
        description="Key that signs share links (at least 32 characters).",
    )
    threads: int = Field(
        default=16,
        ge=1,
        le=256,
        description="Threads per server process for blocking work; each keeps a database "
        "connection of its own (PostgreSQL: about threads + 20 connections per worker).",
    )
    reads_on_loop: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Where a partner's score read runs its database reads: on the event loop "
        "(on), in a worker thread (off), or on the loop when the database is on this machine "
        "(auto: SQLite, or PostgreSQL over a Unix socket or loopback).",
    )
    max_body_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest request body accepted."
    )

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment != "development" and self.share_secret == DEVELOPMENT_SECRET:
            raise ValueError(
                "set OPENCREDIT_SHARE_SECRET: the development default signs share "
                "links only in development"
            )
        return self
