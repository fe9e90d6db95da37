"""Real databases for the store tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL is the one on this machine (``127.0.0.1:5432``, trust auth, database ``test``;
``MIMICRY_TEST_POSTGRES`` overrides the admin URL). Each use creates its own database and drops
it afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from mimicry.store.database import engine_for

ADMIN_URL = os.environ.get("MIMICRY_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database's SQLAlchemy URL; dropped on exit."""
    name = f"mimicry_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    server = ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql+psycopg://{server}/{name}"
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def store(kind: str, directory: Path) -> Iterator[str]:
    """A store URL of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "postgresql":
        with fresh_postgres() as url:
            yield url
        return
    url = f"sqlite:///{directory / 'store.db'}"
    try:
        yield url
    finally:
        engine_for(url).dispose()
