"""Server settings, from the environment (``OPENCREDIT_*``) or arguments."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-share-secret-change-me"


class Settings(BaseSettings):
    """Where the data is, how share links are signed, and request limits."""

    model_config = SettingsConfigDict(env_prefix="OPENCREDIT_", extra="ignore")

    data: Path = Field(default=Path("opencredit-data"), description="The data directory.")
    database_url: str | None = Field(default=None, description="PostgreSQL URL; default: "
                                     "the SQLite file in the data directory.")
    environment: str = Field(default="development",
                             description="development or production.")
    share_secret: str = Field(default=DEVELOPMENT_SECRET, min_length=16,
                              description="Key that signs share links.")
    max_body_bytes: int = Field(default=50 * 1024 * 1024, gt=0,
                                description="Largest request body accepted.")

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment != "development" and self.share_secret == DEVELOPMENT_SECRET:
            raise ValueError("set OPENCREDIT_SHARE_SECRET: the development default signs share "
                             "links only in development")
        return self
