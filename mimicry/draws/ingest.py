"""Ingest: validate a draw file and append it to a stream in one transaction, streaming: the file
is parsed, checked and written batch by batch, so memory does not grow with its length
(docs/design.md §12, §13)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mimicry.draws import stream_draws
from mimicry.store import streams as store
from mimicry.store.streams import IngestReport


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

    Raises :class:`~mimicry.draws.DrawFileError` for a bad file,
    :class:`~mimicry.store.errors.StoreConflict` when it disagrees with the stored history and
    :class:`~mimicry.names.BadName` for a name the store cannot keep; either way nothing is
    written.
    """
    draws = stream_draws(path, modulus=modulus, session=session, column=column)
    return store.ingest(stream, draws, modulus, url=database_url)


@dataclass(frozen=True)
class FileIngest:
    """What an ingest in progress read: its report, and the draws the file itself holds."""

    report: IngestReport
    file_draws: int


@contextmanager
def ingesting(
    path: str,
    stream: str,
    *,
    modulus: int,
    session: str | None = None,
    column: str | None = None,
) -> Iterator[FileIngest]:
    """:func:`ingest_file` in a transaction that commits when the caller's block ends: the block
    sees what the file held and may still refuse the command, and whatever it raises rolls the
    ingest back, so a refused command writes nothing. ``mimicry run`` parses its file this once.

    Raises what :func:`ingest_file` raises, and :class:`~mimicry.store.errors.StoreReadOnly`
    before the file is read when this command could not write to the store.
    """
    draws = stream_draws(path, modulus=modulus, session=session, column=column)
    with store.ingesting(stream, draws, modulus) as report:
        assert draws.count is not None  # the ingest read the file to its end
        yield FileIngest(report, draws.count)
