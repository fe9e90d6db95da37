"""Ingest: validate a draw file and append it to a stream in one transaction."""

from __future__ import annotations

from mimicry.draws import read_draws
from mimicry.store.database import connect
from mimicry.store.streams import IngestReport, append_history


def ingest_file(
    path: str,
    stream: str,
    *,
    modulus: int,
    session: str | None = None,
    column: str | None = None,
    database_url: str | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Read ``path`` (same rules and messages as ``mimicry sieve``) and store it as ``stream``.

    Raises :class:`~mimicry.draws.DrawFileError` for a bad file,
    :class:`~mimicry.store.streams.StoreConflict` when it disagrees with the stored history and
    :class:`~mimicry.names.BadName` for a name the store cannot keep; either way nothing is
    written. ``dry_run``: every check, then roll back (what ``mimicry run`` asks before any
    work, so a conflict is one sentence up front instead of a failed flow run).
    """
    history = read_draws(path, modulus=modulus, session=session, column=column)
    with connect(database_url) as db:
        if not dry_run:
            return append_history(db, stream, history, modulus)
        checked = db.begin_nested()
        try:
            return append_history(db, stream, history, modulus)
        finally:
            checked.rollback()
