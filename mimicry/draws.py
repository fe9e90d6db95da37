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
sniffed: text starting with ``[`` (or ``{``) is JSON, a first line that holds a header
(letters, not a number) is CSV, anything else is plain text.  Files are UTF-8 (a BOM is
allowed; UTF-16 with a BOM is read too); CRLF, LF and CR line endings are all accepted.

Integers accept surrounding whitespace and a leading ``+`` (a leading ``-`` is read so that
the range error can name the value); floats, hex, exponents and thousands separators are
rejected.  In JSON, only JSON integers are draws: ``true``, ``3.0``, ``"12"`` are rejected.

Dates are ISO ``YYYY-MM-DD`` or full ISO datetimes; within the selected stream each date must
not be older than the previous one (equal dates are allowed).  Datetimes are compared as
datetimes; when either side is a plain date only the calendar dates are compared.
``DrawHistory.dates`` holds them normalised by ``date.isoformat()`` /
``datetime.isoformat()``.

Every bad input raises :class:`DrawFileError`, whose ``str()`` is one sentence naming the
file, the line (1-based, as an editor counts) or the JSON item (0-based), and what was
expected.  The CLI turns it into exit code 2.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import operator
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

__all__ = [
    "DRAW_COLUMN_NAMES",
    "DrawFileError",
    "DrawHistory",
    "read_draws",
    "sessions_in",
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
_ISO_DATE_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.ASCII,
)
_SHOW_MAX = 40
_DATE_CACHE_SIZE = 4096  # daily histories repeat each date once per session


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


# --------------------------------------------------------------------------------------------
# public API


def read_draws(
    path: str | os.PathLike[str],
    *,
    modulus: int,
    session: str | None = None,
    column: str | None = None,
) -> DrawHistory:
    """Read one stream of draws in ``[0, modulus)`` from ``path``.

    ``session`` selects a stream; it is required when the file holds several sessions and
    optional when it holds one.  ``column`` names the draw column of a CSV file (or the draw
    field of JSON objects).  Raises :class:`DrawFileError` on any bad input.
    """
    try:
        if isinstance(modulus, bool):
            raise TypeError
        modulus = operator.index(modulus)
    except TypeError:
        raise ValueError(f"modulus must be a positive integer, got {modulus!r}") from None
    if modulus < 1:
        raise ValueError(f"modulus must be a positive integer, got {modulus!r}")
    parsed = _parse_file(path, modulus=modulus, column=column)
    src = parsed.source
    if not parsed.values:
        raise DrawFileError(
            f"Draw file '{src}' contains no draws{parsed.empty_detail}.", source=src
        )

    if parsed.sessions is None:
        if session is not None:
            raise DrawFileError(
                f"Draw file '{src}' has no sessions, so session '{session}' cannot be selected.",
                source=src,
            )
        chosen = None
        idx: Sequence[int] = range(len(parsed.values))
    else:
        known = list(dict.fromkeys(parsed.sessions))
        chosen = _choose_session(src, known, session)
        idx = [i for i, s in enumerate(parsed.sessions) if s == chosen]

    values = tuple(parsed.values[i] for i in idx)
    locations = tuple(parsed.locs[i] for i in idx)
    dates: tuple[str, ...] | None = None
    if parsed.date_keys is not None:
        keys = [parsed.date_keys[i] for i in idx]
        _check_date_order(parsed, idx, keys, chosen)
        dates = tuple(_normalise_date(k) for k in keys)
    return DrawHistory(
        values=values,
        source=src,
        session=chosen,
        dates=dates,
        locations=locations,
        location_kind=parsed.loc_kind,
    )


def sessions_in(path: str | os.PathLike[str], *, column: str | None = None) -> list[str]:
    """The sessions ``path`` holds, in first-seen order (``[]`` when it has none).

    The file is parsed as by :func:`read_draws` (so malformed files raise
    :class:`DrawFileError`), except that draws are not checked against a range, an empty
    file gives ``[]`` and dates are not checked for order.
    """
    parsed = _parse_file(path, modulus=None, column=column)
    if parsed.sessions is None:
        return []
    return list(dict.fromkeys(parsed.sessions))


# --------------------------------------------------------------------------------------------
# parsing: common pieces


DateKey = tuple[date, datetime | None]


@dataclass
class _Parsed:
    source: str
    values: list[int]
    locs: list[int]  # line numbers (text/CSV) or item indices (JSON)
    loc_kind: str  # "line" or "item"
    sessions: list[str] | None
    date_keys: list[DateKey] | None
    date_texts: list[str] | None
    empty_detail: str = ""


def _where(src: str, kind: str, n: int) -> str:
    return f"Draw file '{src}', {kind} {n}"


def _show(text: str) -> str:
    """A token quoted for a message, shortened when long."""
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return repr(text)


def _show_names(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"


def _range_text(token: str, modulus: int) -> str:
    """Says that the integer ``token`` spells lies outside ``[0, modulus)``."""
    token = token.strip()
    shown = str(int(token)) if len(token) <= _SHOW_MAX else token[: _SHOW_MAX - 1] + "…"
    return f"value {shown} is outside the range [0, {modulus})"


def _read_text(path: str | os.PathLike[str]) -> tuple[str, str]:
    src = os.fsdecode(os.fspath(path))
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DrawFileError(f"Draw file '{src}' cannot be read: {reason}.", source=src) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, label = "utf-16", "UTF-16"
    else:
        encoding, label = "utf-8", "UTF-8"
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise DrawFileError(
            f"{_where(src, 'line', line)}: byte 0x{bad} is not valid {label};"
            " expected a UTF-8 text file.",
            source=src,
            line=line,
        ) from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return src, text


def _detect_format(src: str, text: str) -> str:
    ext = os.path.splitext(src)[1].lower()
    if ext in (".txt", ".csv", ".json"):
        return ext[1:]
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return "json"
    for line in text.split("\n"):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        content = content.split("#", 1)[0].strip()
        has_letter = any(c.isalpha() for c in content)
        if has_letter and not _NUMBER_LIKE_RE.fullmatch(content):
            return "csv"
        return "txt"
    return "txt"


def _parse_file(
    path: str | os.PathLike[str], *, modulus: int | None, column: str | None
) -> _Parsed:
    src, text = _read_text(path)
    fmt = _detect_format(src, text)
    if fmt == "json":
        return _parse_json(src, text, modulus, column)
    if fmt == "csv":
        return _parse_csv(src, text, modulus, column)
    if column is not None:
        raise DrawFileError(
            f"Draw file '{src}' is plain text with one draw per line, so column '{column}'"
            " cannot be selected; expected a CSV file with a header.",
            source=src,
        )
    return _parse_plain(src, text, modulus)


def _parse_int_token(token: str) -> int | None:
    """The integer ``token`` spells (already stripped), or None when it is not one."""
    if _INT_RE.fullmatch(token) is None:
        return None
    if len(token) > _MAX_INT_DIGITS:  # int() refuses very long strings; any such is out of range
        return -1 if token.startswith("-") else (1 << 64) ** 64
    return int(token)


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


def _check_date_order(
    parsed: _Parsed, idx: Sequence[int], keys: list[DateKey], chosen: str | None
) -> None:
    assert parsed.date_texts is not None
    for j in range(1, len(keys)):
        if _older(keys[j], keys[j - 1]):
            i, p = idx[j], idx[j - 1]
            kind = parsed.loc_kind
            here, there = parsed.locs[i], parsed.locs[p]
            stream = f" in session '{chosen}'" if chosen is not None else ""
            raise DrawFileError(
                f"{_where(parsed.source, kind, here)}: date {parsed.date_texts[i].strip()} is"
                f" older than the previous date{stream} ({parsed.date_texts[p].strip()} on"
                f" {kind} {there}); expected dates oldest first.",
                source=parsed.source,
                **{kind: here},
            )


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


def _parse_plain(src: str, text: str, modulus: int | None) -> _Parsed:
    values: list[int] = []
    locs: list[int] = []
    append = values.append
    top = modulus if modulus is not None else -1
    for number, line in enumerate(text.split("\n"), 1):
        if "#" in line:
            line = line[: line.index("#")]
        token = line.strip()
        if not token:
            continue
        if token.isdigit() and token.isascii() and len(token) < 20:
            value = int(token)
        else:
            parsed = _parse_int_token(token)
            if parsed is None:
                raise DrawFileError(
                    f"{_where(src, 'line', number)}: expected an integer draw,"
                    f" found {_show(token)}.",
                    source=src,
                    line=number,
                )
            value = parsed
        if top >= 0 and not 0 <= value < top:
            raise DrawFileError(
                f"{_where(src, 'line', number)}: {_range_text(token, top)}.",
                source=src,
                line=number,
            )
        append(value)
        locs.append(number)
    return _Parsed(
        source=src,
        values=values,
        locs=locs,
        loc_kind="line",
        sessions=None,
        date_keys=None,
        date_texts=None,
        empty_detail=" (expected one integer per line)",
    )


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


def _pick_delimiter(text: str) -> str:
    for line in text.split("\n"):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        if "," in content:
            return ","
        if "\t" in content:
            return "\t"
        if ";" in content:
            return ";"
        return ","
    return ","


def _parse_csv(src: str, text: str, modulus: int | None, column: str | None) -> _Parsed:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_pick_delimiter(text), strict=True)
    done = [0]
    try:
        return _parse_csv_rows(src, _numbered_rows(reader, done), modulus, column)
    except csv.Error as exc:
        line = done[0] + 1  # the record that failed starts after the last one read
        raise _at(src, "line", line, f"the file is not valid CSV ({exc})") from exc


def _parse_csv_rows(
    src: str, rows: Iterator[tuple[int, list[str]]], modulus: int | None, column: str | None
) -> _Parsed:
    values: list[int] = []
    locs: list[int] = []
    sessions: list[str] | None = None
    date_keys: list[DateKey] | None = None
    date_texts: list[str] | None = None
    date_cache: dict[str, DateKey] = {}

    # The header: the first row that is not blank.
    first = next(((n, r) for n, r in rows if not _blank(r)), None)
    if first is None:
        return _Parsed(src, values, locs, "line", None, None, None)
    header_line, row = first
    header = [cell.strip() for cell in row]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    data: Iterator[tuple[int, list[str]]] = rows
    if all(_parse_int_token(cell) is not None for cell in header):
        # No header: one column of numbers reads like a text file.
        if width != 1:
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
        names = ["(first column)"]
        draw_i, date_i, session_i = 0, -1, -1
        data = itertools.chain([(header_line, row)], rows)
        empty_detail = ""
    else:
        names = header
        draw_i, date_i, session_i = _csv_columns(src, header_line, header, column)
        if session_i >= 0:
            sessions = []
        if date_i >= 0:
            date_keys, date_texts = [], []
        empty_detail = f" (only a header on line {header_line})"

    for line, row in data:
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
            parsed = _parse_int_token(token)
            if parsed is None:
                if not token and _blank(row):
                    continue
                found = _show(token) if token else "an empty field"
                raise _at(
                    src,
                    "line",
                    line,
                    f"expected an integer draw in column {names[draw_i]!r}, found {found}",
                )
            value = parsed
        if modulus is not None and not 0 <= value < modulus:
            raise _at(src, "line", line, _range_text(token, modulus))
        values.append(value)
        locs.append(line)
        if sessions is not None:
            name = row[session_i].strip()
            if not name:
                raise _at(
                    src,
                    "line",
                    line,
                    f"expected a session name in column {names[session_i]!r}, found an empty field",
                )
            sessions.append(name)
        if date_keys is not None and date_texts is not None:
            key = _parse_date(row[date_i], date_cache)
            if key is None:
                raise _at(src, "line", line, _date_problem(row[date_i]))
            date_keys.append(key)
            date_texts.append(row[date_i])

    return _Parsed(
        source=src,
        values=values,
        locs=locs,
        loc_kind="line",
        sessions=sessions,
        date_keys=date_keys,
        date_texts=date_texts,
        empty_detail=empty_detail,
    )


def _csv_columns(
    src: str, line: int, header: list[str], column: str | None
) -> tuple[int, int, int]:
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
    return draw_i, (-1 if date_i == draw_i else date_i), (-1 if session_i == draw_i else session_i)


# --------------------------------------------------------------------------------------------
# JSON


class _JsonNumber(str):
    """A JSON float (or NaN/Infinity) kept as its source text, for rejection messages."""


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


def _parse_json(src: str, text: str, modulus: int | None, column: str | None) -> _Parsed:
    try:
        data = json.loads(text, parse_float=_JsonNumber, parse_constant=_JsonNumber)
    except json.JSONDecodeError as exc:
        raise DrawFileError(
            f"Draw file '{src}' is not valid JSON: {exc.msg} at line {exc.lineno},"
            f" column {exc.colno}.",
            source=src,
            line=exc.lineno,
        ) from exc
    except ValueError as exc:  # an integer longer than Python's int-from-string limit
        raise DrawFileError(
            f"Draw file '{src}' holds a JSON number too long to read; expected integer draws.",
            source=src,
        ) from exc
    except RecursionError as exc:
        raise DrawFileError(
            f"Draw file '{src}' nests JSON lists or objects too deeply; expected a flat list.",
            source=src,
        ) from exc
    if not isinstance(data, list):
        raise DrawFileError(
            f"Draw file '{src}' holds {_show_json(data)}; expected a JSON list of integers or"
            ' of objects with a "draw" field.',
            source=src,
        )
    if data and isinstance(data[0], dict):
        return _parse_json_objects(src, data, modulus, column)
    if column is not None and data:
        raise DrawFileError(
            f"Draw file '{src}' is a JSON list of integers without fields, so column"
            f" '{column}' cannot be selected.",
            source=src,
        )
    values: list[int] = []
    append = values.append
    for i, item in enumerate(data):
        if type(item) is not int:
            raise DrawFileError(
                f"{_where(src, 'item', i)}: expected an integer draw, found {_show_json(item)}.",
                source=src,
                item=i,
            )
        if modulus is not None and not 0 <= item < modulus:
            raise DrawFileError(
                f"{_where(src, 'item', i)}: {_range_text(str(item), modulus)}.",
                source=src,
                item=i,
            )
        append(item)
    return _Parsed(
        source=src,
        values=values,
        locs=list(range(len(values))),
        loc_kind="item",
        sessions=None,
        date_keys=None,
        date_texts=None,
        empty_detail=" (an empty JSON list)",
    )


def _parse_json_objects(
    src: str, data: list[object], modulus: int | None, column: str | None
) -> _Parsed:
    draw_key = column if column is not None else _JSON_DRAW_KEY
    first = data[0]
    assert isinstance(first, dict)
    has_session = _SESSION_NAME in first
    has_date = _DATE_NAME in first
    values: list[int] = []
    sessions: list[str] | None = [] if has_session else None
    date_keys: list[DateKey] | None = [] if has_date else None
    date_texts: list[str] | None = [] if has_date else None
    date_cache: dict[str, DateKey] = {}
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise _at(src, "item", i, f"expected an object like item 0, found {_show_json(obj)}")
        if draw_key not in obj:
            fields = ", ".join(json.dumps(str(k), ensure_ascii=False) for k in obj) or "none"
            raise _at(
                src, "item", i, f'the object has no "{draw_key}" field; found fields {fields}'
            )
        value = obj[draw_key]
        if type(value) is not int:
            raise _at(
                src, "item", i, f'expected an integer "{draw_key}", found {_show_json(value)}'
            )
        if modulus is not None and not 0 <= value < modulus:
            raise _at(src, "item", i, _range_text(str(value), modulus))
        values.append(value)

        if (_SESSION_NAME in obj) != has_session or (_DATE_NAME in obj) != has_date:
            for name, wanted in ((_SESSION_NAME, has_session), (_DATE_NAME, has_date)):
                if (name in obj) != wanted:
                    how = "no" if wanted else "a"
                    other = "has one" if wanted else "has none"
                    raise _at(
                        src, "item", i, f'the object has {how} "{name}" field, but item 0 {other}'
                    )
        if sessions is not None:
            name = obj[_SESSION_NAME]
            if type(name) is int:
                name = str(name)
            if type(name) is not str or not name:
                shown = "an empty string" if name == "" else _show_json(name)
                raise _at(src, "item", i, f'expected a session name in "session", found {shown}')
            sessions.append(name)
        if date_keys is not None and date_texts is not None:
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
            date_keys.append(key)
            date_texts.append(when)
    return _Parsed(
        source=src,
        values=values,
        locs=list(range(len(values))),
        loc_kind="item",
        sessions=sessions,
        date_keys=date_keys,
        date_texts=date_texts,
    )
