"""Streams and their draws: append a history idempotently, read it back.

A draw file holds a stream's history from its first draw, oldest first, so file draw ``i`` is
stream position ``i``. Ingesting a file therefore either changes nothing (the store already
holds all of it), appends its newer tail, or is refused because it disagrees with the stored
history, naming the first differing draw. All of it happens in the caller's transaction: a
refused file writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mimicry.draws import DrawHistory
from mimicry.names import check_source_path, check_stream_name
from mimicry.store.models import Draw, Stream


class StoreConflict(ValueError):
    """The input disagrees with what the store holds; ``str()`` is one sentence saying how."""


@dataclass(frozen=True)
class IngestReport:
    stream: str
    #: Draws appended by this ingest.
    added: int
    #: Draws the stream holds afterwards.
    total: int


def get_stream(session: Session, name: str) -> Stream | None:
    return session.scalar(select(Stream).where(Stream.name == name))


def require_stream(session: Session, name: str) -> Stream:
    stream = get_stream(session, name)
    if stream is None:
        known = session.scalars(select(Stream.name).order_by(Stream.name)).all()
        raise StoreConflict(
            f"stream {name!r} does not exist; known streams: {', '.join(known) or 'none'}"
        )
    return stream


def _get_or_create(session: Session, name: str, modulus: int) -> Stream:
    """The stream, locked for this transaction (PostgreSQL: the row; SQLite: the whole
    database already is), so two ingests of one stream append one after the other. A name
    the store cannot keep is refused (:mod:`mimicry.names`) before anything is written."""
    check_stream_name(name)
    stream = session.scalar(select(Stream).where(Stream.name == name).with_for_update())
    if stream is None:
        # Another process may create the same stream at the same moment: the unique name
        # decides, and the loser uses the winner's row.
        try:
            with session.begin_nested():
                stream = Stream(name=name, modulus=modulus)
                session.add(stream)
        except IntegrityError:
            stream = session.scalar(select(Stream).where(Stream.name == name).with_for_update())
            assert stream is not None
    if stream.modulus != modulus:
        raise StoreConflict(
            f"stream {name!r} holds draws in [0, {stream.modulus}), but this input's modulus is "
            f"{modulus}; use --modulus {stream.modulus} or another --stream"
        )
    return stream


def stored_values(session: Session, stream: Stream) -> list[int]:
    return list(
        session.scalars(
            select(Draw.value).where(Draw.stream_id == stream.id).order_by(Draw.position)
        )
    )


def draw_count(session: Session, stream: Stream) -> int:
    """How many draws the store holds for ``stream`` (counted by the database, none loaded)."""
    return session.scalar(select(func.count()).where(Draw.stream_id == stream.id)) or 0


def append_history(session: Session, name: str, history: DrawHistory, modulus: int) -> IngestReport:
    """Store ``history`` as stream ``name``'s draws from position 0 (see the module doc)."""
    if history.source:
        check_source_path(history.source)
    stream = _get_or_create(session, name, modulus)
    stored = stored_values(session, stream)
    for position, (old, new) in enumerate(zip(stored, history.values, strict=False)):
        if old != new:
            raise StoreConflict(
                f"{history.where(position)} is {new}, but stream {name!r} already holds {old} "
                f"at position {position}; nothing was ingested"
            )
    new_positions = range(len(stored), len(history.values))
    dates = history.dates
    session.add_all(
        Draw(
            stream_id=stream.id,
            position=position,
            value=history.values[position],
            date=dates[position] if dates else None,
            source=history.source,
        )
        for position in new_positions
    )
    # A concurrent ingest of the same stream hits the (stream, position) primary key here and
    # its transaction fails as a whole; the caller may simply retry it.
    session.flush()
    return IngestReport(stream=name, added=len(new_positions), total=max(len(stored), len(history)))


def append_draws(
    session: Session, name: str, values: Sequence[int], modulus: int, source: str
) -> IngestReport:
    """Append ``values`` after the stream's newest draw (a new draw reported by hand)."""
    stream = _get_or_create(session, name, modulus)
    total = session.scalar(select(func.count()).where(Draw.stream_id == stream.id)) or 0
    for offset, value in enumerate(values):
        if not 0 <= value < modulus:
            raise StoreConflict(f"draw {value} is outside [0, {modulus}) of stream {name!r}")
        session.add(Draw(stream_id=stream.id, position=total + offset, value=value, source=source))
    session.flush()
    return IngestReport(stream=name, added=len(values), total=total + len(values))
