"""What a process needs of its environment before the settings model is loaded (docs/design.md
§3): whether any ``MIMICRY_*`` variable is set, the default home, and Prefect's defaults.

A process whose environment sets no ``MIMICRY_*`` variable runs on the defaults, which cannot
be wrong: the CLI then starts without the settings model (pydantic-settings, a sixth of a second
of every command) and loads it only where a command reads a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The prefix of every setting's variable (``MIMICRY_HOME``, ``MIMICRY_HEALTH__LEARN_MARGIN``).
PREFIX = "MIMICRY_"

#: Prefect settings mimicry's commands default differently (a user's own value always wins).
#: The ephemeral API server migrates its database on first start, which takes longer than
#: Prefect's 20 s on a small machine; telemetry only logs errors on rigs without internet.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def sets_any_setting(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``environ`` sets a ``MIMICRY_*`` variable (one the settings must check)."""
    return any(name.startswith(PREFIX) for name in environ)


def default_home() -> Path:
    """``MIMICRY_HOME`` where it is not set: where the embedded store and local state live."""
    return Path.home() / ".mimicry"


def apply_prefect_defaults(home: Path, database_url: str | None) -> None:
    """Set :data:`PREFECT_DEFAULTS` where unset; call before Prefect is imported. On the
    embedded default (no ``MIMICRY_DATABASE_URL``) Prefect's persisted task results live beside
    the store, under ``home``, instead of ``~/.prefect/storage`` where every home's results
    would meet."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if database_url is None:
        os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(home / "prefect-results"))
