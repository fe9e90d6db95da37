"""Read draw histories from plain text, CSV and JSON files (DESIGN §1, §7).

A draw history is a sequence of integers in ``[0, M)``, oldest first, possibly split into
several streams ("sessions", such as midday and evening).  Three formats are read:

* **plain text**: one integer per line; ``#`` starts a comment (whole-line or trailing);
  blank lines are ignored.
* **CSV with a header**: the draw column is ``draw``, ``value``, ``number`` or ``result``
  (case-insensitive, first one present in that order), or the only column; ``column=``
  overrides.  Optional ``date`` and ``session`` columns; a ``session`` column splits the
  file into streams.  Blank lines and lines starting with ``#`` are skipped.  The delimiter
  is a comma, or a tab or semicolon when the header has one of those and no comma.
* **JSON**: a list of integers, or a list of objects ``{"date", "session", "draw"}``
  (``date`` and ``session`` optional, but then absent from every object).

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

Every bad input raises :class:`DrawFileError`, whose ``str()`` is one sentence naming the
file, the line (1-based, as an editor counts) or the JSON item (0-based), and what was
expected.  The CLI turns it into exit code 2.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import json
import math
import operator
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

__all__ = [
    "DRAW_COLUMN_NAMES",
    "Domain",
    "DrawBatch",
    "DrawFileError",
    "DrawHistory",
    "DrawStream",
    "read_draws",
    "sessions_in",
    "stream_draws",
]

#: Column names (case-insensitive) recognised as the draw column of a CSV file, by priority.
DRAW_COLUMN_NAMES: tuple[str, ...] = ("draw", "value", "number", "result")
_DATE_NAME = "date"
_SESSION_NAME = "session"
_JSON_DRAW_KEY = "draw"

_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_MAX_INT_DIGITS = 1000  # longer digit strings are reported as out of range without int()
_NUMBER_LIKE_RE = re.compile(
    r"[+-]?(?:0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_,. ]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+|"
    r"(?:nan|inf|infinity))",
    re.ASCII | re.IGNORECASE,
)
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_ISO_DATE_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.ASCII,
)
_SHOW_MAX = 40
_DATE_CACHE_SIZE = 4096  # daily histories repeat each date once per session

_CHUNK_BYTES = 1 << 18  # bytes read at a time: per-block costs amortised, memory kept small
_PIECE_ROWS = 4096  # CSV records or JSON items handed on together
_DIGIT_LINES_RE = re.compile(r"[0-9\n]*")  # a block that may take the plain-text fast path
_JSON_WS_RE = re.compile(r"[ \t\n\r]*")  # JSON's own whitespace, as json.decoder skips it
# JSON integers, each followed by a comma (not taken): the items of a list that can be read
# without the JSON decoder.  An integer cut by the end of the buffer has no comma yet.
_JSON_INTEGER_RUN_RE = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:[ \t\n\r]*,[ \t\n\r]*-?(?:0|[1-9][0-9]*))*[ \t\n\r]*(?=,)"
)
# How far past a JSON item the buffer must reach before the item is trusted: a number or
# literal cut by the end of the buffer would otherwise read as a shorter one (or as an error).
_JSON_LOOKAHEAD = 16


class DrawFileError(ValueError):
    """A draw file that cannot be read as asked; ``str()`` is one sentence saying why.

    ``source`` is the file path as given; ``line`` (1-based) or ``item`` (0-based JSON list
    index) locate the problem when it has a location.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        item: int | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.item = item


@dataclass(frozen=True)
class Domain:
    """What one draw may be: an integer in ``[low, high)``, or with ``floats`` also a decimal
    number there (the doubles ``Math.random()`` and ``random.random()`` print)."""

    low: int
    high: int
    floats: bool = False

    def holds(self, value: int | float) -> bool:
        return self.low <= value < self.high

    @property
    def expected(self) -> str:
        return "a number draw" if self.floats else "an integer draw"

    def outside(self, token: str) -> str:
        """Says that the number ``token`` spells lies outside the domain."""
        token = token.strip()
        if len(token) > _SHOW_MAX:
            shown = token[: _SHOW_MAX - 1] + "…"
        else:
            shown = token if self.floats and _parse_int_token(token) is None else str(int(token))
        return f"value {shown} is outside the range [{self.low}, {self.high})"


def _domain_of(modulus: int | None, domain: Domain | None) -> Domain:
    if (modulus is None) == (domain is None):
        raise ValueError("give exactly one of modulus and domain")
    return domain if domain is not None else Domain(0, _checked_positive("modulus", modulus))


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
        return _where(self.source, self.location_kind, self.locations[index])


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


# --------------------------------------------------------------------------------------------
# public API


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
    domain = _domain_of(modulus, domain)
    batch_size = _checked_positive("batch_size", batch_size)
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
        layout: _Layout,
        session: str | None,
        rows: Iterator[_Rows] | None,
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
        return _where(self.source, self.location_kind, location)

    def _batches(self, rows: Iterator[_Rows]) -> Iterator[DrawBatch]:
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
                dates = [_normalise_date(key) for key in piece.date_keys or ()]
            yield from batcher.add(piece.values, dates, piece.locations)
            if error is not None:
                raise error
        yield from batcher.finish()
        if batcher.start == 0:
            raise DrawFileError(
                f"Draw file '{self.source}' contains no draws{self._layout.empty_detail}.",
                source=self.source,
            )


def sessions_in(path: str | os.PathLike[str], *, column: str | None = None) -> list[str]:
    """The sessions ``path`` holds, in first-seen order (``[]`` when it has none).

    The file is parsed as by :func:`read_draws` (so malformed files raise
    :class:`DrawFileError`), except that draws are not checked against a range, an empty
    file gives ``[]`` and dates are not checked for order.
    """
    layout, rows = _parse(path, domain=None, column=column)
    known = _distinct_sessions(rows)
    return known if layout.has_sessions else []


# --------------------------------------------------------------------------------------------
# what parsing hands on


DateKey = tuple[date, datetime | None]


@dataclass(frozen=True)
class _Layout:
    """What the head of a file says about the rows that follow it."""

    source: str
    location_kind: str  # "line" or "item"
    has_sessions: bool
    has_dates: bool
    empty_detail: str  # ends the "contains no draws" sentence


@dataclass
class _Rows:
    """Consecutive draws read from a file (of every session), with where each stands."""

    values: list[int]
    locations: Sequence[int]  # lines (text, CSV) or items (JSON), a range when contiguous
    sessions: list[str] | None = None
    date_texts: list[str] | None = None  # as written, for messages
    date_keys: list[DateKey] | None = None

    def of_session(self, name: str) -> _Rows:
        assert self.sessions is not None
        if self.sessions.count(name) == len(self.sessions):
            return self
        keep = [i for i, s in enumerate(self.sessions) if s == name]
        return _Rows(
            values=[self.values[i] for i in keep],
            locations=_as_locations([self.locations[i] for i in keep]),
            sessions=[name] * len(keep),
            date_texts=None if self.date_texts is None else [self.date_texts[i] for i in keep],
            date_keys=None if self.date_keys is None else [self.date_keys[i] for i in keep],
        )

    def head(self, count: int) -> _Rows:
        return _Rows(
            values=self.values[:count],
            locations=self.locations[:count],
            sessions=None if self.sessions is None else self.sessions[:count],
            date_texts=None if self.date_texts is None else self.date_texts[:count],
            date_keys=None if self.date_keys is None else self.date_keys[:count],
        )


def _as_locations(locations: list[int]) -> Sequence[int]:
    """``locations`` (increasing) as a range when they are contiguous: smaller, faster to copy."""
    if locations and locations[-1] - locations[0] == len(locations) - 1:
        return range(locations[0], locations[-1] + 1)
    return locations


class _RowsBuilder:
    """Collects draws one at a time (CSV records, JSON items) into :class:`_Rows` pieces."""

    def __init__(self, *, with_sessions: bool, with_dates: bool) -> None:
        self._with_sessions = with_sessions
        self._with_dates = with_dates
        self._start()

    def _start(self) -> None:
        self.values: list[int] = []
        self.locations: list[int] = []
        self.sessions: list[str] | None = [] if self._with_sessions else None
        self.date_texts: list[str] | None = [] if self._with_dates else None
        self.date_keys: list[DateKey] | None = [] if self._with_dates else None

    def take(self) -> _Rows:
        rows = _Rows(
            self.values,
            _as_locations(self.locations),
            self.sessions,
            self.date_texts,
            self.date_keys,
        )
        self._start()
        return rows


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

    def check(self, rows: _Rows) -> DrawFileError | None:
        """The error for the first date older than the one before it, or None."""
        keys, texts, locations = rows.date_keys, rows.date_texts, rows.locations
        assert keys is not None and texts is not None
        if not keys:
            return None
        previous = self._last[0] if self._last is not None else None
        for j, key in enumerate(keys):
            if previous is not None and _older(key, previous):
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
            f"{_where(self._source, kind, here)}: date {text.strip()} is older than the"
            f" previous date{stream} ({previous_text.strip()} on {kind} {there}); expected dates"
            " oldest first.",
            source=self._source,
            **{kind: here},
        )


def _distinct_sessions(rows: Iterable[_Rows]) -> list[str]:
    """The session names ``rows`` hold, in first-seen order (reads them all)."""
    known: dict[str, None] = {}
    for piece in rows:
        if piece.sessions is not None:
            known.update(dict.fromkeys(piece.sessions))
    return list(known)


# --------------------------------------------------------------------------------------------
# parsing: common pieces


def _checked_positive(name: str, number: int) -> int:
    try:
        if isinstance(number, bool):
            raise TypeError
        number = operator.index(number)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {number!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {number!r}")
    return number


def _where(src: str, kind: str, n: int) -> str:
    return f"Draw file '{src}', {kind} {n}"


def _show(text: str) -> str:
    """A token quoted for a message, shortened when long."""
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return repr(text)


def _show_names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"


def _text_chunks(path: str | os.PathLike[str], src: str) -> Iterator[str]:
    """The text of a file, decoded piece by piece, with the BOM dropped and every line end
    (CRLF, CR, LF) turned into ``"\\n"``.

    A byte that does not decode raises :class:`DrawFileError` naming its line.
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 (the with below closes it)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DrawFileError(f"Draw file '{src}' cannot be read: {reason}.", source=src) from exc
    with fh:
        raw = fh.read(max(_CHUNK_BYTES, len(codecs.BOM_UTF8)))
        if raw.startswith(codecs.BOM_UTF16_LE):
            encoding, label, raw = "utf-16-le", "UTF-16", raw[2:]
        elif raw.startswith(codecs.BOM_UTF16_BE):
            encoding, label, raw = "utf-16-be", "UTF-16", raw[2:]
        else:
            encoding, label = "utf-8", "UTF-8"
            if raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0  # line ends in the text handed on so far
        held = ""  # a final "\r" kept back: a "\n" may start the next piece
        # The bytes in pieces, then None to flush the decoder.
        reads = itertools.chain([raw], iter(functools.partial(fh.read, _CHUNK_BYTES), b""), [None])
        for raw in reads:
            final = raw is None
            try:
                text = decoder.decode(raw or b"", final)
            except UnicodeDecodeError as exc:
                good = exc.object[: exc.start].decode(encoding)
                line = lines + _line_ends(held + good) + 1
                bad = exc.object[exc.start : exc.start + 1].hex()
                raise DrawFileError(
                    f"{_where(src, 'line', line)}: byte 0x{bad} is not valid {label};"
                    " expected a UTF-8 text file.",
                    source=src,
                    line=line,
                ) from exc
            if held:
                text, held = held + text, ""
            if "\r" in text:
                if text.endswith("\r") and not final:
                    text, held = text[:-1], "\r"
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            if text:
                lines += text.count("\n")
                yield text


def _line_ends(text: str) -> int:
    return text.replace("\r\n", "\n").count("\n") + text.replace("\r\n", "").count("\r")


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


def _pick_delimiter(content: str | None) -> str:
    if content is None or "," in content:
        return ","
    if "\t" in content:
        return "\t"
    if ";" in content:
        return ";"
    return ","


def _parse(
    path: str | os.PathLike[str], *, domain: Domain | None, column: str | None
) -> tuple[_Layout, Iterator[_Rows]]:
    """Opens ``path`` and reads its head (raising the problems found there); the rows follow."""
    src = os.fsdecode(os.fspath(path))
    chunks = _text_chunks(path, src)
    if os.path.splitext(src)[1].lower() in (".txt", ".json"):
        head, first_char, content = list(itertools.islice(chunks, 1)), "", None
    else:
        head, first_char, content = _read_head(chunks)
    fmt = _detect_format(src, first_char, content)
    text = itertools.chain(head, chunks)
    if fmt == "json":
        return _parse_json(src, text, domain, column)
    if fmt == "csv":
        return _parse_csv(src, text, _pick_delimiter(content), domain, column)
    if column is not None:
        raise DrawFileError(
            f"Draw file '{src}' is plain text with one draw per line, so column '{column}'"
            " cannot be selected; expected a CSV file with a header.",
            source=src,
        )
    layout = _Layout(src, "line", False, False, " (expected one integer per line)")
    return layout, _plain_rows(src, text, domain)


def _line_blocks(chunks: Iterable[str]) -> Iterator[tuple[int, str]]:
    """``(number of its first line, text)`` for runs of whole lines, each ending in ``"\\n"``
    (except perhaps the last line of the file)."""
    line = 1
    carry = ""  # a line begun in the previous piece
    for chunk in chunks:
        end = chunk.rfind("\n") + 1
        if not end:
            carry += chunk
            continue
        block = carry + chunk[:end] if carry else chunk[:end]
        carry = chunk[end:]
        yield line, block
        line += block.count("\n")
    if carry:
        yield line, carry


def _parse_int_token(token: str) -> int | None:
    """The integer ``token`` spells (already stripped), or None when it is not one."""
    if _INT_RE.fullmatch(token) is None:
        return None
    if len(token) > _MAX_INT_DIGITS:  # int() refuses very long strings
        sign = "-" if token.startswith("-") else ""
        digits = token.lstrip("+-").lstrip("0") or "0"
        if len(digits) > _MAX_INT_DIGITS:  # any such value is out of range
            return -1 if sign else (1 << 64) ** 64
        token = sign + digits
    return int(token)


def _parse_number(token: str, domain: Domain | None) -> int | float | None:
    """The integer ``token`` spells, or with a float domain the finite decimal number; None
    when it is neither."""
    value = _parse_int_token(token)
    if value is None and domain is not None and domain.floats and _FLOAT_RE.fullmatch(token):
        return float(token)
    return value


def _at(src: str, kind: str, n: int, message: str) -> DrawFileError:
    """The error for a problem at line ``n`` or item ``n`` (``kind``) of ``src``."""
    return DrawFileError(f"{_where(src, kind, n)}: {message}.", source=src, **{kind: n})


def _parse_date(text: str, cache: dict[str, DateKey]) -> DateKey | None:
    """The parsed ISO date or datetime ``text`` spells, or None when it spells none."""
    key = cache.get(text)
    if key is not None:
        return key
    token = text.strip()
    if not _ISO_DATE_RE.fullmatch(token):
        return None
    try:
        if len(token) == 10:
            key = (date.fromisoformat(token), None)
        else:
            moment = datetime.fromisoformat(token)
            key = (moment.date(), moment)
    except ValueError:
        return None
    if len(cache) >= _DATE_CACHE_SIZE:
        cache.clear()
    cache[text] = key
    return key


def _date_problem(text: str) -> str:
    token = text.strip()
    if not token:
        return "expected an ISO date (YYYY-MM-DD), found an empty field"
    return f"date {_show(token)} is not a valid ISO date (expected YYYY-MM-DD or an ISO datetime)"


@functools.lru_cache(maxsize=_DATE_CACHE_SIZE)
def _normalise_date(key: DateKey) -> str:
    day, moment = key
    return moment.isoformat() if moment is not None else day.isoformat()


def _older(cur: DateKey, prev: DateKey) -> bool:
    cur_day, cur_t = cur
    prev_day, prev_t = prev
    if cur_t is None or prev_t is None:
        return cur_day < prev_day
    if (cur_t.tzinfo is None) != (prev_t.tzinfo is None):
        return cur_t.replace(tzinfo=None) < prev_t.replace(tzinfo=None)
    return cur_t < prev_t


def _choose_session(src: str, known: list[str], session: str | None) -> str:
    if session is None:
        if len(known) == 1:
            return known[0]
        raise DrawFileError(
            f"Draw file '{src}' holds {len(known)} sessions ({_show_names(known)}); select one"
            " with --session (session= in read_draws).",
            source=src,
        )
    if session in known:
        return session
    folded = [k for k in known if k.casefold() == session.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DrawFileError(
        f"Draw file '{src}' has no session {session!r}; its sessions are {_show_names(known)}.",
        source=src,
    )


# --------------------------------------------------------------------------------------------
# plain text


def _plain_rows(src: str, text: Iterable[str], domain: Domain | None) -> Iterator[_Rows]:
    for first_line, block in _line_blocks(text):
        rows = _plain_digits_block(block, first_line, domain)
        if rows is not None:
            yield rows
            continue
        rows, error = _plain_block(src, block, first_line, domain)
        if rows.values:
            yield rows
        if error is not None:
            raise error


def _plain_digits_block(block: str, first_line: int, domain: Domain | None) -> _Rows | None:
    """The fast path: a block of plain ASCII integers in range, one per line, and nothing else
    (no blank lines, comments, signs or spaces).  None when the block is anything else."""
    if not block.endswith("\n"):
        block += "\n"
    if block.startswith("\n") or "\n\n" in block or not _DIGIT_LINES_RE.fullmatch(block):
        return None
    lines = block.split("\n")
    lines.pop()  # the "" after the last line end
    try:
        values = list(map(int, lines))
    except ValueError:  # a number too long for int(): the exact path says what to do
        return None
    if domain is not None and not (domain.holds(min(values)) and domain.holds(max(values))):
        return None
    return _Rows(values, range(first_line, first_line + len(values)))


def _plain_block(
    src: str, block: str, first_line: int, domain: Domain | None
) -> tuple[_Rows, DrawFileError | None]:
    """Every line of ``block`` read by the rules; the draws before a bad line, and its error."""
    values: list[int | float] = []
    locs: list[int] = []
    append = values.append
    error = None
    for number, line in enumerate(block.split("\n"), first_line):
        if "#" in line:
            line = line[: line.index("#")]
        token = line.strip()
        if not token:
            continue
        if token.isdigit() and token.isascii() and len(token) < 20:
            value = int(token)
        else:
            parsed = _parse_number(token, domain)
            if parsed is None:
                expected = domain.expected if domain is not None else "an integer draw"
                error = _at(src, "line", number, f"expected {expected}, found {_show(token)}")
                break
            value = parsed
        if domain is not None and not domain.holds(value):
            error = _at(src, "line", number, domain.outside(token))
            break
        append(value)
        locs.append(number)
    return _Rows(values, _as_locations(locs)), error


# --------------------------------------------------------------------------------------------
# CSV


def _blank(row: list[str]) -> bool:
    return all(not cell.strip() for cell in row)


def _numbered_rows(reader: Any, done: list[int]) -> Iterator[tuple[int, list[str]]]:
    """``(line, row)`` for each CSV record, where ``line`` is the record's first line.

    Empty lines and lines starting with ``#`` are left out; rows of blanks are not (the
    caller checks for them only when a row does not look like data, to stay fast).
    ``done[0]`` is kept at the number of lines fully read, to place a CSV syntax error.
    """
    last = 0
    for row in reader:
        line = last + 1
        last = done[0] = reader.line_num
        if not row:
            continue
        first = row[0]
        if "#" in first and first.lstrip().startswith("#"):
            continue
        yield line, row


def _csv_error(src: str, done: list[int], exc: csv.Error) -> DrawFileError:
    line = done[0] + 1  # the record that failed starts after the last one read
    error = _at(src, "line", line, f"the file is not valid CSV ({exc})")
    error.__cause__ = exc
    return error


def _parse_csv(
    src: str, text: Iterable[str], delimiter: str, domain: Domain | None, column: str | None
) -> tuple[_Layout, Iterator[_Rows]]:
    lines = (line for _, block in _line_blocks(text) for line in io.StringIO(block, newline=""))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    done = [0]
    rows = _numbered_rows(reader, done)
    # The header: the first row that is not blank.
    try:
        first = next(((n, r) for n, r in rows if not _blank(r)), None)
    except csv.Error as exc:
        raise _csv_error(src, done, exc) from exc
    if first is None:
        return _Layout(src, "line", False, False, ""), iter(())
    header_line, row = first
    header = [cell.strip() for cell in row]
    while header and not header[-1]:
        header.pop()
    if all(_parse_number(cell, domain) is not None for cell in header):
        # No header: one column of numbers reads like a text file.
        if len(header) != 1:
            raise _at(
                src,
                "line",
                header_line,
                "expected a header row naming the columns (such as draw, date, session),"
                f" found {_show(','.join(header))}",
            )
        if column is not None:
            raise DrawFileError(
                f"Draw file '{src}' has no header row, so column '{column}' cannot be"
                " selected; expected a header naming the columns.",
                source=src,
            )
        columns = _CsvColumns(["(first column)"], draw=0, date=-1, session=-1)
        layout = _Layout(src, "line", False, False, "")
        rows = itertools.chain([(header_line, row)], rows)
    else:
        columns = _csv_columns(src, header_line, header, column)
        layout = _Layout(
            src,
            "line",
            columns.session >= 0,
            columns.date >= 0,
            f" (only a header on line {header_line})",
        )
    return layout, _csv_data_rows(src, rows, done, columns, domain)


@dataclass(frozen=True)
class _CsvColumns:
    """The header's names and the indices of the draw, date and session columns (-1: none)."""

    names: list[str]
    draw: int
    date: int
    session: int


def _csv_data_rows(
    src: str,
    rows: Iterator[tuple[int, list[str]]],
    done: list[int],
    columns: _CsvColumns,
    domain: Domain | None,
) -> Iterator[_Rows]:
    names, draw_i, date_i, session_i = columns.names, columns.draw, columns.date, columns.session
    width = len(names)
    date_cache: dict[str, DateKey] = {}
    out = _RowsBuilder(with_sessions=session_i >= 0, with_dates=date_i >= 0)
    error: DrawFileError | None = None
    try:
        for line, row in rows:
            if len(row) != width:
                if _blank(row):
                    continue
                if len(row) < width or not _blank(row[width:]):
                    raise _at(
                        src,
                        "line",
                        line,
                        f"expected {width} field{'s' if width != 1 else ''}"
                        f" ({_show_names(names)}), found {len(row)}",
                    )
            token = row[draw_i].strip()
            if token.isdigit() and token.isascii() and len(token) < 20:
                value = int(token)
            else:
                parsed = _parse_number(token, domain)
                if parsed is None:
                    if not token and _blank(row):
                        continue
                    found = _show(token) if token else "an empty field"
                    expected = domain.expected if domain is not None else "an integer draw"
                    raise _at(
                        src,
                        "line",
                        line,
                        f"expected {expected} in column {names[draw_i]!r}, found {found}",
                    )
                value = parsed
            if domain is not None and not domain.holds(value):
                raise _at(src, "line", line, domain.outside(token))
            name = ""
            if session_i >= 0:
                name = row[session_i].strip()
                if not name:
                    raise _at(
                        src,
                        "line",
                        line,
                        f"expected a session name in column {names[session_i]!r},"
                        " found an empty field",
                    )
            key = None
            if date_i >= 0:
                key = _parse_date(row[date_i], date_cache)
                if key is None:
                    raise _at(src, "line", line, _date_problem(row[date_i]))
            out.values.append(value)
            out.locations.append(line)
            if out.sessions is not None:
                out.sessions.append(name)
            if out.date_keys is not None and out.date_texts is not None and key is not None:
                out.date_keys.append(key)
                out.date_texts.append(row[date_i])
            if len(out.values) >= _PIECE_ROWS:
                yield out.take()
    except csv.Error as exc:
        error = _csv_error(src, done, exc)
    except DrawFileError as exc:
        error = exc
    rest = out.take()  # the draws before a bad record still go out, then its error
    if rest.values:
        yield rest
    if error is not None:
        raise error


def _csv_columns(src: str, line: int, header: list[str], column: str | None) -> _CsvColumns:
    folded: dict[str, int] = {}
    for i, name in enumerate(header):
        folded.setdefault(name.casefold(), i)
    if column is not None:
        draw_i = folded.get(column.strip().casefold(), -1)
        if draw_i < 0:
            raise DrawFileError(
                f"{_where(src, 'line', line)}: there is no column {column!r};"
                f" found columns {_show_names(header)}.",
                source=src,
                line=line,
            )
    elif len(header) == 1:
        draw_i = 0
    else:
        draw_i = next((folded[n] for n in DRAW_COLUMN_NAMES if n in folded), -1)
        if draw_i < 0:
            raise DrawFileError(
                f"{_where(src, 'line', line)}: no draw column; expected one named"
                f" {', '.join(DRAW_COLUMN_NAMES[:-1])} or {DRAW_COLUMN_NAMES[-1]} (or chosen"
                f" with --column), found columns {_show_names(header)}.",
                source=src,
                line=line,
            )
    date_i = folded.get(_DATE_NAME, -1)
    session_i = folded.get(_SESSION_NAME, -1)
    return _CsvColumns(
        header,
        draw=draw_i,
        date=-1 if date_i == draw_i else date_i,
        session=-1 if session_i == draw_i else session_i,
    )


# --------------------------------------------------------------------------------------------
# JSON


class _JsonNumber(str):
    """A JSON float (or NaN/Infinity) kept as its source text, for rejection messages."""


_NO_ITEM = object()


class _JsonScanner:
    """A JSON document read piece by piece, whose top-level list is decoded one item at a time.

    Syntax errors are those ``json.loads`` gives for the whole text, at the same line and
    column: the buffer keeps where in the text it starts.
    """

    def __init__(self, src: str, chunks: Iterator[str]) -> None:
        self._src = src
        self._chunks = chunks
        self._decoder = json.JSONDecoder(parse_float=_JsonNumber, parse_constant=_JsonNumber)
        self._buf = ""
        self._pos = 0  # where scanning stands in _buf
        self._keep: int | None = None  # a position before _pos that _more must not drop
        self._eof = False
        self._line = 1  # the line of _buf[0] in the text
        self._column = 0  # characters before _buf[0] on that line

    def starts_list(self) -> bool:
        """Moves past the ``[`` that opens the document; False when it opens something else."""
        if self._skip_whitespace() != "[":
            return False
        self._pos += 1
        return True

    def item_runs(self) -> Iterator[list[object]]:
        """The items of the list just opened, in runs of one or more; then checks that nothing
        but whitespace follows the list."""
        if self._skip_whitespace() != "]":
            while True:
                run = self._integer_run()
                if run:
                    yield run  # and _pos is at the comma after the run
                else:
                    yield [self._item()]
                    char = self._skip_whitespace()
                    if char == "]":
                        break
                    if char != ",":
                        raise self._syntax_error(
                            "Expecting ',' delimiter", self._position(self._pos)
                        )
                self._keep = self._pos  # the comma stays in the buffer, for the error below
                self._pos += 1
                char = self._skip_whitespace()
                comma, self._keep = self._keep, None
                if char == "]":
                    raise self._trailing_comma_error(comma)
        self._pos += 1
        if self._skip_whitespace():
            raise self._syntax_error("Extra data", self._position(self._pos))

    def _integer_run(self) -> list[object]:
        """The fast path: plain integers from _pos that are each followed by a comma, decoded
        together (JSON's integer syntax is a subset of int()'s); [] when there are none."""
        match = _JSON_INTEGER_RUN_RE.match(self._buf, self._pos)
        if match is None:
            return []
        try:
            run: list[object] = list(map(int, match[0].split(",")))
        except ValueError as exc:  # an integer longer than Python's int-from-string limit
            raise self._too_long() from exc
        self._pos = match.end()
        return run

    def document(self) -> object:
        """The whole document, read at once and decoded as ``json.loads`` does."""
        self._more(1 << 62)
        try:
            return json.loads(self._buf, parse_float=_JsonNumber, parse_constant=_JsonNumber)
        except json.JSONDecodeError as exc:
            raise self._syntax_error(exc.msg, self._position(exc.pos)) from exc
        except RecursionError as exc:
            raise self._too_deep() from exc
        except ValueError as exc:  # an integer longer than Python's int-from-string limit
            raise self._too_long() from exc

    def _item(self) -> object:
        while True:
            buf, pos = self._buf, self._pos
            try:
                value, end = self._decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                # An item cut by the end of the buffer fails too: read on and decode it again.
                cut = exc.pos + _JSON_LOOKAHEAD >= len(buf) or exc.msg.startswith("Unterminated")
                if cut and not self._eof:
                    self._more(len(buf) - pos)
                    continue
                raise self._syntax_error(exc.msg, self._position(exc.pos)) from exc
            except RecursionError as exc:
                raise self._too_deep() from exc
            except ValueError as exc:  # an integer longer than Python's int-from-string limit
                raise self._too_long() from exc
            if end + _JSON_LOOKAHEAD > len(buf) and not self._eof:
                self._more(len(buf) - pos)  # a number at the end of the buffer may go on
                continue
            self._pos = end
            return value

    def _skip_whitespace(self) -> str:
        """Moves past whitespace; the character there, or ``""`` at the end of the text."""
        while True:
            match = _JSON_WS_RE.match(self._buf, self._pos)
            assert match is not None  # the pattern matches the empty string
            self._pos = match.end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _more(self, at_least: int = 1) -> bool:
        """Reads at least ``at_least`` more characters (fewer at the end of the text), first
        dropping what was scanned; False when there was nothing more."""
        if self._eof:
            return False
        buf = self._buf
        pos = self._pos if self._keep is None else min(self._pos, self._keep)
        ends = buf.count("\n", 0, pos)
        if ends:
            self._line += ends
            self._column = pos - buf.rfind("\n", 0, pos) - 1
        else:
            self._column += pos
        parts = [buf[pos:]]
        added = 0
        for chunk in self._chunks:
            parts.append(chunk)
            added += len(chunk)
            if added >= at_least:
                break
        else:
            self._eof = True
        self._buf = "".join(parts)
        self._pos -= pos
        if self._keep is not None:
            self._keep -= pos
        return added > 0

    def _position(self, pos: int) -> tuple[int, int]:
        """Line and column (1-based, as json counts them) of ``_buf[pos]`` in the whole text."""
        ends = self._buf.count("\n", 0, pos)
        if ends:
            return self._line + ends, pos - self._buf.rfind("\n", 0, pos)
        return self._line, self._column + pos + 1

    def _syntax_error(self, message: str, where: tuple[int, int]) -> DrawFileError:
        line, column = where
        return DrawFileError(
            f"Draw file '{self._src}' is not valid JSON: {message} at line {line},"
            f" column {column}.",
            source=self._src,
            line=line,
        )

    def _trailing_comma_error(self, comma: int) -> DrawFileError:
        # Python versions differ: "Expecting value" at the "]", or an error at the comma.
        try:
            json.loads("[0,]")
        except json.JSONDecodeError as exc:
            return self._syntax_error(exc.msg, self._position(comma if exc.pos == 2 else self._pos))
        raise AssertionError("json accepted a trailing comma")  # pragma: no cover

    def _too_long(self) -> DrawFileError:
        return DrawFileError(
            f"Draw file '{self._src}' holds a JSON number too long to read; expected integer"
            " draws.",
            source=self._src,
        )

    def _too_deep(self) -> DrawFileError:
        return DrawFileError(
            f"Draw file '{self._src}' nests JSON lists or objects too deeply; expected a flat"
            " list.",
            source=self._src,
        )


def _show_json(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, _JsonNumber):
        return str(value)
    if isinstance(value, str):
        if len(value) > _SHOW_MAX:
            value = value[: _SHOW_MAX - 1] + "…"
        return "the string " + json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return str(value)


def _parse_json(
    src: str, text: Iterable[str], domain: Domain | None, column: str | None
) -> tuple[_Layout, Iterator[_Rows]]:
    scanner = _JsonScanner(src, iter(text))
    if not scanner.starts_list():
        data = scanner.document()
        raise DrawFileError(
            f"Draw file '{src}' holds {_show_json(data)}; expected a JSON list of integers or"
            ' of objects with a "draw" field.',
            source=src,
        )
    runs = scanner.item_runs()
    first_run = next(runs, None)
    if first_run is None:
        return _Layout(src, "item", False, False, " (an empty JSON list)"), iter(())
    runs = itertools.chain([first_run], runs)
    first = first_run[0]
    if isinstance(first, dict):
        layout = _Layout(src, "item", _SESSION_NAME in first, _DATE_NAME in first, "")
        return layout, _json_object_rows(src, runs, layout, domain, column)
    if column is not None:
        raise DrawFileError(
            f"Draw file '{src}' is a JSON list of integers without fields, so column"
            f" '{column}' cannot be selected.",
            source=src,
        )
    layout = _Layout(src, "item", False, False, " (an empty JSON list)")
    return layout, _json_integer_rows(src, runs, domain)


def _json_integer_rows(
    src: str, runs: Iterator[list[object]], domain: Domain | None
) -> Iterator[_Rows]:
    start = 0  # the item of the run's first value
    for run in runs:
        if set(map(type, run)) == {int}:
            values = cast("list[int]", run)
            if domain is None or (domain.holds(min(values)) and domain.holds(max(values))):
                yield _Rows(values, range(start, start + len(values)))
                start += len(values)
                continue
        good, error = _first_bad_number(src, run, start, domain)
        if good:  # the draws before a bad item still go out, then its error
            yield _Rows(_json_values(run[:good]), range(start, start + good))
            start += good
        if error is not None:
            raise error


def _first_bad_number(
    src: str, items: list[object], start: int, domain: Domain | None
) -> tuple[int, DrawFileError | None]:
    """How many items from the run's start are draws (item ``start`` first), and the error
    the first one that is not makes (None when all are)."""
    for j, item in enumerate(items):
        i = start + j
        value = _json_value(item, domain)
        if value is None:
            expected = domain.expected if domain is not None else "an integer draw"
            return j, _at(src, "item", i, f"expected {expected}, found {_show_json(item)}")
        if domain is not None and not domain.holds(value):
            return j, _at(src, "item", i, domain.outside(str(item)))
    return len(items), None


def _json_value(item: object, domain: Domain | None) -> int | float | None:
    """The draw a JSON item is (an integer; with a float domain also a finite float)."""
    if type(item) is int:
        return item
    if isinstance(item, _JsonNumber) and domain is not None and domain.floats:
        value = float(item)
        return value if math.isfinite(value) else None
    return None


def _json_values(items: list[object]) -> list[int | float]:
    return [float(item) if isinstance(item, _JsonNumber) else cast("int", item) for item in items]


def _json_object_rows(
    src: str,
    runs: Iterator[list[object]],
    layout: _Layout,
    domain: Domain | None,
    column: str | None,
) -> Iterator[_Rows]:
    draw_key = column if column is not None else _JSON_DRAW_KEY
    has_session, has_date = layout.has_sessions, layout.has_dates
    date_cache: dict[str, DateKey] = {}
    out = _RowsBuilder(with_sessions=has_session, with_dates=has_date)
    error: DrawFileError | None = None
    try:
        for i, obj in enumerate(itertools.chain.from_iterable(runs)):
            if not isinstance(obj, dict):
                raise _at(
                    src, "item", i, f"expected an object like item 0, found {_show_json(obj)}"
                )
            if draw_key not in obj:
                fields = ", ".join(json.dumps(str(k), ensure_ascii=False) for k in obj) or "none"
                raise _at(
                    src, "item", i, f'the object has no "{draw_key}" field; found fields {fields}'
                )
            value = _json_value(obj[draw_key], domain)
            if value is None:
                kind = "a number" if domain is not None and domain.floats else "an integer"
                found = _show_json(obj[draw_key])
                raise _at(src, "item", i, f'expected {kind} "{draw_key}", found {found}')
            if domain is not None and not domain.holds(value):
                raise _at(src, "item", i, domain.outside(str(obj[draw_key])))

            if (_SESSION_NAME in obj) != has_session or (_DATE_NAME in obj) != has_date:
                for name, wanted in ((_SESSION_NAME, has_session), (_DATE_NAME, has_date)):
                    if (name in obj) != wanted:
                        how = "no" if wanted else "a"
                        other = "has one" if wanted else "has none"
                        raise _at(
                            src,
                            "item",
                            i,
                            f'the object has {how} "{name}" field, but item 0 {other}',
                        )
            session = ""
            if has_session:
                session = obj[_SESSION_NAME]
                if type(session) is int:
                    session = str(session)
                if type(session) is not str or not session:
                    shown = "an empty string" if session == "" else _show_json(session)
                    raise _at(
                        src, "item", i, f'expected a session name in "session", found {shown}'
                    )
            when, key = "", None
            if has_date:
                when = obj[_DATE_NAME]
                if type(when) is not str:
                    raise _at(
                        src,
                        "item",
                        i,
                        f'expected an ISO date string in "date", found {_show_json(when)}',
                    )
                key = _parse_date(when, date_cache)
                if key is None:
                    raise _at(src, "item", i, _date_problem(when))
            out.values.append(value)
            out.locations.append(i)
            if out.sessions is not None:
                out.sessions.append(session)
            if out.date_keys is not None and out.date_texts is not None and key is not None:
                out.date_keys.append(key)
                out.date_texts.append(when)
            if len(out.values) >= _PIECE_ROWS:
                yield out.take()
    except DrawFileError as exc:
        error = exc
    rest = out.take()  # the draws before a bad item still go out, then its error
    if rest.values:
        yield rest
    if error is not None:
        raise error
