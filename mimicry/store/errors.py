"""What the store says when it cannot do what was asked: one sentence each, no SQL in sight
(docs/design.md §12.1). The CLI maps them to exit codes: a :class:`StoreUnusable` setting or
a :class:`StoreConflict` input is bad input (2); a :class:`StoreFault` is the store's (3)."""

from __future__ import annotations


class StoreUnusable(ValueError):
    """The store's URL names a database this installation cannot reach (its driver is missing);
    the message names ``MIMICRY_DATABASE_URL``."""


class StoreConflict(ValueError):
    """Draws that disagree with what the store holds (another modulus, a different draw), or a
    stream that does not exist; ``str()`` says which, in one sentence."""


class StoreFault(RuntimeError):
    """The store exists but cannot serve this command (not the input's fault: the CLI's exit 3);
    ``str()`` is one sentence naming the store and what is wrong."""


class StoreLost(StoreFault):
    """The store's file was deleted or replaced while this process used it. SQLite keeps writing
    into the deleted file without complaint, so everything written since is gone: no result may
    be reported as stored."""


class StoreReadOnly(StoreFault):
    """The store can be read but not written (file permissions, a read-only database role or
    server)."""


class StoreUnreachable(RuntimeError):
    """The database refused or dropped the connection, or failed the operation (a server down,
    a file locked too long, a corrupt file). Unlike a :class:`StoreFault` it may pass: a task
    retries it. The CLI's exit 3 as well."""
