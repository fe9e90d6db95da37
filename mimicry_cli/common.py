"""What every ``mimicry`` command shares: the app, the settings read as it starts, the bad-input
exit, tables, ranges and the draw file's flags. It loads no model (pydantic) and no numpy:
``mimicry recover`` starts on it alone (docs/design.md §23)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mimicry.draws import COLUMN_DESCRIPTION, SESSION_DESCRIPTION
from mimicry.environment import apply_prefect_defaults, default_home, sets_any_setting
from mimicry.render.text import plain_text

if TYPE_CHECKING:
    from mimicry.settings import Settings

app = typer.Typer(
    help="Find the pseudo-random generator behind a history of draws, with chance statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

#: Exit code for bad input (a file, a flag value): one sentence on stderr, nothing written.
EXIT_BAD_INPUT = 2
#: Exit code when the store cannot be reached (not the input's fault).
EXIT_STORE_UNAVAILABLE = 3
#: Exit code when a search finished without covering its whole range (the answer is printed).
EXIT_INCOMPLETE = 4

stderr = Console(stderr=True)


def terminal() -> Console:
    """The console answers go to: the terminal's width, or ``COLUMNS`` where it is set; piped
    output without ``COLUMNS`` is 160 columns, not 80 (tables are read in logs and CI output)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit():
        return Console()  # Rich reads COLUMNS itself
    return Console(width=160)


@app.callback()
def read_settings() -> None:
    """Find the pseudo-random generator behind a history of draws, with chance statistics."""
    # Every command reads the settings here first, once: a bad MIMICRY_* variable is one
    # sentence and the bad-input exit before any work; Prefect's defaults follow from them
    # before any command imports Prefect. With no MIMICRY_* variable they are the defaults,
    # and the settings model is left to the commands that read a value (docs/design.md §3).
    if sets_any_setting():
        settings = command_settings()
        apply_prefect_defaults(settings.home, settings.database_url)
    else:
        apply_prefect_defaults(default_home(), None)


def command_settings() -> Settings:
    """The settings this command read as it started (``MIMICRY_*``, once per process): the one
    place the CLI reads them; commands pass the values down (docs/design.md §3)."""
    from mimicry.settings import SettingsError, get_settings

    try:
        return get_settings()
    except SettingsError as error:
        fail(str(error))


def fail(message: str) -> NoReturn:
    """Print one clear sentence on stderr and exit with the bad-input code. The sentence often
    quotes what the user typed (a file name, a stream), so its control characters are shown,
    not sent to the terminal."""
    print(f"mimicry: error: {plain_text(message)}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


@dataclass(frozen=True)
class Layout:
    """How one table meets a terminal too narrow for it. Every column is *whole* (an id, a name,
    a value a person copies: never cut, folded or wrapped) unless ``wrap`` names it (free text,
    wrapped to the width left over). ``drop`` names the columns that go, in that order, while the
    rest still does not fit; when even that fails the table is printed as a list. ``right``: the
    numbers, right-justified."""

    wrap: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    right: tuple[str, ...] = ()


#: The survivor table of ``mimicry sieve`` and ``mimicry run`` (mimicry.render.SURVIVOR_COLUMNS):
#: the hypothesis, its p-value and its next draws stay; the match counts go first.
SURVIVOR_LAYOUT = Layout(
    drop=("before", "after", "window"),
    right=("seed or state", "offset", "skip", "window", "before", "after", "p-value"),
)

#: A free-text column narrower than this is unreadable: the table drops a column or becomes a
#: list before it squeezes one below it (or below its own widest line, if that is shorter).
WRAP_FLOOR = 20


def print_table(
    title: str,
    rows: Sequence[Mapping[str, object]],
    console: Console,
    layout: Layout = Layout(),
    columns: Sequence[str] | None = None,
) -> None:
    """Rows of :mod:`mimicry.render` (or a command's own) as a terminal table, the one way every
    command prints a table.

    Every cell is plain text: markup in a stream name or a note is shown, not interpreted, and
    control characters are shown escaped (:func:`mimicry.render.plain_text`). No whole column
    (see :class:`Layout`) is ever cut, folded or wrapped: free text wraps into what is left, the
    droppable columns go when that is not enough, and where even the rest does not fit, each
    row is printed as ``name: value`` lines instead. ``columns``: the columns shown, in order
    (default: the first row's; an empty table without them has one, ``result``)."""
    names = list(columns or (rows[0] if rows else ["result"]))
    cells = [{name: plain_text(str(row[name])) for name in names} for row in rows]
    dropped = [name for name in layout.drop if name in names]
    for count in range(len(dropped) + 1):
        shown = [name for name in names if name not in dropped[:count]]
        widths = column_widths(shown, cells, layout, console.width)
        if widths is not None:
            console.print(table_of(title, shown, cells, layout, widths))
            return
    print_records(title, names, cells, layout, console)


def column_widths(
    names: Sequence[str], cells: list[dict[str, str]], layout: Layout, width: int
) -> dict[str, int] | None:
    """Each column's width in a table of ``width`` columns, or None where it does not fit: whole
    columns as wide as their widest value and their header, free text sharing what is left, each
    at least :data:`WRAP_FLOOR`. Where the table is too wide, headers wider than their values wrap
    between their words (the most overhanging first, only as far as it needs)."""

    def widest(name: str) -> int:
        return max((cell_len(row[name]) for row in cells), default=0)

    def longest_word(name: str) -> int:
        return max(cell_len(word) for word in name.split())

    columns = [name for name in names if name not in layout.wrap]
    whole = {name: max(widest(name), cell_len(name)) for name in columns}
    narrowest = {name: max(widest(name), longest_word(name)) for name in columns}
    free = {name: max(widest(name), cell_len(name), 1) for name in names if name in layout.wrap}
    # Rich's box: a rule at each edge and between columns, one space of padding either side.
    needed = 3 * len(names) + 1 + sum(min(natural, WRAP_FLOOR) for natural in free.values())
    over = needed + sum(whole.values()) - width
    while over > 0:
        name = max(columns, key=lambda n: whole[n] - narrowest[n], default=None)
        if name is None or whole[name] == narrowest[name]:
            return None
        cut = min(over, whole[name] - narrowest[name])
        whole[name] -= cut
        over -= cut
    left = width - (3 * len(names) + 1) - sum(whole.values())
    widths = dict(whole)
    # The narrowest free text first takes what it needs; the rest share what remains evenly.
    for index, name in enumerate(sorted(free, key=free.get)):
        widths[name] = min(free[name], left // (len(free) - index))
        left -= widths[name]
    return widths


def table_of(
    title: str,
    names: Sequence[str],
    cells: list[dict[str, str]],
    layout: Layout,
    widths: dict[str, int],
) -> Table:
    # Fixed widths: Rich's own shrinking, when a table is too wide, cuts whole columns too.
    built = Table(title=Text(title))
    for name in names:
        wraps = name in layout.wrap
        built.add_column(
            Text(name, overflow="fold", no_wrap=False),  # a header wraps between its words
            justify="right" if name in layout.right else "left",
            width=widths[name],
            no_wrap=not wraps,
            overflow="fold",
        )
    for row in cells:
        built.add_row(*(Text(row[name]) for name in names))
    return built


def print_records(
    title: str, names: Sequence[str], cells: list[dict[str, str]], layout: Layout, console: Console
) -> None:
    """A table too wide for the terminal, as a list: one ``name: value`` line per column, a blank
    line around each row. Free text wraps; a whole value is never broken: it goes on a line of its
    own below its name where the two do not fit on one, and a value wider than the terminal
    runs on, for the terminal to wrap and a copy to take whole."""
    console.print(Text(title, style="italic", overflow="fold"))
    for row in cells:
        console.print()
        for name in names:
            value = row[name]
            if name in layout.wrap:
                console.print(Text(f"{name}: {value}", overflow="fold"))
            elif cell_len(f"{name}: {value}") <= console.width:
                console.print(Text(f"{name}: {value}"), soft_wrap=True)
            else:
                console.print(Text(f"{name}:"), soft_wrap=True)
                console.print(Text(value), soft_wrap=True)
    console.print()  # what follows is not read as the last row's


def markdown_text(text: str) -> Text:
    """The renderer's markdown emphasis as the terminal's; everything else is plain text (its
    paragraphs stay paragraphs)."""
    parts = "\n".join(map(plain_text, text.split("\n"))).split("**")
    return Text.assemble(*((part, "bold") if i % 2 else part for i, part in enumerate(parts)))


def parse_range(flag: str, text: str | None, default):
    """``LO..HI`` (inclusive) or a single number, each decimal or ``0x`` hex (as php_mt_seed
    prints seeds); ``None`` means ``default``."""
    if text is None:
        return default
    lo_text, dots, hi_text = text.partition("..")
    try:
        lo = _integer(lo_text)
        hi = _integer(hi_text) if dots else lo
    except ValueError:
        fail(
            f"{flag} expects an inclusive range LO..HI or a single number (decimal or 0x hex), "
            f"got {text!r}"
        )
    if lo < 0 or hi < lo:
        fail(f"{flag} expects 0 <= LO <= HI, got {text!r}")
    return lo, hi


def _integer(text: str) -> int:
    text = text.strip()
    if text[:2].lower() == "0x":
        return int(text[2:], 16)
    return int(text)


# -- flags of the commands that read a draw file (those of a job or request: request_flags) ------

DrawsFile = Annotated[
    Path,
    typer.Argument(help="Draw history: .txt, .csv or .json, oldest first.", metavar="DRAWS"),
]
SessionFlag = Annotated[
    str | None,
    typer.Option(help=SESSION_DESCRIPTION, metavar="SESSION"),
]
ColumnFlag = Annotated[str | None, typer.Option(help=COLUMN_DESCRIPTION, metavar="COLUMN")]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
