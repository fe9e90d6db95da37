"""What every ``mimicry`` command shares: the app, the bad-input exit, ranges, flag types."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from gpu_kernels.job import JobFieldError, Mode
from mimicry.settings import SettingsError, get_settings

app = typer.Typer(
    help="Find the pseudo-random generator behind a history of draws, with chance statistics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Exit code for bad input (a file, a flag value): one sentence on stderr, nothing written.
EXIT_BAD_INPUT = 2
#: Exit code when the store cannot be reached (not the input's fault).
EXIT_STORE_UNAVAILABLE = 3
#: Exit code when a search finished without covering its whole range (the answer is printed).
EXIT_INCOMPLETE = 4

stderr = Console(stderr=True)


def terminal() -> Console:
    """The console answers go to; piped output is not cut to 80 columns (tables are read in
    logs and CI output)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


@app.callback()
def read_settings() -> None:
    """Find the pseudo-random generator behind a history of draws, with chance statistics."""
    # Every command reads the settings here first, once: a bad MIMICRY_* variable is one
    # sentence and the bad-input exit before any work.
    try:
        get_settings()
    except SettingsError as error:
        fail(str(error))


def fail(message: str) -> NoReturn:
    """Print one clear sentence on stderr and exit with the bad-input code."""
    print(f"mimicry: error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


#: The flag behind each field of a job or a request, where it is not ``--`` + the field's name.
FIELD_FLAGS = {
    "families": "--family",
    "candidate_range": "--seeds",
    "skips": "--skip",
    "model_types": "--model-type",
    "holdout_fraction": "--holdout",
}


def flag_of(field: str) -> str:
    return FIELD_FLAGS.get(field, "--" + field.replace("_", "-"))


def invalid_input(error: ValidationError | JobFieldError) -> str:
    """One sentence for an invalid job or request, led by the flag behind the field at fault:
    the field comes from the error (a :class:`JobFieldError`'s, or the location pydantic gives),
    never from the message's words."""
    if isinstance(error, JobFieldError):
        return f"{flag_of(error.field)}: {error}"
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, JobFieldError):
        return f"{flag_of(cause.field)}: {cause}"
    names = [str(part) for part in first["loc"] if not str(part).isdigit()]
    message = first["msg"].removeprefix("Value error, ")
    return f"{flag_of(names[-1]) if names else 'input'}: {message}"


def print_table(title: str, rows: list[dict[str, str]], console: Console) -> None:
    """Rows of :mod:`mimicry.render` as a terminal table (text columns left, numbers right).

    No cell is ever cut short: a narrow terminal folds the text columns, the ``next`` column
    goes first when that is not enough, and the seed column always keeps its whole width."""

    def table(names: list[str]) -> Table:
        built = Table(title=title)
        left = {"family", "next", "hypothesis", "model"}
        for name in names:
            widest = max((len(row[name]) for row in rows), default=0)
            whole = name not in left  # numbers are never folded or cut
            built.add_column(
                name,
                justify="left" if name in left else "right",
                overflow="fold",
                no_wrap=whole,
                min_width=widest if whole else None,
            )
        for row in rows:
            built.add_row(*(row[name] for name in names))
        return built

    names = list(rows[0]) if rows else ["result"]
    shown = table(names)
    if "next" in names and console.measure(shown).minimum > console.width:
        shown = table([name for name in names if name != "next"])
    console.print(shown)


def markdown_text(text: str) -> str:
    """The renderer's markdown emphasis as the terminal's."""
    parts = text.split("**")
    return "".join(f"[bold]{part}[/]" if i % 2 else part for i, part in enumerate(parts))


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


# -- flags shared by `mimicry sieve`, `mimicry run` and `mimicry ingest` -------------------------

DrawsFile = Annotated[Path, typer.Argument(help="Draw history: .txt, .csv or .json, oldest first.")]
ProjectionFlag = Annotated[str, typer.Option(help="How words become draws.")]
ModulusFlag = Annotated[int, typer.Option(help="Draws are in [0, M).")]
#: ``--modulus`` where a projection may fix it (``mt_rand()``, raw words, Java's ``nextInt()``,
#: the doubles): None means its own range or 1000.
OptionalModulusFlag = Annotated[
    int | None,
    typer.Option(
        "--modulus",
        help="Draws are in [0, M) (default: the projection's own range, or 1000; "
        "raw, java_nextint32, java_nextlong, python_random_float, v8_math_random and "
        "php_mt_rand fix it).",
    ),
]


def modulus_for(projection: str, modulus: int | None, family: str | None = None) -> int:
    """``--modulus`` as given, else the projection's own range (``php_mt_rand``'s 2^31, a
    ``raw`` word's 2^word_bits of ``family``), else 1000."""
    if modulus is not None:
        return modulus
    from gpu_kernels.projections import PROJECTIONS
    from gpu_kernels.registry import get_family

    chosen = PROJECTIONS.get(projection)
    if chosen is None:
        return 1000
    word_bits = 32  # an unknown family is the job's to report, with every other flag
    if family is not None:
        with contextlib.suppress(KeyError):
            word_bits = get_family(family).word_bits
    fixed = chosen.modulus_for(word_bits)
    return 1000 if fixed is None else fixed


SessionFlag = Annotated[str | None, typer.Option(help="Stream to read from a multi-session file.")]
ColumnFlag = Annotated[str | None, typer.Option(help="CSV column holding the draws.")]
WindowFlag = Annotated[int | None, typer.Option(help="Window size W (default 8, or all draws).")]
WindowStartFlag = Annotated[
    int | None, typer.Option(help="History index of the first window draw.")
]
SeedsFlag = Annotated[
    str | None,
    typer.Option(help="Seeds (seed mode) or states (state mode) LO..HI; default the whole space."),
]
OffsetsFlag = Annotated[
    str | None,
    typer.Option(help="Calls made before the stream's first draw, LO..HI (seed mode)."),
]
SkipFlag = Annotated[str | None, typer.Option(help="Calls dropped between observed draws, LO..HI.")]
VariableSkipFlag = Annotated[bool, typer.Option(help="Choose each gap from the skip range.")]
MaxMissesFlag = Annotated[int | None, typer.Option(help="Variable skip: unmatched draws allowed.")]
MinMatchesFlag = Annotated[int | None, typer.Option(help="Window matches to survive (default W).")]
ModeFlag = Annotated[Mode, typer.Option(help="Enumerate seeds, or the state at the window.")]
PredictFlag = Annotated[int, typer.Option(help="Draws to predict past the newest one.")]
TopFlag = Annotated[int, typer.Option(help="Survivors to show.")]
BackendFlag = Annotated[str | None, typer.Option(help="reference, cpu or gpu.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
