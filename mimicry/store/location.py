"""Where the store is, said without its secrets, and bringing its schema up to date: what the
rest of the code may know of the database (docs/design.md §12.1)."""

from __future__ import annotations

import hashlib

from mimicry.settings import Settings, get_settings


def database_url(settings: Settings | None = None) -> str:
    """The store's URL: ``MIMICRY_DATABASE_URL``, else the SQLite file under ``MIMICRY_HOME``."""
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{settings.home / 'mimicry.db'}"


def store_fingerprint(url: str | None = None) -> str:
    """A short digest naming a store without showing its URL (which may hold a password):
    processes compare it to be sure they write to the same store."""
    return hashlib.sha256((url or database_url()).encode()).hexdigest()[:12]


def shown_url(url: str | None = None) -> str:
    """The store's URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url or database_url()).render_as_string(hide_password=True)


def check_database_url(url: str) -> None:
    """ValueError unless SQLAlchemy can read ``url`` (whether its driver is installed is for the
    store to say when it connects)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise ValueError(
            "expected a database URL such as postgresql+psycopg://user@host:5432/db"
        ) from None


def upgrade(url: str | None = None) -> str:
    """Create or migrate the store's tables to the newest schema; the revision it is at."""
    from mimicry.store.database import upgrade as migrate

    return migrate(url)
