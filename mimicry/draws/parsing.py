"""What the parser of every draw-file format shares (docs/design.md §12).

The error every bad input raises, what a draw may be (:class:`Domain`), the file's text decoded
piece by piece, the :class:`Rows` a format's parser hands on and the :class:`Layout` its head
announces, and the reading of numbers and dates with the messages that name what is wrong.
"""

from __future__ import annotations

import codecs
import functools
import itertools
import operator
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

#: The names of the optional date and session fields (CSV columns, JSON object keys).
DATE_NAME = "date"
SESSION_NAME = "session"

_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_MAX_INT_DIGITS = 1000  # longer digit strings are reported as out of range without int()

_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_ISO_DATE_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.ASCII,
)
SHOW_MAX = 40
_DATE_CACHE_SIZE = 4096  # daily histories repeat each date once per session

_CHUNK_BYTES = 1 << 18  # bytes read at a time: per-block costs amortised, memory kept small
PIECE_ROWS = 4096  # CSV records or JSON items handed on together


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
        if len(token) > SHOW_MAX:
            shown = token[: SHOW_MAX - 1] + "…"
        else:
            shown = token if self.floats and parse_int_token(token) is None else str(int(token))
        return f"value {shown} is outside the range [{self.low}, {self.high})"


def domain_of(modulus: int | None, domain: Domain | None) -> Domain:
    """The domain of ``read_draws``'s arguments: ``[0, modulus)``, or ``domain`` itself."""
    if (modulus is None) == (domain is None):
        raise ValueError("give exactly one of modulus and domain")
    return domain if domain is not None else Domain(0, checked_positive("modulus", modulus))


# --------------------------------------------------------------------------------------------
# what parsing hands on


DateKey = tuple[date, datetime | None]


@dataclass(frozen=True)
class Layout:
    """What the head of a file says about the rows that follow it."""

    source: str
    location_kind: str  # "line" or "item"
    has_sessions: bool
    has_dates: bool
    empty_detail: str  # ends the "contains no draws" sentence


@dataclass
class Rows:
    """Consecutive draws read from a file (of every session), with where each stands."""

    values: list[int]
    locations: Sequence[int]  # lines (text, CSV) or items (JSON), a range when contiguous
    sessions: list[str] | None = None
    date_texts: list[str] | None = None  # as written, for messages
    date_keys: list[DateKey] | None = None

    def of_session(self, name: str) -> Rows:
        assert self.sessions is not None
        if self.sessions.count(name) == len(self.sessions):
            return self
        keep = [i for i, s in enumerate(self.sessions) if s == name]
        return Rows(
            values=[self.values[i] for i in keep],
            locations=as_locations([self.locations[i] for i in keep]),
            sessions=[name] * len(keep),
            date_texts=None if self.date_texts is None else [self.date_texts[i] for i in keep],
            date_keys=None if self.date_keys is None else [self.date_keys[i] for i in keep],
        )

    def head(self, count: int) -> Rows:
        return Rows(
            values=self.values[:count],
            locations=self.locations[:count],
            sessions=None if self.sessions is None else self.sessions[:count],
            date_texts=None if self.date_texts is None else self.date_texts[:count],
            date_keys=None if self.date_keys is None else self.date_keys[:count],
        )


def as_locations(locations: list[int]) -> Sequence[int]:
    """``locations`` (increasing) as a range when they are contiguous: smaller, faster to copy."""
    if locations and locations[-1] - locations[0] == len(locations) - 1:
        return range(locations[0], locations[-1] + 1)
    return locations


class RowsBuilder:
    """Collects draws one at a time (CSV records, JSON items) into :class:`Rows` pieces."""

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

    def take(self) -> Rows:
        rows = Rows(
            self.values,
            as_locations(self.locations),
            self.sessions,
            self.date_texts,
            self.date_keys,
        )
        self._start()
        return rows


# --------------------------------------------------------------------------------------------
# numbers, dates, messages and the text of a file


def checked_positive(name: str, number: int) -> int:
    try:
        if isinstance(number, bool):
            raise TypeError
        number = operator.index(number)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {number!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {number!r}")
    return number


def place(src: str, kind: str, n: int) -> str:
    return f"Draw file '{src}', {kind} {n}"


def quoted(text: str) -> str:
    """A token quoted for a message, shortened when long."""
    if len(text) > SHOW_MAX:
        text = text[: SHOW_MAX - 1] + "…"
    return repr(text)


def quoted_names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"


def text_chunks(path: str | os.PathLike[str], src: str) -> Iterator[str]:
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
                    f"{place(src, 'line', line)}: byte 0x{bad} is not valid {label};"
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


def line_blocks(chunks: Iterable[str]) -> Iterator[tuple[int, str]]:
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


def parse_int_token(token: str) -> int | None:
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


def parse_number(token: str, domain: Domain | None) -> int | float | None:
    """The integer ``token`` spells, or with a float domain the finite decimal number; None
    when it is neither."""
    value = parse_int_token(token)
    if value is None and domain is not None and domain.floats and _FLOAT_RE.fullmatch(token):
        return float(token)
    return value


def error_at(src: str, kind: str, n: int, message: str) -> DrawFileError:
    """The error for a problem at line ``n`` or item ``n`` (``kind``) of ``src``."""
    return DrawFileError(f"{place(src, kind, n)}: {message}.", source=src, **{kind: n})


def parse_date(text: str, cache: dict[str, DateKey]) -> DateKey | None:
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


def date_problem(text: str) -> str:
    token = text.strip()
    if not token:
        return "expected an ISO date (YYYY-MM-DD), found an empty field"
    return f"date {quoted(token)} is not a valid ISO date (expected YYYY-MM-DD or an ISO datetime)"


@functools.lru_cache(maxsize=_DATE_CACHE_SIZE)
def normalise_date(key: DateKey) -> str:
    day, moment = key
    return moment.isoformat() if moment is not None else day.isoformat()


def older(cur: DateKey, prev: DateKey) -> bool:
    cur_day, cur_t = cur
    prev_day, prev_t = prev
    if cur_t is None or prev_t is None:
        return cur_day < prev_day
    if (cur_t.tzinfo is None) != (prev_t.tzinfo is None):
        return cur_t.replace(tzinfo=None) < prev_t.replace(tzinfo=None)
    return cur_t < prev_t
