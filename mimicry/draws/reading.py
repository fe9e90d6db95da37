"""Reading draw histories from plain text, CSV and JSON files (docs/design.md §11, §12).

A draw history is a sequence of integers in ``[0, M)``, oldest first, possibly split into
several streams ("sessions", such as midday and evening). The formats, one module each, are
:mod:`~mimicry.draws.text_format` (one integer per line), :mod:`~mimicry.draws.csv_format` (a
header, optional ``date`` and ``session`` columns) and :mod:`~mimicry.draws.json_format` (a list
of integers or of objects ``{"date", "session", "draw"}``).

The format follows the extension (``.txt``, ``.csv``, ``.json``); any other extension is
sniffed from the head of the file: text starting with ``[`` (or ``{``) is JSON, a first line
that holds a header (letters, not a number) is CSV, anything else is plain text.  Files are
UTF-8 (a BOM is allowed; UTF-16 with a BOM is read too); CRLF, LF and CR line endings are all
accepted.

Integers accept surrounding whitespace and a leading ``+`` (a leading ``-`` is read so that
the range error can name the value); floats, hex, exponents and thousands separators are
rejected.  In JSON, only JSON integers are draws: ``true``, ``3.0``, ``"12"`` are rejected.

Dates are ISO ``YYYY-MM-DD`` or full ISO datetimes; within the selected stream each date must
not be older than the previous one (equal dates are allowed).  Datetimes are compared as
datetimes; when either side is a plain date only the calendar dates are compared.
``DrawHistory.dates`` holds them normalised by ``date.isoformat()`` /
``datetime.isoformat()``.

Files are read incrementally, so memory stays bounded whatever their size:
:func:`stream_draws` yields a stream in :class:`DrawBatch` pieces, and :func:`read_draws`
collects them into one :class:`DrawHistory`.  A file with a session column is read twice: once
to learn its sessions, once to yield the chosen one.

Every bad input raises :class:`~mimicry.draws.parsing.DrawFileError`, whose ``str()`` is one
sentence naming the file, the line (1-based, as an editor counts) or the JSON item (0-based),
and what was expected.  The CLI turns it into exit code 2.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from mimicry.draws import csv_format, json_format, text_format
from mimicry.draws.parsing import (
    DateKey,
    Domain,
    DrawFileError,
    Layout,
    Rows,
    checked_positive,
    domain_of,
    normalise_date,
    older,
    place,
    quoted_names,
    text_chunks,
)

__all__ = ["DrawBatch", "DrawHistory", "DrawStream", "read_draws", "sessions_in", "stream_draws"]

# A first content line spelling a number (in any notation) makes a file of unknown extension
# plain text, whatever letters it holds (``1e3``, ``nan``): the text reader names the problem.
_NUMBER_LIKE_RE = re.compile(
    r"[+-]?(?:0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_,. ]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+|"
    r"(?:nan|inf|infinity))",
    re.ASCII | re.IGNORECASE,
)


@dataclass(frozen=True)
class DrawHistory:
    """One stream of draws read from a file, oldest first."""

    values: tuple[int, ...]
    source: str
    session: str | None
    dates: tuple[str, ...] | None
    #: Where each draw stands in the file: its line (text, CSV) or item index (JSON). Not part of
    #: equality: the same history read from two layouts is the same history.
    locations: tuple[int, ...] = field(default=(), compare=False)
    location_kind: str = field(default="line", compare=False)

    def __len__(self) -> int:
        return len(self.values)

    def where(self, index: int) -> str:
        """``Draw file 'x.txt', line 17`` for the draw at ``index`` of this stream."""
        return place(self.source, self.location_kind, self.locations[index])


@dataclass(frozen=True)
class DrawBatch:
    """Consecutive draws of one stream, as :class:`DrawStream` yields them."""

    #: Stream index (0-based, within the chosen session) of ``values[0]``.
    start: int
    values: list[int]
    #: Normalised like ``DrawHistory.dates``; None when the file has no dates.
    dates: list[str] | None
    #: The line (text, CSV) or item (JSON) of each value; a ``range`` when contiguous.
    locations: Sequence[int]


#: What ``session`` and ``column`` of :func:`read_draws` choose, in the words of the CLI's flags
#: and the run form's fields.
SESSION_DESCRIPTION = "Session to read from a multi-session draw file."
COLUMN_DESCRIPTION = "CSV column holding the draws."


def read_draws(
    path: str | os.PathLike[str],
    *,
    modulus: int | None = None,
    domain: Domain | None = None,
    session: str | None = None,
    column: str | None = None,
) -> DrawHistory:
    """Read one stream of draws in ``[0, modulus)`` from ``path``.

    ``session`` selects a stream; it is required when the file holds several sessions and
    optional when it holds one.  ``column`` names the draw column of a CSV file (or the draw
    field of JSON objects).  ``domain`` in place of ``modulus``: draws in another range, or
    decimal numbers (negative integers, 64-bit words and floats for state recovery).  Raises
    :class:`DrawFileError` on any bad input.
    """
    stream = stream_draws(path, modulus=modulus, domain=domain, session=session, column=column)
    values: list[int] = []
    locations: list[int] = []
    dates: list[str] = []
    dated = False
    for batch in stream:
        values += batch.values
        locations += batch.locations
        if batch.dates is not None:
            dated = True
            dates += batch.dates
    return DrawHistory(
        values=tuple(values),
        source=stream.source,
        session=stream.session,
        dates=tuple(dates) if dated else None,
        locations=tuple(locations),
        location_kind=stream.location_kind,
    )


def stream_draws(
    path: str | os.PathLike[str],
    *,
    modulus: int | None = None,
    domain: Domain | None = None,
    session: str | None = None,
    column: str | None = None,
    batch_size: int = 65536,
) -> DrawStream:
    """One stream of draws in ``[0, modulus)`` from ``path``, to iterate in batches.

    Arguments and rules are those of :func:`read_draws`; ``batch_size`` is the number of draws
    in each :class:`DrawBatch` (the last may hold fewer).  Problems that need no more than the
    head of the file (it cannot be read, a missing column or header) and the choice of session
    raise :class:`DrawFileError` here; the others raise while iterating, in place of the batch
    that would hold the bad draw, and an empty file raises once iteration reaches its end.
    """
    domain = domain_of(modulus, domain)
    batch_size = checked_positive("batch_size", batch_size)
    layout, rows = _parse(path, domain=domain, column=column)
    chosen = None
    if layout.has_sessions:
        # The choice (and its messages) needs every session name: a first pass over the file.
        known = _distinct_sessions(rows)
        rows = None
        if known:  # an empty file says so when iterated
            chosen = _choose_session(layout.source, known, session)
    elif session is not None:
        raise DrawFileError(
            f"Draw file '{layout.source}' has no sessions, so session '{session}' cannot be"
            " selected.",
            source=layout.source,
        )
    return DrawStream(
        path, layout, chosen, rows, domain=domain, column=column, batch_size=batch_size
    )


class DrawStream:
    """Iterable of :class:`DrawBatch` for one stream of one file; created by :func:`stream_draws`.

    Each iteration reads the file from its start.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: Layout,
        session: str | None,
        rows: Iterator[Rows] | None,
        *,
        domain: Domain,
        column: str | None,
        batch_size: int,
    ) -> None:
        #: The path as given (same as ``DrawHistory.source``).
        self.source = layout.source
        #: The chosen session, or None when the file has none.
        self.session = session
        #: ``"line"`` or ``"item"``: what the batches' locations count.
        self.location_kind = layout.location_kind
        #: How many draws the stream holds, known once an iteration has read the file to its end
        #: (None before): the caller of a one-pass consumer (an ingest) learns it for free.
        self.count: int | None = None
        self._path = path
        self._layout = layout
        self._rows = rows  # the rows of the parse stream_draws began, for the first iteration
        self._domain = domain
        self._column = column
        self._batch_size = batch_size

    def __iter__(self) -> Iterator[DrawBatch]:
        rows, self._rows = self._rows, None
        if rows is None:
            rows = _parse(self._path, domain=self._domain, column=self._column)[1]
        return self._batches(rows)

    def where(self, location: int) -> str:
        """``Draw file 'x.txt', line 17`` for a draw at ``location`` (a line or an item)."""
        return place(self.source, self.location_kind, location)

    def _batches(self, rows: Iterator[Rows]) -> Iterator[DrawBatch]:
        batcher = _Batcher(self._batch_size, with_dates=self._layout.has_dates)
        order = _DateOrder(self.source, self.location_kind, self.session)
        for piece in rows:
            if self.session is not None:
                piece = piece.of_session(self.session)
            error = None
            dates = None
            if piece.date_keys is not None:
                error = order.check(piece)
                if error is not None:  # the draws before the bad date still go out
                    piece = piece.head(order.good)
                dates = [normalise_date(key) for key in piece.date_keys or ()]
            yield from batcher.add(piece.values, dates, piece.locations)
            if error is not None:
                raise error
        yield from batcher.finish()
        if batcher.start == 0:
            raise DrawFileError(
                f"Draw file '{self.source}' contains no draws{self._layout.empty_detail}.",
                source=self.source,
            )
        self.count = batcher.start


def sessions_in(path: str | os.PathLike[str], *, column: str | None = None) -> list[str]:
    """The sessions ``path`` holds, in first-seen order (``[]`` when it has none).

    The file is parsed as by :func:`read_draws` (so malformed files raise
    :class:`DrawFileError`), except that draws are not checked against a range, an empty
    file gives ``[]`` and dates are not checked for order.
    """
    layout, rows = _parse(path, domain=None, column=column)
    known = _distinct_sessions(rows)
    return known if layout.has_sessions else []


class _Batcher:
    """Cuts the draws of one stream into :class:`DrawBatch` of ``size`` (the last may be short)."""

    def __init__(self, size: int, *, with_dates: bool) -> None:
        self.size = size
        self.start = 0  # stream index of the first draw not yet in a batch
        self._with_dates = with_dates
        self._clear()

    def _clear(self) -> None:
        self._values: list[int] = []
        self._dates: list[str] | None = [] if self._with_dates else None
        self._locations: list[Sequence[int]] = []  # pieces, each a range or a list

    def add(
        self, values: list[int], dates: list[str] | None, locations: Sequence[int]
    ) -> Iterator[DrawBatch]:
        done, count = 0, len(values)
        while done < count:
            take = min(self.size - len(self._values), count - done)
            self._values += values[done : done + take]
            if self._dates is not None and dates is not None:
                self._dates += dates[done : done + take]
            self._locations.append(locations[done : done + take])
            done += take
            if len(self._values) == self.size:
                yield self._cut()

    def finish(self) -> Iterator[DrawBatch]:
        if self._values:
            yield self._cut()

    def _cut(self) -> DrawBatch:
        batch = DrawBatch(self.start, self._values, self._dates, _joined(self._locations))
        self.start += len(self._values)
        self._clear()
        return batch


def _joined(pieces: list[Sequence[int]]) -> Sequence[int]:
    if len(pieces) == 1:
        return pieces[0]
    if all(isinstance(p, range) for p in pieces) and all(
        a[-1] + 1 == b[0] for a, b in itertools.pairwise(pieces)
    ):
        return range(pieces[0][0], pieces[-1][-1] + 1)
    return list(itertools.chain.from_iterable(pieces))


class _DateOrder:
    """Checks, across pieces, that the dates of one stream never go back in time."""

    def __init__(self, source: str, kind: str, session: str | None) -> None:
        self._source = source
        self._kind = kind
        self._session = session
        self._last: tuple[DateKey, str, int] | None = None  # key, text and location
        self.good = 0  # after check() found a problem: how many rows before it are good

    def check(self, rows: Rows) -> DrawFileError | None:
        """The error for the first date older than the one before it, or None."""
        keys, texts, locations = rows.date_keys, rows.date_texts, rows.locations
        assert keys is not None and texts is not None
        if not keys:
            return None
        previous = self._last[0] if self._last is not None else None
        for j, key in enumerate(keys):
            if previous is not None and older(key, previous):
                self.good = j
                if j:
                    before = (texts[j - 1], locations[j - 1])
                else:
                    assert self._last is not None
                    before = self._last[1:]
                return self._error(texts[j], locations[j], *before)
            previous = key
        self._last = (keys[-1], texts[-1], locations[-1])
        return None

    def _error(self, text: str, here: int, previous_text: str, there: int) -> DrawFileError:
        kind = self._kind
        stream = f" in session '{self._session}'" if self._session is not None else ""
        return DrawFileError(
            f"{place(self._source, kind, here)}: date {text.strip()} is older than the"
            f" previous date{stream} ({previous_text.strip()} on {kind} {there}); expected dates"
            " oldest first.",
            source=self._source,
            **{kind: here},
        )


def _distinct_sessions(rows: Iterable[Rows]) -> list[str]:
    """The session names ``rows`` hold, in first-seen order (reads them all)."""
    known: dict[str, None] = {}
    for piece in rows:
        if piece.sessions is not None:
            known.update(dict.fromkeys(piece.sessions))
    return list(known)


def _read_head(chunks: Iterator[str]) -> tuple[list[str], str, str | None]:
    """Reads text up to its first content line (the first neither blank nor a ``#`` comment).

    Returns the pieces read (to be parsed again), the first character that is not whitespace
    (``""`` when there is none) and the content line, stripped (None when there is none).  Text
    that starts with ``[`` or ``{`` is JSON, maybe on one long line: it is read no further.
    """
    read: list[str] = []
    first_char = ""
    line = ""  # the start of the line the last piece ended in
    for chunk in chunks:
        read.append(chunk)
        if not first_char:
            first_char = chunk.lstrip()[:1]
            if first_char in ("[", "{"):
                return read, first_char, None
        start = 0
        while (end := chunk.find("\n", start)) >= 0:
            content = (line + chunk[start:end]).strip()
            line, start = "", end + 1
            if content and not content.startswith("#"):
                return read, first_char, content
        line += chunk[start:]
    content = line.strip()
    return read, first_char, content if content and not content.startswith("#") else None


def _detect_format(src: str, first_char: str, content: str | None) -> str:
    ext = os.path.splitext(src)[1].lower()
    if ext in (".txt", ".csv", ".json"):
        return ext[1:]
    if first_char in ("[", "{"):
        return "json"
    if content is None:
        return "txt"
    content = content.split("#", 1)[0].strip()
    has_letter = any(c.isalpha() for c in content)
    if has_letter and not _NUMBER_LIKE_RE.fullmatch(content):
        return "csv"
    return "txt"


def _parse(
    path: str | os.PathLike[str], *, domain: Domain | None, column: str | None
) -> tuple[Layout, Iterator[Rows]]:
    """Opens ``path`` and reads its head (raising the problems found there); the rows follow."""
    src = os.fsdecode(os.fspath(path))
    chunks = text_chunks(path, src)
    if os.path.splitext(src)[1].lower() in (".txt", ".json"):
        head, first_char, content = list(itertools.islice(chunks, 1)), "", None
    else:
        head, first_char, content = _read_head(chunks)
    fmt = _detect_format(src, first_char, content)
    text = itertools.chain(head, chunks)
    if fmt == "json":
        return json_format.parse_json(src, text, domain, column)
    if fmt == "csv":
        return csv_format.parse_csv(src, text, csv_format.delimiter_of(content), domain, column)
    return text_format.parse_text(src, text, domain, column)


def _choose_session(src: str, known: list[str], session: str | None) -> str:
    if session is None:
        if len(known) == 1:
            return known[0]
        raise DrawFileError(
            f"Draw file '{src}' holds {len(known)} sessions ({quoted_names(known)}); select one"
            " with --session (session= in read_draws).",
            source=src,
        )
    if session in known:
        return session
    folded = [k for k in known if k.casefold() == session.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DrawFileError(
        f"Draw file '{src}' has no session {session!r}; its sessions are {quoted_names(known)}.",
        source=src,
    )
