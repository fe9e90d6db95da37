"""The flags of a sieve job or a pipeline request. Each flag's help is the request field's
description, the words the run form shows (docs/design.md §22), and an invalid job or request is
one sentence led by the flag at fault."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError

from gpu_kernels.job import JobFieldError, Mode
from mimicry.render.text import plain_text
from mimicry.requests import SieveSettings

#: The flag behind each field of a job or a request, where it is not ``--`` + the field's name.
FIELD_FLAGS = {
    "families": "--family",
    "candidate_range": "--seeds",
    "skips": "--skip",
    "model_types": "--model-type",
    "model_params": "--model-param",
    "holdout_fraction": "--holdout",
    "tensorboard_dir": "--tensorboard",
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
    if first["type"] in ("literal_error", "enum"):  # a name from a list: say which was given
        message = f"{message}, got {plain_text(repr(first['input']))}"
    return f"{flag_of(names[-1]) if names else 'input'}: {message}"


def field_help(model: type[BaseModel], field: str, more: str = "") -> str:
    """A flag's help: the request field's description, the words the run form shows
    (docs/design.md §22), with what only the command line needs after it."""
    description = model.model_fields[field].description
    assert description, f"{model.__name__}.{field} has no description"
    return f"{description} {more}".strip()


ProjectionFlag = Annotated[
    str,
    typer.Option(help=field_help(SieveSettings, "projection"), metavar="NAME"),
]
ModulusFlag = Annotated[int, typer.Option(help=field_help(SieveSettings, "modulus"), metavar="M")]
#: ``--modulus`` where a projection may fix it (``mt_rand()``, raw words, Java's ``nextInt()``,
#: the doubles): None means its own range or 1000.
OptionalModulusFlag = Annotated[
    int | None,
    typer.Option(
        "--modulus",
        help="Draws are in [0, M) (default: the projection's own range, or 1000; "
        "raw, java_nextint32, java_nextlong, python_random_float, v8_math_random and "
        "php_mt_rand fix it).",
        metavar="M",
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


WindowFlag = Annotated[
    int | None, typer.Option(help=field_help(SieveSettings, "window"), metavar="W")
]
WindowStartFlag = Annotated[
    int | None, typer.Option(help=field_help(SieveSettings, "window_start"), metavar="INDEX")
]
SeedsFlag = Annotated[
    str | None,
    typer.Option(
        help=field_help(SieveSettings, "seeds", "Decimal or 0x hex."),
        metavar="LO..HI",
    ),
]
OffsetsFlag = Annotated[
    str | None,
    typer.Option(help=field_help(SieveSettings, "offsets"), metavar="LO..HI"),
]
SkipFlag = Annotated[
    str | None, typer.Option(help=field_help(SieveSettings, "skip"), metavar="LO..HI")
]
#: The skip kind, named as ``mimicry run`` names it (where leaving both out lets Step 1 choose).
VariableSkipFlag = Annotated[
    bool,
    typer.Option(
        "--variable-skip/--constant-skip",
        help="Choose each gap from the skip range, or keep one skip for every gap.",
    ),
]
MaxMissesFlag = Annotated[
    int | None, typer.Option(help=field_help(SieveSettings, "max_misses"), metavar="N")
]
MinMatchesFlag = Annotated[
    int | None, typer.Option(help=field_help(SieveSettings, "min_matches"), metavar="N")
]
ModeFlag = Annotated[
    Mode,
    typer.Option(help=field_help(SieveSettings, "mode"), metavar="MODE"),
]
PredictFlag = Annotated[int, typer.Option(help=field_help(SieveSettings, "predict"), metavar="N")]
TopFlag = Annotated[int, typer.Option(help=field_help(SieveSettings, "top"), metavar="N")]
BackendFlag = Annotated[
    str | None,
    typer.Option(help=field_help(SieveSettings, "backend"), metavar="BACKEND"),
]
