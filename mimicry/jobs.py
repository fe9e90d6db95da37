"""The sieve's domain model: a job, the matches a chunk finds, survivors and their statistics.

A :class:`SieveJob` is the unit of work every backend accepts (DESIGN.md §4): hashable, frozen,
JSON round-trip, so it can be a cache key, a Prefect parameter and a row in the store.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gpu_kernels.registry import get_family, get_projection
from mimicry.statistics import chance_per_hypothesis


class Mode(StrEnum):
    #: Enumerate seeds; calls count from the freshly seeded generator.
    SEED = "seed"
    #: Enumerate the internal state at the first window draw (families with ``state_search``).
    STATE = "state"


class JobFieldError(ValueError):
    """A job value that cannot be searched; ``field`` names the offending job field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SieveJob(BaseModel):
    """What to search: one window of one stream against one family and projection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    family: str
    projection: str = "mod"
    modulus: int = Field(1000, ge=2)
    #: The observed window d_0 … d_{W-1}, oldest first.
    window: tuple[int, ...] = Field(min_length=1)
    #: History index of d_0 (so d_i is history[window_start + i]).
    window_start: int = Field(0, ge=0)
    mode: Mode = Mode.SEED
    #: Inclusive range of seeds (seed mode) or states (state mode) to enumerate.
    candidate_range: tuple[int, int]
    #: Inclusive range of offsets: the call index of d_0.
    offsets: tuple[int, int] = (0, 0)
    #: Inclusive range of skips: calls dropped between consecutive observed draws.
    skips: tuple[int, int] = (0, 0)
    #: Constant skip: every skip in range is its own hypothesis. Variable skip: each gap is
    #: chosen per draw from the range by the search.
    variable_skip: bool = False
    #: Survive with at least this many window matches (default: the whole window).
    min_matches: int | None = None
    #: Variable skip: unmatched draws a search path may carry (default: W - min_matches).
    max_misses: int | None = None

    @model_validator(mode="after")
    def _check(self) -> SieveJob:
        try:
            family = get_family(self.family)
            projection = get_projection(self.projection)
        except KeyError as error:
            field = "family" if "family" in error.args[0] else "projection"
            raise JobFieldError(field, error.args[0]) from None
        problem = projection.check(family.word_bits, self.modulus)
        if problem:
            raise JobFieldError("projection", problem)
        for index, value in enumerate(self.window):
            if not 0 <= value < self.modulus:
                raise JobFieldError(
                    "window", f"window draw {index} is {value}, outside [0, {self.modulus})"
                )
        for name in ("candidate_range", "offsets", "skips"):
            lo, hi = getattr(self, name)
            if lo < 0 or hi < lo:
                raise JobFieldError(name, "expects an inclusive range LO..HI with 0 <= LO <= HI")
        if self.mode is Mode.STATE:
            if not family.state_search:
                raise JobFieldError(
                    "mode",
                    f"state mode needs a family whose whole state can be enumerated; "
                    f"{family.name} has a {family.state_bits}-bit state",
                )
            if self.offsets != (0, 0):
                raise JobFieldError(
                    "offsets",
                    "state mode enumerates the state at the first window draw, "
                    "so offsets must be 0..0",
                )
            space_lo, space_hi = family.full_state_range()
            space = "state"
        else:
            space_lo, space_hi = 0, (1 << family.seed_bits) - 1
            space = "seed"
        lo, hi = self.candidate_range
        if lo < space_lo or hi > space_hi:
            raise JobFieldError(
                "candidate_range",
                f"{space} range {lo}..{hi} is outside {family.name}'s {space} space "
                f"{space_lo}..{space_hi}",
            )
        if self.min_matches is not None and not 1 <= self.min_matches <= len(self.window):
            raise JobFieldError(
                "min_matches", f"must be between 1 and the window size {len(self.window)}"
            )
        if self.max_misses is not None:
            if not self.variable_skip:
                raise JobFieldError("max_misses", "only applies with variable skip")
            if not 0 <= self.max_misses < len(self.window):
                raise JobFieldError(
                    "max_misses",
                    f"must be between 0 and {len(self.window) - 1} (window size - 1)",
                )
        return self

    # -- derived quantities -------------------------------------------------------------------

    @property
    def window_size(self) -> int:
        return len(self.window)

    @property
    def threshold(self) -> int:
        """Window matches a candidate needs to survive."""
        min_matches = self.window_size if self.min_matches is None else self.min_matches
        if self.variable_skip:
            max_misses = (
                self.window_size - min_matches if self.max_misses is None else (self.max_misses)
            )
            return max(min_matches, self.window_size - max_misses)
        return min_matches

    @property
    def misses_allowed(self) -> int:
        return self.window_size - self.threshold

    @property
    def candidate_count(self) -> int:
        lo, hi = self.candidate_range
        return hi - lo + 1

    @property
    def offset_count(self) -> int:
        return self.offsets[1] - self.offsets[0] + 1

    @property
    def skip_count(self) -> int:
        return self.skips[1] - self.skips[0] + 1

    @property
    def hypotheses_per_candidate(self) -> int:
        """Hypotheses tested for each seed or state: offsets × skips.

        With variable skip the gap sequence is searched, not enumerated: its branching enters
        the per-hypothesis chance instead (:mod:`mimicry.statistics`).
        """
        return self.offset_count * (1 if self.variable_skip else self.skip_count)

    @property
    def hypotheses(self) -> int:
        return self.candidate_count * self.hypotheses_per_candidate

    @property
    def skip_choices(self) -> int:
        """Calls each draw after the first may sit on: the skip range (variable skip), else 1."""
        return self.skip_count if self.variable_skip else 1

    @property
    def chance_per_hypothesis(self) -> float:
        """Chance (bound, for variable skip) that one hypothesis passes the window by luck."""
        return chance_per_hypothesis(
            self.window_size, self.threshold, self.modulus, self.skip_choices
        )

    @property
    def key(self) -> str:
        """SHA-256 of the job's canonical JSON: equal jobs, equal keys, in any process."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def with_range(self, lo: int, hi: int) -> SieveJob:
        return self.model_copy(update={"candidate_range": (lo, hi)})


class WindowMatch(BaseModel):
    """A candidate that passed the window: what a chunk returns, before any extension."""

    model_config = ConfigDict(frozen=True)

    candidate: int
    offset: int
    #: Constant skip, or the gaps between consecutive window draws (variable skip).
    skip: int | tuple[int, ...]
    matches: int

    def sort_key(self) -> tuple:
        skip = (self.skip,) if isinstance(self.skip, int) else self.skip
        return (self.candidate, self.offset, skip)


class ChunkResult(BaseModel):
    """The window matches of one chunk ``[lo, hi)`` of a job's candidate range."""

    lo: int
    hi: int
    matches: list[WindowMatch]
    candidates_tested: int
    seconds: float
    #: True when the backend's bounded survivor buffer filled up and matches were dropped.
    overflow: bool = False
    backend: str = ""


class Survivor(BaseModel):
    """A hypothesis that passed the window, with its extensions, chance and continuation."""

    family: str
    projection: str
    seed: int | None
    state: int | list[int] | None
    offset: int
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
    next: list[int] = Field(default_factory=list)

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
