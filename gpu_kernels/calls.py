"""A hypothesis's calls and its window test, in plain Python: the sieve's semantics.

This is the reference every backend is checked against (the reference backend runs it).
Positions count calls (projected draws), never words. Position 0 is the first call after
seeding (seed mode) or the first call from the enumerated state (state mode, where the state
*is* the state at the first window draw); negative calls exist only in state mode and only
for families with an inverse step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from gpu_kernels.family import Family, State
from gpu_kernels.job import Mode, SieveJob, WindowMatch
from gpu_kernels.projections import Projection
from gpu_kernels.registry import get_family, get_projection


class Calls:
    """The lazily computed calls of a generator started at ``state``, forward and backward."""

    def __init__(
        self,
        family: Family,
        projection: Projection,
        modulus: int,
        state: State,
        backward: bool,
    ) -> None:
        self.family, self.projection, self.modulus = family, projection, modulus
        self._forward: list[int] = []
        self._forward_words = family.words(state)
        self._backward: list[int] = []  # calls -1, -2, …
        self._backward_calls = self._walk_back(state) if backward and family.has_prev else None

    @classmethod
    def for_candidate(cls, job: SieveJob, candidate: int) -> Calls:
        family = get_family(job.family)
        if job.mode is Mode.STATE:
            state, backward = family.state_from_int(candidate), True
        else:
            state, backward = family.seed(candidate), False
        return cls(family, get_projection(job.projection), job.modulus, state, backward)

    def _walk_back(self, state: State) -> Iterator[int]:
        """Calls before ``state``, nearest first.

        Every call ends with exactly one accepted attempt and its rejected attempts come before
        it, so walking back the accepted attempts are the calls and the rejected ones are skipped.
        """
        per_attempt = self.projection.words_per_attempt
        bits = self.family.word_bits
        while True:
            attempt: list[int] = []
            for _ in range(per_attempt):
                state = self.family.prev(state)
                attempt.append(self.family.next(state)[1])
            attempt.reverse()
            if self.projection.accepts(tuple(attempt), self.modulus, bits):
                yield self.projection.value(tuple(attempt), self.modulus, bits)

    def exists(self, call: int) -> bool:
        return call >= 0 or self._backward_calls is not None

    def __getitem__(self, call: int) -> int:
        if call >= 0:
            while len(self._forward) <= call:
                self._forward.append(
                    self.projection.draw(self._forward_words, self.modulus, self.family.word_bits)
                )
            return self._forward[call]
        if self._backward_calls is None:
            raise IndexError(f"call {call} does not exist for this hypothesis")
        while len(self._backward) < -call:
            self._backward.append(next(self._backward_calls))
        return self._backward[-call - 1]


# -- the window test ------------------------------------------------------------------------


def window_matches(job: SieveJob, candidate: int, calls: Calls) -> list[WindowMatch]:
    """Every hypothesis of ``candidate`` that passes the window, in the canonical order
    (:meth:`WindowMatch.sort_key`): each (offset, skip) with a constant skip, each first call of
    the window's first draw with a variable one."""
    window, threshold = job.window, job.threshold
    misses_allowed = len(window) - threshold
    found: list[WindowMatch] = []
    if job.variable_skip:
        lo, hi = job.first_calls
        for call in range(lo, hi + 1):
            best = _best_variable_path(calls, window, call, job.skips, misses_allowed)
            if best is not None:
                matches, gaps = best
                found.append(
                    WindowMatch(candidate=candidate, first_call=call, skip=gaps, matches=matches)
                )
        return found
    for offset in range(job.offsets[0], job.offsets[1] + 1):
        for skip in range(job.skips[0], job.skips[1] + 1):
            call, misses = job.first_call(offset, skip), 0
            for i, draw in enumerate(window):
                if calls[call + i * (skip + 1)] != draw:
                    misses += 1
                    if misses > misses_allowed:
                        break
            else:
                found.append(
                    WindowMatch(
                        candidate=candidate,
                        first_call=call,
                        skip=skip,
                        matches=len(window) - misses,
                    )
                )
    return sorted(found, key=WindowMatch.sort_key)


def candidates_matches(job: SieveJob, candidates: Iterable[int]) -> list[WindowMatch]:
    """:func:`window_matches` of each candidate in turn: the plain-Python check of the reference
    backend, and of the cpu backend for the few candidates a prefilter keeps."""
    matches: list[WindowMatch] = []
    for candidate in candidates:
        matches.extend(window_matches(job, candidate, Calls.for_candidate(job, candidate)))
    return matches


def _best_variable_path(
    calls: Calls, window: Sequence[int], call: int, skips: tuple[int, int], misses_allowed: int
) -> tuple[int, tuple[int, ...]] | None:
    """Depth-first search over the gaps: the path with most matches, then the smallest gaps.

    Draw 0 sits at ``call``. Each later draw branches over every gap in range whose call
    matches; when none matches the draw is a miss and the path assumes the smallest gap.
    """
    kmin, kmax = skips
    best: tuple[int, tuple[int, ...]] | None = None

    def search(i: int, call: int, misses: int, gaps: tuple[int, ...]) -> None:
        nonlocal best
        if i == len(window):
            matches = len(window) - misses
            # Paths are visited in lexicographic gap order, so only strictly better replaces.
            if best is None or matches > best[0]:
                best = (matches, gaps)
            return
        matched_any = False
        for gap in range(kmin, kmax + 1):
            next_call = call + 1 + gap
            if calls[next_call] == window[i]:
                matched_any = True
                search(i + 1, next_call, misses, (*gaps, gap))
        if not matched_any and misses < misses_allowed:
            search(i + 1, call + 1 + kmin, misses + 1, (*gaps, kmin))

    if calls[call] == window[0]:
        search(1, call, 0, ())
    elif misses_allowed > 0:
        search(1, call, 1, ())
    return best
