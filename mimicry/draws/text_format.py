"""Plain-text draw files: one integer per line.

``#`` starts a comment (whole-line or trailing); blank lines are ignored. Blocks of nothing but
plain digits take a fast path (``int`` over the block's lines); any other block is read line by
line, and its first bad line is the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mimicry.draws.parsing import (
    Domain,
    DrawFileError,
    Layout,
    Rows,
    as_locations,
    error_at,
    line_blocks,
    parse_number,
    quoted,
)

_DIGIT_LINES_RE = re.compile(r"[0-9\n]*")  # a block that may take the plain-text fast path


def parse_text(
    src: str, text: Iterable[str], domain: Domain | None, column: str | None
) -> tuple[Layout, Iterator[Rows]]:
    """The layout of the plain-text file ``src`` (whose decoded pieces are ``text``) and its
    rows, read as they are iterated."""
    if column is not None:
        raise DrawFileError(
            f"Draw file '{src}' is plain text with one draw per line, so column '{column}'"
            " cannot be selected; expected a CSV file with a header.",
            source=src,
        )
    layout = Layout(src, "line", False, False, " (expected one integer per line)")
    return layout, _plain_rows(src, text, domain)


def _plain_rows(src: str, text: Iterable[str], domain: Domain | None) -> Iterator[Rows]:
    for first_line, block in line_blocks(text):
        rows = _plain_digits_block(block, first_line, domain)
        if rows is not None:
            yield rows
            continue
        rows, error = _plain_block(src, block, first_line, domain)
        if rows.values:
            yield rows
        if error is not None:
            raise error


def _plain_digits_block(block: str, first_line: int, domain: Domain | None) -> Rows | None:
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
    return Rows(values, range(first_line, first_line + len(values)))


def _plain_block(
    src: str, block: str, first_line: int, domain: Domain | None
) -> tuple[Rows, DrawFileError | None]:
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
            parsed = parse_number(token, domain)
            if parsed is None:
                expected = domain.expected if domain is not None else "an integer draw"
                error = error_at(src, "line", number, f"expected {expected}, found {quoted(token)}")
                break
            value = parsed
        if domain is not None and not domain.holds(value):
            error = error_at(src, "line", number, domain.outside(token))
            break
        append(value)
        locs.append(number)
    return Rows(values, as_locations(locs)), error
