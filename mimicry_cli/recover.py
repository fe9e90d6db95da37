"""``mimicry recover``: a generator's state from consecutive outputs, and its next draws."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from mimicry.draws import DrawFileError, read_draws
from mimicry.render.text import plain_text
from mimicry_cli.common import (
    ColumnFlag,
    DrawsFile,
    JsonFlag,
    SessionFlag,
    app,
    fail,
    terminal,
)

#: Exit code when no state of the family explains the draws (the answer, not an error).
EXIT_UNEXPLAINED = 1


def alternatives_sentence(answer) -> str:
    """Where several states fit (a :class:`mimicry.recovery.Recovery`): which continuation
    ``next`` is, and where the others begin."""
    behind = (
        f"{answer.usual}, and {answer.support - 1} more"
        if answer.usual
        else f"{answer.support} of them"
    )
    parted = (
        f"they agree on the first {answer.agreed} of the {len(answer.next)} values, then part"
        if answer.agreed
        else "they part at the first value"
    )
    return (
        f"{answer.states_fitting} states fit every draw ({answer.method.split(', ', 1)[-1]}); "
        f"{parted} into {len(answer.alternatives) + 1} continuations: next follows {behind} "
        f"({answer.support} of {answer.states_fitting}); --json lists the "
        f"{len(answer.alternatives)} others with the states behind each."
    )


@app.command()
def recover(
    draws: DrawsFile,
    family: Annotated[
        str,
        typer.Option(
            help="mt19937, php5_mt, python_random, glibc_rand, java_random or v8.", metavar="NAME"
        ),
    ],
    projection: Annotated[
        str | None,
        typer.Option(
            help="The draws' form: raw, php_mt_rand, python_getrandbits, python_random_float, "
            "java_nextint32, java_nextint, v8_math_random (default: the family's usual one).",
            metavar="NAME",
        ),
    ] = None,
    bits: Annotated[
        int | None,
        typer.Option(help="k of python_getrandbits(k), 8 to 32 (default 32).", metavar="K"),
    ] = None,
    modulus: Annotated[
        int | None,
        typer.Option(help="M of java_nextint's nextInt(M), a power of two >= 8.", metavar="M"),
    ] = None,
    predict: Annotated[
        int, typer.Option(help="Draws to predict past the newest one.", metavar="N")
    ] = 10,
    session: SessionFlag = None,
    column: ColumnFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Recover the generator's state from consecutive draws (no seed needed) and predict.

    Every draw the solver did not need is replayed from the state and must match; the answer
    says how likely a fit is to be chance. No state that fits: exit 1.
    """
    from mimicry.recovery import RecoveryError, Unexplained, reading_for
    from mimicry.recovery import recover as recover_state

    if not 0 <= predict <= 100_000:
        fail(f"--predict must be between 0 and 100000, got {predict}")
    try:
        reading = reading_for(family, projection, bits, modulus)
        history = read_draws(draws, domain=reading.domain(), session=session, column=column)
    except (RecoveryError, DrawFileError) as error:
        fail(str(error))
    try:
        answer = recover_state(
            history.values, family, reading.name, bits=bits, modulus=modulus, predict=predict
        )
    except RecoveryError as error:
        if error.index is None:
            fail(str(error))
        fail(f"{history.where(error.index)}: {error.reason}.")
    except Unexplained as error:
        if as_json:
            print(
                json.dumps(
                    {
                        "family": family,
                        "projection": reading.name,
                        "state": None,
                        "reason": str(error),
                    }
                )
            )
        else:
            print(f"mimicry: {plain_text(str(error))}", file=sys.stderr)
        raise typer.Exit(EXIT_UNEXPLAINED) from None
    if as_json:
        print(json.dumps(answer.to_json()))
        return
    console = terminal()
    console.print(
        f"[bold]{answer.family}[/bold] state recovered from {len(history)} {answer.projection} "
        f"draws ({answer.method}, {answer.seconds:.2f} s)"
    )
    console.print(
        f"used {answer.used} draws, checked {answer.checked} more by replaying from the state: "
        "all match"
    )
    console.print(
        f"chance: a random history of {len(history)} draws ({answer.known_bits:,} known bits) "
        f"fits some state of {answer.state_bits:,} bits with probability at most "
        f"2^{answer.chance_log2:.0f}"
        + (" (no evidence: give more draws)" if answer.chance_log2 >= 0 else "")
    )
    if answer.states_fitting > 1:
        console.print(plain_text(alternatives_sentence(answer)), soft_wrap=True)
    state = answer.state
    shown = state if isinstance(state, int) else f"{len(state)} words (--json prints them)"
    console.print(f"state before the first draw: {shown}")
    console.print(f"next {len(answer.next)}: " + " ".join(map(repr, answer.next)), soft_wrap=True)
