"""Settings from the environment (``MIMICRY_*``), named like the CLI flags where both exist."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIMICRY_")

    #: Where the embedded store and local state live.
    home: Path = Field(default_factory=lambda: Path.home() / ".mimicry")
    #: Where the cpu backend keeps its specialised kernels and numba's compiled copies of them.
    kernel_cache: Path = Field(default_factory=lambda: _user_cache() / "mimicry" / "kernels")
    #: Sieve backend used when a command does not name one.
    backend: str = "cpu"
    #: Candidates per chunk (None: the backend's default).
    chunk_size: int | None = Field(None, ge=1)
    #: Draws compared on each side of the window by the bidirectional check.
    extension_limit: int = Field(64, ge=0)


def get_settings() -> Settings:
    return Settings()
