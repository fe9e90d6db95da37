"""Ingest: validate a draw file and append it to a stream in one transaction, streaming: the file
is parsed, checked and written batch by batch, so memory does not grow with its length."""

from __future__ import annotations

from mimicry.draws.files import stream_draws
from mimicry.store.database import connect, require_writable
from mimicry.store.streams import IngestReport, append_history, check_history


def ingest_file(
    path: str,
    stream: str,
    *,
    modulus: int,
    session: str | None = None,
    column: str | None = None,
    database_url: str | None = None,
) -> IngestReport:
    """Read ``path`` (same rules and messages as ``mimicry sieve``) and store it as ``stream``.

    Raises :class:`~mimicry.draws.files.DrawFileError` for a bad file,
    :class:`~mimicry.store.streams.StoreConflict` when it disagrees with the stored history and
    :class:`~mimicry.names.BadName` for a name the store cannot keep; either way nothing is
    written.
    """
    draws = stream_draws(path, modulus=modulus, session=session, column=column)
    with connect(database_url) as db:
        return append_history(db, stream, draws, modulus)


def check_ingest(
    path: str,
    stream: str,
    *,
    modulus: int,
    session: str | None = None,
    column: str | None = None,
) -> int:
    """Everything :func:`ingest_file` would refuse, found before any work and without writing
    (the same errors, and :class:`~mimicry.store.database.StoreReadOnly` for a store this command
    could not write to). Returns the file's number of draws."""
    draws = stream_draws(path, modulus=modulus, session=session, column=column)
    with connect(read_only=True) as db:
        require_writable(db)
        return check_history(db, stream, draws, modulus)
