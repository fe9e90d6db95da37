"""The unit of work every backend accepts, and what a chunk of it returns (docs/design.md §7, §8).

A :class:`SieveJob` is hashable, frozen and round-trips through JSON, so it can be a cache key,
a Prefect parameter and a row in the store. Its rules are written once, here: every invalid value
raises :class:`JobFieldError` naming the job field at fault, and callers (the CLI, a flow's
request) map that field to their own words.

Calls and offsets (the vocabulary of docs/design.md §2). ``c_j`` is the j-th call of the generator.
In seed mode an *offset* is the number of calls made before the stream's first draw (history
index 0), so with a constant skip k history index ``i`` sits at call ``offset + i·(k + 1)``; the
window starts at history index ``window_start``, and its first draw at the *first call*
``offset + window_start·(k + 1)``. In state mode the state is enumerated at the first window
draw itself: the offset is 0 and so is the first call.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The highest call a job may reach: every backend keeps the calls up to the window's last one
#: in memory, a copy per parallel block (the cpu kernel: 8 bytes a call, one array per thread),
#: so 2^24 calls is 128 MiB a thread. Deeper offsets belong to state mode.
MAX_CALL = 1 << 24


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


def check_range(field: str, value: tuple[int, int]) -> None:
    """An inclusive range ``LO..HI`` with ``0 <= LO <= HI``."""
    lo, hi = value
    if lo < 0 or hi < lo:
        raise JobFieldError(field, "expects an inclusive range LO..HI with 0 <= LO <= HI")


def check_search_space(family: str, mode: Mode, candidates: tuple[int, int] | None) -> None:
    """The family can be searched in ``mode`` and ``candidates`` (if given) lie in its space."""
    # The registry loads every family's numba twin (numba: a fifth of a second); a command that
    # only reads jobs back from the store (`mimicry status`) never validates one.
    from gpu_kernels.registry import get_family

    try:
        generator = get_family(family)
    except KeyError as error:
        raise JobFieldError("family", error.args[0]) from None
    try:
        space_lo, space_hi = generator.candidate_space(mode)
    except NotImplementedError as error:
        raise JobFieldError("mode", str(error)) from None
    if candidates is None:
        return
    check_range("candidate_range", candidates)
    lo, hi = candidates
    if lo < space_lo or hi > space_hi:
        raise JobFieldError(
            "candidate_range",
            f"{mode.value} range {lo}..{hi} is outside {generator.name}'s {mode.value} space "
            f"{space_lo}..{space_hi}",
        )


def check_state_offsets(mode: Mode, offsets: tuple[int, int] | None) -> None:
    if mode is Mode.STATE and offsets not in (None, (0, 0)):
        raise JobFieldError(
            "offsets",
            "state mode enumerates the state at the first window draw, so offsets must be 0..0",
        )


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
    #: Inclusive range of offsets: calls made before the stream's first draw (seed mode).
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
        from gpu_kernels.registry import get_family, get_projection

        check_search_space(self.family, self.mode, self.candidate_range)
        try:
            projection = get_projection(self.projection)
        except KeyError as error:
            raise JobFieldError("projection", error.args[0]) from None
        problem = projection.check(get_family(self.family).word_bits, self.modulus)
        if problem:
            raise JobFieldError("projection", problem)
        for index, value in enumerate(self.window):
            if not 0 <= value < self.modulus:
                raise JobFieldError(
                    "window", f"window draw {index} is {value}, outside [0, {self.modulus})"
                )
        check_range("offsets", self.offsets)
        check_range("skips", self.skips)
        check_state_offsets(self.mode, self.offsets)
        if self.last_call > MAX_CALL:
            raise JobFieldError(
                "offsets",
                f"the window's last draw would sit at call {self.last_call:,}; a search keeps "
                f"every call up to it in memory and reaches call {MAX_CALL:,} at most (narrow "
                "--offsets or --skip, or search the state with --mode state)",
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
    def lead(self) -> int:
        """Stream draws before the window that the offset counts past: ``window_start`` in seed
        mode, 0 in state mode (where the state is enumerated at the window)."""
        return self.window_start if self.mode is Mode.SEED else 0

    def first_call(self, offset: int, skip: int) -> int:
        """Call index of the window's first draw for a stream offset and a constant skip."""
        return offset + self.lead * (skip + 1)

    def stream_offset(self, first_call: int, skip: int) -> int:
        """The offset whose constant-skip window starts at call ``first_call``."""
        return first_call - self.lead * (skip + 1)

    @property
    def first_calls(self) -> tuple[int, int]:
        """Inclusive range of calls the window's first draw may sit at. Variable skip searches
        every one of them: the draws before the window may sit at any gaps of the range."""
        lo, hi = self.offsets
        return self.first_call(lo, self.skips[0]), self.first_call(hi, self.skips[1])

    @property
    def last_call(self) -> int:
        """The highest call the window's last draw may sit at."""
        return self.first_calls[1] + (self.window_size - 1) * (self.skips[1] + 1)

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
        """Hypotheses tested for each seed or state: offsets × skips (constant skip), or the
        window's first calls (variable skip).

        With variable skip the gap sequence is searched, not enumerated: its branching enters
        the per-hypothesis chance instead (:mod:`mimicry.search.statistics`).
        """
        if self.variable_skip:
            lo, hi = self.first_calls
            return hi - lo + 1
        return self.offset_count * self.skip_count

    @property
    def hypotheses(self) -> int:
        return self.candidate_count * self.hypotheses_per_candidate

    @property
    def skip_choices(self) -> int:
        """Calls each draw after the first may sit on: the skip range (variable skip), else 1."""
        return self.skip_count if self.variable_skip else 1

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
    #: Call index of the window's first draw (see :meth:`SieveJob.first_call`).
    first_call: int
    #: Constant skip, or the gaps between consecutive window draws (variable skip).
    skip: int | tuple[int, ...]
    matches: int

    def sort_key(self) -> tuple:
        skip = (self.skip,) if isinstance(self.skip, int) else self.skip
        return (self.candidate, self.first_call, skip)


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
