"""What a sieve answers: survivors with their extensions and chance, and the search's statistics.

The job and the window matches a chunk returns are :mod:`gpu_kernels.job`; this is what the
domain makes of them (:func:`mimicry.search.sieve.assemble`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gpu_kernels.job import SieveJob, WindowMatch


class Survivor(BaseModel):
    """A hypothesis that passed the window, with its extensions, chance and continuation."""

    family: str
    projection: str
    seed: int | None
    state: int | list[int] | None
    #: Calls made before the stream's first draw (seed mode; 0 in state mode). None when a
    #: variable-skip walk back from the window runs past the generator's first call.
    offset: int | None
    #: Call index of the window's first draw.
    first_call: int
    skip: int | list[int]
    #: The window it was found on: ``{"start": history index of d_0, "size": W}``.
    window: dict[str, int]
    matches: int
    matches_before: int
    matches_after: int
    #: How many draws before / after the window the bidirectional check could compare.
    checked_before: int
    checked_after: int
    p_value: float
    #: The draws after the stream's newest draw under this hypothesis: codes in [0, M) as the
    #: sieve makes them, the program's draws (a signed int, a double) in a ``mimicry sieve``
    #: answer (:func:`mimicry.draws.forms.in_program_form`).
    next: list[int | float] = Field(default_factory=list)

    @property
    def evidence(self) -> int:
        return self.matches + self.matches_before + self.matches_after

    @property
    def bidirectional(self) -> bool:
        """Window and both extensions pass (every checked draw matched, something checked)."""
        return (
            self.checked_before + self.checked_after > 0
            and self.matches_before == self.checked_before
            and self.matches_after == self.checked_after
        )


class SieveStats(BaseModel):
    candidates_tested: int
    hypotheses: int
    seconds: float
    candidates_per_second: float
    #: Chance that one hypothesis passes the window under the null (uniform draws).
    chance_per_hypothesis: float
    expected_false_survivors: float
    survivor_count: int
    significant: bool
    complete: bool
    #: Inclusive candidate ranges no chunk covered (empty when complete).
    missing_ranges: list[tuple[int, int]] = Field(default_factory=list)
    overflow: bool = False


class SieveResult(BaseModel):
    job: SieveJob
    survivors: list[Survivor]
    stats: SieveStats


class JobBest(BaseModel):
    """A job of a stored search with its best survivor: what a continuation is made from."""

    model_config = ConfigDict(frozen=True)
    job: SieveJob
    #: The best survivor's window match (None: the job had none).
    match: WindowMatch | None
    #: The search's expected chance survivors, and the best survivor's search-wide p-value.
    expected_false_survivors: float | None
    p_value: float | None
