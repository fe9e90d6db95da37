"""Where the store lives and how to reach it: URL, engine, sessions, migrations.

The default is an embedded SQLite file, ``$MIMICRY_HOME/mimicry.db``; ``MIMICRY_DATABASE_URL``
selects another database (PostgreSQL for a cluster: ``postgresql+psycopg://…``). The schema is
owned by Alembic (``mimicry db upgrade``); :func:`connect` upgrades an empty or older database
by itself, so a first ``mimicry ingest`` on a new machine just works. A store already at
:data:`SCHEMA_REVISION` is used without importing Alembic, which would cost every process
0.13-0.18 s of start-up (measured on 2 cores) for nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mimicry.store.errors import (
    StoreFault,
    StoreLost,
    StoreReadOnly,
    StoreUnreachable,
    StoreUnusable,
)
from mimicry.store.location import database_url, shown_url, store_fingerprint
from mimicry.store.models import VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: Seconds a SQLite writer waits for another one (concurrent runs, Dask workers) before failing.
SQLITE_BUSY_TIMEOUT = 60
#: The newest migration in ``migrations/versions`` (a test keeps the two in step).
SCHEMA_REVISION = "0011"


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the UI, `mimicry status`) work beside one writer; foreign keys are off by
    # default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # IMMEDIATE takes the write lock when the transaction starts. With the driver's deferred
    # default, two writers that both read first deadlock on the lock upgrade and one fails at
    # once ("database is locked") instead of waiting; this way the second simply waits. A
    # read-only session (connect(read_only=True)) takes no lock: in WAL it reads beside writers.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


#: Execution option of a read-only session's connection.
READ_ONLY = "mimicry_read_only"


def _sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for any other database, or an in-memory one), also in
    SQLite's URI form (``sqlite:///file:/path/to.db?mode=ro&uri=true``)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database or ""
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database) if database and database != ":memory:" else None


def _sqlite_read_only(url: str) -> bool:
    """A SQLite URI opened read-only (``mode=ro``, or ``immutable=1``)."""
    query = make_url(url).query
    return query.get("mode") == "ro" or query.get("immutable") == "1"


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


@cache
def engine_for(url: str) -> Engine:
    try:
        return _engine(url)
    except (ImportError, NoSuchModuleError) as error:
        dialect = url.split(":", 1)[0]
        raise StoreUnusable(
            f"MIMICRY_DATABASE_URL: cannot use a {dialect!r} database here ({error}); the store "
            "runs on SQLite or PostgreSQL (postgresql+psycopg://user@host:5432/db)"
        ) from None


def _create_private(path: Path) -> None:
    """Create the store's folder (0700) and its empty file (0600) when they do not exist: the
    store holds decisions, advice and the draws of every stream, for its owner's eyes only.
    SQLite gives its WAL and shared-memory files the database file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None and not _sqlite_read_only(url):
            _create_private(path)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision among the migrations, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at; None for a database mimicry never touched."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


#: Alembic's command API is not thread-safe (it swaps module globals while it runs).
_upgrade_lock = threading.Lock()
#: Any constant: the key of the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK_KEY = 0x6D696D6963727921


def upgrade(url: str | None = None) -> str:
    """Bring the database at ``url`` to the newest schema; returns the revision it is at.

    Safe to call from many threads and processes at once (Dask workers starting together on a
    new store): the migration runs under a lock, and Alembic reads the current revision after
    taking it, so the second caller finds the work done.
    """
    url = url or database_url()
    engine = engine_for(url)
    with _upgrade_lock:
        if current_revision(engine) != SCHEMA_REVISION:
            from alembic import command

            config = alembic_config(url)
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    return SCHEMA_REVISION


@cache
def _session_factory(url: str) -> tuple[sessionmaker[Session], tuple[int, int] | None]:
    """The sessions on ``url``'s store, and the identity of its file (SQLite) once migrated."""
    upgrade(url)
    path = _sqlite_path(url)
    return sessionmaker(engine_for(url), expire_on_commit=False), (
        _file_identity(path) if path else None
    )


_factory_lock = threading.Lock()


def _require_same_file(url: str, identity: tuple[int, int] | None) -> None:
    path = _sqlite_path(url)
    if path is not None and _file_identity(path) != identity:
        raise StoreLost(
            f"the store {path} was deleted or replaced while this command used it; what it "
            "wrote since is lost, so nothing more is written or reported (run it again)"
        )


@contextmanager
def connect(url: str | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """A session on the store, committed when the block ends, rolled back if it raises.

    ``read_only`` sessions take no write lock on SQLite (see :func:`_sqlite_begin`); they must
    not write. On SQLite the file is checked before the commit (one ``stat``): a store deleted
    or replaced under a running command raises :class:`StoreLost` instead of committing into a
    file nobody will ever read."""
    url = url or database_url()
    identity = None
    try:
        with _factory_lock:  # functools.cache would let two threads build (and migrate) at once
            factory, identity = _session_factory(url)
        bind = engine_for(url).execution_options(**{READ_ONLY: True}) if read_only else None
        with factory(**({"bind": bind} if bind else {})) as session, session.begin():
            yield session
            _require_same_file(url, identity)
    except OperationalError as error:
        # A SQLite file deleted under the command fails its next query on a new, empty file:
        # said as what it is (StoreLost), not as the query's error.
        if identity is not None:
            _require_same_file(url, identity)
        # The database's own words, first line: "database is locked", "connection refused".
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise StoreUnreachable(f"cannot use the store at {shown_url(url)}: {reason}") from None


def require_writable(session: Session) -> None:
    """Raise :class:`StoreReadOnly` unless this command may write to the store: checked before a
    run starts, so that it does not fail after minutes of work when its first result is stored.
    """
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite":
        text_url = url.render_as_string(hide_password=False)
        path = _sqlite_path(text_url)
        if path is None:
            return
        if _sqlite_read_only(text_url):
            raise StoreReadOnly(f"the store {path} is opened read-only (mode=ro in its URL)")
        # WAL writes beside the file (-wal, -shm): the folder must take new files too.
        for needed in (path, path.parent):
            if not os.access(needed, os.W_OK):
                raise StoreReadOnly(f"the store {path} cannot be written: {needed} is read-only")
        return
    writable = session.scalar(
        text(
            "SELECT current_setting('transaction_read_only') = 'off' "
            "AND has_table_privilege('draws', 'INSERT') AND has_table_privilege('chunks', 'INSERT')"
        )
    )
    if not writable:
        raise StoreReadOnly(
            f"the store {url.render_as_string(hide_password=True)} is read-only for this user "
            "(a standby server or a role without INSERT on its tables)"
        )


__all__ = [
    "StoreFault",
    "StoreLost",
    "StoreReadOnly",
    "StoreUnreachable",
    "StoreUnusable",
    "connect",
    "database_url",
    "store_fingerprint",
    "upgrade",
]
