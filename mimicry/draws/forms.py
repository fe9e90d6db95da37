"""Draws in the form a program printed them, and their codes in ``[0, M)`` (docs/design.md §4.3).

A projection with a range of its own (``raw`` words, Java's signed ``nextInt()`` and
``nextLong()``, the doubles of ``random.random()`` and ``Math.random()``) says what a draw file
may hold and turns each draw into its code and back (:mod:`gpu_kernels.projections`). This module
is the file boundary: :func:`read_codes` reads a file in the projection's domain and returns the
codes the sieve matches; :func:`in_program_form` turns the codes of an answer's predictions back
into the program's draws. For every projection that takes a bound the code is the draw.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from gpu_kernels.projections import PROJECTIONS, DrawError, Projection
from mimicry.draws import Domain, DrawFileError, DrawHistory, read_draws
from mimicry.search.results import Survivor


def projection_or_none(name: str) -> Projection | None:
    """The projection called ``name``; None for an unknown one (the job reports it)."""
    return PROJECTIONS.get(name)


def domain_of(projection: str, modulus: int) -> Domain:
    """What a draw file may hold for ``projection`` at ``modulus``."""
    chosen = projection_or_none(projection)
    if chosen is None:
        return Domain(0, modulus)
    low, high, floats = chosen.domain(modulus)
    return Domain(low, high, floats=floats)


def read_codes(
    path: str | os.PathLike[str],
    projection: str,
    modulus: int,
    *,
    session: str | None = None,
    column: str | None = None,
) -> DrawHistory:
    """The draws of ``path`` as the codes in ``[0, modulus)`` that the sieve matches.

    Raises :class:`DrawFileError` for any bad input, and for a draw the projection cannot make
    (a double that is not a multiple of ``2**-53``) one sentence naming the file and line.
    """
    history = read_draws(
        path, domain=domain_of(projection, modulus), session=session, column=column
    )
    chosen = projection_or_none(projection)
    if chosen is None:
        return history
    codes = []
    for index, draw in enumerate(history.values):
        try:
            codes.append(chosen.encode(draw))
        except DrawError as error:
            location = history.locations[index]
            raise DrawFileError(
                f"{history.where(index)}: {error}.",
                source=history.source,
                **{history.location_kind: location},
            ) from None
    return replace(history, values=tuple(codes))


def in_program_form(survivors: Sequence[Survivor], projection: str) -> list[Survivor]:
    """``survivors`` with their predictions (``next``) decoded into the program's draws."""
    chosen = projection_or_none(projection)
    if chosen is None:
        return list(survivors)
    return [
        survivor.model_copy(update={"next": [chosen.decode(code) for code in survivor.next]})
        for survivor in survivors
    ]
