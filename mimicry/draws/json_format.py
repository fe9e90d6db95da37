"""JSON draw files: a list of integers, or a list of objects ``{"date", "session", "draw"}``
(``date`` and ``session`` optional, but then absent from every object).

Only JSON integers are draws (with a float domain, also finite JSON numbers): ``true``,
``3.0``, ``"12"`` are rejected by name. The top-level list is read item by item as the text
arrives (:class:`_JsonScanner`), so memory does not grow with the file; a syntax error is the
one ``json.loads`` would give for the whole text, at the same line and column.

The scanner is ours on purpose (docs/design.md §12): ijson's C backend, measured in its place,
read as fast in as little memory, but its errors name no line or column, it refuses the ``NaN``
and ``Infinity`` that ``json`` reads and names here, and an integer of more than 4,300 digits
crashed the interpreter.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import cast

from mimicry.draws.parsing import (
    DATE_NAME,
    PIECE_ROWS,
    SESSION_NAME,
    SHOW_MAX,
    DateKey,
    Domain,
    DrawFileError,
    Layout,
    Rows,
    RowsBuilder,
    date_problem,
    error_at,
    parse_date,
)

_JSON_DRAW_KEY = "draw"

_JSON_WS_RE = re.compile(r"[ \t\n\r]*")  # JSON's own whitespace, as json.decoder skips it
# JSON integers, each followed by a comma (not taken): the items of a list that can be read
# without the JSON decoder.  An integer cut by the end of the buffer has no comma yet.
_JSON_INTEGER_RUN_RE = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:[ \t\n\r]*,[ \t\n\r]*-?(?:0|[1-9][0-9]*))*[ \t\n\r]*(?=,)"
)
# How far past a JSON item the buffer must reach before the item is trusted: a number or
# literal cut by the end of the buffer would otherwise read as a shorter one (or as an error).
_JSON_LOOKAHEAD = 16


class _JsonNumber(str):
    """A JSON float (or NaN/Infinity) kept as its source text, for rejection messages."""


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
        if len(value) > SHOW_MAX:
            value = value[: SHOW_MAX - 1] + "…"
        return "the string " + json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return str(value)


def parse_json(
    src: str, text: Iterable[str], domain: Domain | None, column: str | None
) -> tuple[Layout, Iterator[Rows]]:
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
        return Layout(src, "item", False, False, " (an empty JSON list)"), iter(())
    runs = itertools.chain([first_run], runs)
    first = first_run[0]
    if isinstance(first, dict):
        layout = Layout(src, "item", SESSION_NAME in first, DATE_NAME in first, "")
        return layout, _json_object_rows(src, runs, layout, domain, column)
    if column is not None:
        raise DrawFileError(
            f"Draw file '{src}' is a JSON list of integers without fields, so column"
            f" '{column}' cannot be selected.",
            source=src,
        )
    layout = Layout(src, "item", False, False, " (an empty JSON list)")
    return layout, _json_integer_rows(src, runs, domain)


def _json_integer_rows(
    src: str, runs: Iterator[list[object]], domain: Domain | None
) -> Iterator[Rows]:
    start = 0  # the item of the run's first value
    for run in runs:
        if set(map(type, run)) == {int}:
            values = cast("list[int]", run)
            if domain is None or (domain.holds(min(values)) and domain.holds(max(values))):
                yield Rows(values, range(start, start + len(values)))
                start += len(values)
                continue
        good, error = _first_bad_number(src, run, start, domain)
        if good:  # the draws before a bad item still go out, then its error
            yield Rows(_json_values(run[:good]), range(start, start + good))
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
            return j, error_at(src, "item", i, f"expected {expected}, found {_show_json(item)}")
        if domain is not None and not domain.holds(value):
            return j, error_at(src, "item", i, domain.outside(str(item)))
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
    layout: Layout,
    domain: Domain | None,
    column: str | None,
) -> Iterator[Rows]:
    draw_key = column if column is not None else _JSON_DRAW_KEY
    has_session, has_date = layout.has_sessions, layout.has_dates
    date_cache: dict[str, DateKey] = {}
    out = RowsBuilder(with_sessions=has_session, with_dates=has_date)
    error: DrawFileError | None = None
    try:
        for i, obj in enumerate(itertools.chain.from_iterable(runs)):
            if not isinstance(obj, dict):
                raise error_at(
                    src, "item", i, f"expected an object like item 0, found {_show_json(obj)}"
                )
            if draw_key not in obj:
                fields = ", ".join(json.dumps(str(k), ensure_ascii=False) for k in obj) or "none"
                raise error_at(
                    src, "item", i, f'the object has no "{draw_key}" field; found fields {fields}'
                )
            value = _json_value(obj[draw_key], domain)
            if value is None:
                kind = "a number" if domain is not None and domain.floats else "an integer"
                found = _show_json(obj[draw_key])
                raise error_at(src, "item", i, f'expected {kind} "{draw_key}", found {found}')
            if domain is not None and not domain.holds(value):
                raise error_at(src, "item", i, domain.outside(str(obj[draw_key])))

            if (SESSION_NAME in obj) != has_session or (DATE_NAME in obj) != has_date:
                for name, wanted in ((SESSION_NAME, has_session), (DATE_NAME, has_date)):
                    if (name in obj) != wanted:
                        how = "no" if wanted else "a"
                        other = "has one" if wanted else "has none"
                        raise error_at(
                            src,
                            "item",
                            i,
                            f'the object has {how} "{name}" field, but item 0 {other}',
                        )
            session = ""
            if has_session:
                session = obj[SESSION_NAME]
                if type(session) is int:
                    session = str(session)
                if type(session) is not str or not session:
                    shown = "an empty string" if session == "" else _show_json(session)
                    raise error_at(
                        src, "item", i, f'expected a session name in "session", found {shown}'
                    )
            when, key = "", None
            if has_date:
                when = obj[DATE_NAME]
                if type(when) is not str:
                    raise error_at(
                        src,
                        "item",
                        i,
                        f'expected an ISO date string in "date", found {_show_json(when)}',
                    )
                key = parse_date(when, date_cache)
                if key is None:
                    raise error_at(src, "item", i, date_problem(when))
            out.values.append(value)
            out.locations.append(i)
            if out.sessions is not None:
                out.sessions.append(session)
            if out.date_keys is not None and out.date_texts is not None and key is not None:
                out.date_keys.append(key)
                out.date_texts.append(when)
            if len(out.values) >= PIECE_ROWS:
                yield out.take()
    except DrawFileError as exc:
        error = exc
    rest = out.take()  # the draws before a bad item still go out, then its error
    if rest.values:
        yield rest
    if error is not None:
        raise error
