"""Settings from the environment (``MIMICRY_*``), named like the CLI flags where both exist."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIMICRY_")

    #: Where the embedded store and local state live.
    home: Path = Field(default_factory=lambda: Path.home() / ".mimicry")
    #: Sieve backend used when a command does not name one.
    backend: str = "cpu"
    #: Candidates per chunk (None: the backend's default).
    chunk_size: int | None = Field(None, ge=1)
    #: Draws compared on each side of the window by the bidirectional check.
    extension_limit: int = Field(64, ge=0)


def get_settings() -> Settings:
    return Settings()
