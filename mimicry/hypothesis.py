"""One hypothesis, in plain Python: its call sequence, its window test and its extensions.

This is the reference every backend is checked against. Positions count calls (projected
draws), never words. Position 0 is the first call after seeding (seed mode) or the first call
from the enumerated state (state mode, where the state *is* the state at the first window
draw); negative positions exist only in state mode and only for families with an inverse step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gpu_kernels.family import Family, State
from gpu_kernels.projections import Projection
from gpu_kernels.registry import get_family, get_projection
from mimicry.jobs import Mode, SieveJob, WindowMatch


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
        self._backward: list[int] = []  # positions -1, -2, …
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

    def exists(self, position: int) -> bool:
        return position >= 0 or self._backward_calls is not None

    def __getitem__(self, position: int) -> int:
        if position >= 0:
            while len(self._forward) <= position:
                self._forward.append(
                    self.projection.draw(self._forward_words, self.modulus, self.family.word_bits)
                )
            return self._forward[position]
        if self._backward_calls is None:
            raise IndexError(f"position {position} does not exist for this hypothesis")
        while len(self._backward) < -position:
            self._backward.append(next(self._backward_calls))
        return self._backward[-position - 1]


# -- the window test ------------------------------------------------------------------------


def window_matches(job: SieveJob, candidate: int, calls: Calls) -> list[WindowMatch]:
    """Every (offset, skip) of ``candidate`` that passes the window, in the canonical order."""
    window, threshold = job.window, job.threshold
    misses_allowed = len(window) - threshold
    found: list[WindowMatch] = []
    for offset in range(job.offsets[0], job.offsets[1] + 1):
        if job.variable_skip:
            best = _best_variable_path(calls, window, offset, job.skips, misses_allowed)
            if best is not None:
                matches, gaps = best
                found.append(
                    WindowMatch(candidate=candidate, offset=offset, skip=gaps, matches=matches)
                )
            continue
        for skip in range(job.skips[0], job.skips[1] + 1):
            misses = 0
            for i, draw in enumerate(window):
                if calls[offset + i * (skip + 1)] != draw:
                    misses += 1
                    if misses > misses_allowed:
                        break
            else:
                found.append(
                    WindowMatch(
                        candidate=candidate, offset=offset, skip=skip, matches=len(window) - misses
                    )
                )
    return found


def _best_variable_path(
    calls: Calls, window: Sequence[int], offset: int, skips: tuple[int, int], misses_allowed: int
) -> tuple[int, tuple[int, ...]] | None:
    """Depth-first search over the gaps: the path with most matches, then the smallest gaps.

    Draw 0 sits at the offset. Each later draw branches over every gap in range whose call
    matches; when none matches the draw is a miss and the path assumes the smallest gap.
    """
    kmin, kmax = skips
    best: tuple[int, tuple[int, ...]] | None = None

    def search(i: int, position: int, misses: int, gaps: tuple[int, ...]) -> None:
        nonlocal best
        if i == len(window):
            matches = len(window) - misses
            # Paths are visited in lexicographic gap order, so only strictly better replaces.
            if best is None or matches > best[0]:
                best = (matches, gaps)
            return
        matched_any = False
        for gap in range(kmin, kmax + 1):
            next_position = position + 1 + gap
            if calls[next_position] == window[i]:
                matched_any = True
                search(i + 1, next_position, misses, (*gaps, gap))
        if not matched_any and misses < misses_allowed:
            search(i + 1, position + 1 + kmin, misses + 1, (*gaps, kmin))

    if calls[offset] == window[0]:
        search(1, offset, 0, ())
    elif misses_allowed > 0:
        search(1, offset, 1, ())
    return best


# -- extensions and continuation ------------------------------------------------------------


@dataclass(frozen=True)
class Extension:
    matches_before: int
    checked_before: int
    matches_after: int
    checked_after: int
    #: Position of the newest history draw under this hypothesis (None if not walked there).
    last_position: int
    #: Gap assumed for draws past the history (the constant skip, or the commonest gap).
    gap: int


def extend(
    job: SieveJob,
    history: Sequence[int],
    match: WindowMatch,
    calls: Calls,
    limit: int,
) -> Extension:
    """The bidirectional check: compare up to ``limit`` draws on each side of the window."""
    start, size = job.window_start, job.window_size
    after_indices = range(start + size, min(len(history), start + size + limit))
    before_indices = range(start - 1, max(-1, start - 1 - limit), -1)
    if isinstance(match.skip, int):
        step = match.skip + 1

        def position_of(index: int) -> int:
            return match.offset + (index - start) * step

        matches_after = sum(calls[position_of(i)] == history[i] for i in after_indices)
        matches_before = checked_before = 0
        for i in before_indices:
            if not calls.exists(position_of(i)):
                break
            checked_before += 1
            matches_before += calls[position_of(i)] == history[i]
        return Extension(
            matches_before,
            checked_before,
            matches_after,
            len(after_indices),
            position_of(len(history) - 1),
            match.skip,
        )

    kmin, kmax = job.skips
    gaps = match.skip
    position = match.offset + sum(gap + 1 for gap in gaps)
    # Walk the whole history after the window (the continuation starts at its newest draw),
    # but count evidence only over the first ``limit`` draws, like the constant-skip check.
    matches_after = 0
    for i in range(start + size, len(history)):
        position, matched = _greedy_step(calls, position, history[i], kmin, kmax, +1)
        matches_after += matched and i < after_indices.stop
    last_position = position
    matches_before = checked_before = 0
    position = match.offset
    for i in before_indices:
        if not calls.exists(position - 1 - kmin):
            break
        position, matched = _greedy_step(calls, position, history[i], kmin, kmax, -1)
        checked_before += 1
        matches_before += matched
    common_gap = max(sorted(set(gaps)), key=gaps.count) if gaps else kmin
    return Extension(
        matches_before, checked_before, matches_after, len(after_indices), last_position, common_gap
    )


def _greedy_step(
    calls: Calls, position: int, draw: int, kmin: int, kmax: int, direction: int
) -> tuple[int, bool]:
    """Next position for ``draw``: the smallest matching gap, else a miss at the smallest gap."""
    for gap in range(kmin, kmax + 1):
        candidate = position + direction * (1 + gap)
        if not calls.exists(candidate):
            break  # walking back in seed mode: nothing before position 0
        if calls[candidate] == draw:
            return candidate, True
    return position + direction * (1 + kmin), False


def continuation(calls: Calls, extension: Extension, count: int) -> list[int]:
    """The ``count`` draws that follow the newest history draw under this hypothesis."""
    step = extension.gap + 1
    return [calls[extension.last_position + step * (j + 1)] for j in range(count)]


#: Marks a history index a hypothesis has no call for (before a seeded generator's first call).
NO_CALL = -1


def track(
    job: SieveJob, match: WindowMatch, calls: Calls, known: Sequence[int], length: int
) -> list[int]:
    """The draw the hypothesis assigns to each history index ``0 .. length - 1``.

    Constant skip never looks at the draws: index ``i`` is call ``offset + (i - start)(k + 1)``.
    Variable skip walks as the bidirectional check does, the smallest matching gap for each of
    the ``known`` draws (the history up to some cut), and past them continues with the window
    path's commonest gap: a prediction of a draw cannot see it. Indices without a call (before a
    seeded generator's first) are :data:`NO_CALL`.
    """
    start, size = job.window_start, job.window_size
    out = [NO_CALL] * length
    if isinstance(match.skip, int):
        step = match.skip + 1
        for i in range(length):
            position = match.offset + (i - start) * step
            if calls.exists(position):
                out[i] = calls[position]
        return out
    kmin, kmax = job.skips
    gaps = match.skip
    positions = {start: match.offset}
    position = match.offset
    for j, gap in enumerate(gaps):
        position += gap + 1
        positions[start + j + 1] = position
    common_gap = max(sorted(set(gaps)), key=gaps.count) if gaps else kmin
    for i in range(start + size, length):
        if i < len(known):
            position, _ = _greedy_step(calls, position, known[i], kmin, kmax, +1)
        else:
            position += common_gap + 1
        positions[i] = position
    position = match.offset
    for i in range(start - 1, -1, -1):
        if not calls.exists(position - 1 - kmin):
            break
        position, _ = _greedy_step(calls, position, known[i], kmin, kmax, -1)
        positions[i] = position
    for i, position in positions.items():
        if i < length:
            out[i] = calls[position]
    return out
