"""CSV draw files with a header.

The draw column is ``draw``, ``value``, ``number`` or ``result`` (case-insensitive, first one
present in that order), or the only column; ``column=`` overrides.  Optional ``date`` and
``session`` columns; a ``session`` column splits the file into streams.  Blank lines and lines
starting with ``#`` are skipped.  The delimiter is a comma, or a tab or semicolon when the
header has one of those and no comma.  A file whose first row is one number has no header and
reads like a plain-text file.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mimicry.draws.parsing import (
    DATE_NAME,
    PIECE_ROWS,
    SESSION_NAME,
    DateKey,
    Domain,
    DrawFileError,
    Layout,
    Rows,
    RowsBuilder,
    date_problem,
    error_at,
    line_blocks,
    parse_date,
    parse_number,
    place,
    quoted,
    quoted_names,
)

#: Column names (case-insensitive) recognised as the draw column of a CSV file, by priority.
DRAW_COLUMN_NAMES: tuple[str, ...] = ("draw", "value", "number", "result")


def delimiter_of(content: str | None) -> str:
    """The delimiter a file whose first content line (the header) is ``content`` uses."""
    if content is None or "," in content:
        return ","
    if "\t" in content:
        return "\t"
    if ";" in content:
        return ";"
    return ","


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
    error = error_at(src, "line", line, f"the file is not valid CSV ({exc})")
    error.__cause__ = exc
    return error


def parse_csv(
    src: str, text: Iterable[str], delimiter: str, domain: Domain | None, column: str | None
) -> tuple[Layout, Iterator[Rows]]:
    lines = (line for _, block in line_blocks(text) for line in io.StringIO(block, newline=""))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    done = [0]
    rows = _numbered_rows(reader, done)
    # The header: the first row that is not blank.
    try:
        first = next(((n, r) for n, r in rows if not _blank(r)), None)
    except csv.Error as exc:
        raise _csv_error(src, done, exc) from exc
    if first is None:
        return Layout(src, "line", False, False, ""), iter(())
    header_line, row = first
    header = [cell.strip() for cell in row]
    while header and not header[-1]:
        header.pop()
    if all(parse_number(cell, domain) is not None for cell in header):
        # No header: one column of numbers reads like a text file.
        if len(header) != 1:
            raise error_at(
                src,
                "line",
                header_line,
                "expected a header row naming the columns (such as draw, date, session),"
                f" found {quoted(','.join(header))}",
            )
        if column is not None:
            raise DrawFileError(
                f"Draw file '{src}' has no header row, so column '{column}' cannot be"
                " selected; expected a header naming the columns.",
                source=src,
            )
        columns = _CsvColumns(["(first column)"], draw=0, date=-1, session=-1)
        layout = Layout(src, "line", False, False, "")
        rows = itertools.chain([(header_line, row)], rows)
    else:
        columns = _csv_columns(src, header_line, header, column)
        layout = Layout(
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
) -> Iterator[Rows]:
    names, draw_i, date_i, session_i = columns.names, columns.draw, columns.date, columns.session
    width = len(names)
    date_cache: dict[str, DateKey] = {}
    out = RowsBuilder(with_sessions=session_i >= 0, with_dates=date_i >= 0)
    error: DrawFileError | None = None
    try:
        for line, row in rows:
            if len(row) != width:
                if _blank(row):
                    continue
                if len(row) < width or not _blank(row[width:]):
                    raise error_at(
                        src,
                        "line",
                        line,
                        f"expected {width} field{'s' if width != 1 else ''}"
                        f" ({quoted_names(names)}), found {len(row)}",
                    )
            token = row[draw_i].strip()
            if token.isdigit() and token.isascii() and len(token) < 20:
                value = int(token)
            else:
                parsed = parse_number(token, domain)
                if parsed is None:
                    if not token and _blank(row):
                        continue
                    found = quoted(token) if token else "an empty field"
                    expected = domain.expected if domain is not None else "an integer draw"
                    raise error_at(
                        src,
                        "line",
                        line,
                        f"expected {expected} in column {names[draw_i]!r}, found {found}",
                    )
                value = parsed
            if domain is not None and not domain.holds(value):
                raise error_at(src, "line", line, domain.outside(token))
            name = ""
            if session_i >= 0:
                name = row[session_i].strip()
                if not name:
                    raise error_at(
                        src,
                        "line",
                        line,
                        f"expected a session name in column {names[session_i]!r},"
                        " found an empty field",
                    )
            key = None
            if date_i >= 0:
                key = parse_date(row[date_i], date_cache)
                if key is None:
                    raise error_at(src, "line", line, date_problem(row[date_i]))
            out.values.append(value)
            out.locations.append(line)
            if out.sessions is not None:
                out.sessions.append(name)
            if out.date_keys is not None and out.date_texts is not None and key is not None:
                out.date_keys.append(key)
                out.date_texts.append(row[date_i])
            if len(out.values) >= PIECE_ROWS:
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
                f"{place(src, 'line', line)}: there is no column {column!r};"
                f" found columns {quoted_names(header)}.",
                source=src,
                line=line,
            )
    elif len(header) == 1:
        draw_i = 0
    else:
        draw_i = next((folded[n] for n in DRAW_COLUMN_NAMES if n in folded), -1)
        if draw_i < 0:
            raise DrawFileError(
                f"{place(src, 'line', line)}: no draw column; expected one named"
                f" {', '.join(DRAW_COLUMN_NAMES[:-1])} or {DRAW_COLUMN_NAMES[-1]} (or chosen"
                f" with --column), found columns {quoted_names(header)}.",
                source=src,
                line=line,
            )
    date_i = folded.get(DATE_NAME, -1)
    session_i = folded.get(SESSION_NAME, -1)
    return _CsvColumns(
        header,
        draw=draw_i,
        date=-1 if date_i == draw_i else date_i,
        session=-1 if session_i == draw_i else session_i,
    )
