"""One hypothesis beyond its window: the bidirectional check, its continuation, its track.

Positions count calls (projected draws), never words; the window test itself and the calls are
:mod:`gpu_kernels.calls`, the semantics every backend shares.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gpu_kernels.calls import Calls
from gpu_kernels.job import SieveJob, WindowMatch

# -- extensions and continuation ------------------------------------------------------------


@dataclass(frozen=True)
class Extension:
    matches_before: int
    checked_before: int
    matches_after: int
    checked_after: int
    #: Position of the newest history draw under this hypothesis (None if not walked there).
    last_call: int
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

        def call_of(index: int) -> int:
            return match.first_call + (index - start) * step

        matches_after = sum(calls[call_of(i)] == history[i] for i in after_indices)
        matches_before = checked_before = 0
        for i in before_indices:
            if not calls.exists(call_of(i)):
                break
            checked_before += 1
            matches_before += calls[call_of(i)] == history[i]
        return Extension(
            matches_before,
            checked_before,
            matches_after,
            len(after_indices),
            call_of(len(history) - 1),
            match.skip,
        )

    kmin, kmax = job.skips
    gaps = match.skip
    call = match.first_call + sum(gap + 1 for gap in gaps)
    # Walk the whole history after the window (the continuation starts at its newest draw),
    # but count evidence only over the first ``limit`` draws, like the constant-skip check.
    matches_after = 0
    for i in range(start + size, len(history)):
        call, matched = _greedy_step(calls, call, history[i], kmin, kmax, +1)
        matches_after += matched and i < after_indices.stop
    last_call = call
    walked = list(_walk_back(job, match, calls, history, limit))
    checked_before = len(walked)
    matches_before = sum(matched for _, _, matched in walked)
    common_gap = max(sorted(set(gaps)), key=gaps.count) if gaps else kmin
    return Extension(
        matches_before, checked_before, matches_after, len(after_indices), last_call, common_gap
    )


def _greedy_step(
    calls: Calls, call: int, draw: int, kmin: int, kmax: int, direction: int
) -> tuple[int, bool]:
    """Next call for ``draw``: the smallest matching gap, else a miss at the smallest gap."""
    for gap in range(kmin, kmax + 1):
        candidate = call + direction * (1 + gap)
        if not calls.exists(candidate):
            break  # walking back in seed mode: nothing before call 0
        if calls[candidate] == draw:
            return candidate, True
    return call + direction * (1 + kmin), False


def _walk_back(
    job: SieveJob, match: WindowMatch, calls: Calls, draws: Sequence[int], limit: int | None = None
) -> Iterator[tuple[int, int, bool]]:
    """The variable-skip walk back from the window, nearest draw first: (history index, its
    call, whether its call matched), the smallest matching gap per draw, at most ``limit``
    draws; it stops where the generator has no earlier call (seed mode, before call 0)."""
    kmin, kmax = job.skips
    start = job.window_start
    stop = -1 if limit is None else max(-1, start - 1 - limit)
    call = match.first_call
    for i in range(start - 1, stop, -1):
        if not calls.exists(call - 1 - kmin):
            return
        call, matched = _greedy_step(calls, call, draws[i], kmin, kmax, -1)
        yield i, call, matched


def stream_offset(
    job: SieveJob, match: WindowMatch, calls: Calls, history: Sequence[int]
) -> int | None:
    """Calls made before the stream's first draw under this hypothesis (seed mode; 0 in state
    mode, where the state is the one at the window).

    A constant skip fixes it by arithmetic. A variable skip walks back from the window to the
    first draw as the bidirectional check does (the smallest matching gap per draw); ``None``
    when that walk runs past the generator's first call, i.e. the draws before the window cannot
    come from this seed.
    """
    if job.mode == "state":
        return 0
    if isinstance(match.skip, int):
        return job.stream_offset(match.first_call, match.skip)
    walked = list(_walk_back(job, match, calls, history))
    if not walked:  # the window starts at the first draw, or nothing before it has a call
        return match.first_call if job.window_start == 0 else None
    index, call, _ = walked[-1]
    return call if index == 0 else None


def continuation(calls: Calls, extension: Extension, count: int) -> list[int]:
    """The ``count`` draws that follow the newest history draw under this hypothesis."""
    step = extension.gap + 1
    return [calls[extension.last_call + step * (j + 1)] for j in range(count)]


#: Marks a history index a hypothesis has no call for (before a seeded generator's first call).
NO_CALL = -1


def track(
    job: SieveJob, match: WindowMatch, calls: Calls, known: Sequence[int], length: int
) -> list[int]:
    """The draw the hypothesis assigns to each history index ``0 .. length - 1``.

    Constant skip never looks at the draws: index ``i`` is call ``first_call + (i - start)(k + 1)``.
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
            call = match.first_call + (i - start) * step
            if calls.exists(call):
                out[i] = calls[call]
        return out
    kmin, kmax = job.skips
    gaps = match.skip
    calls_at = {start: match.first_call}
    call = match.first_call
    for j, gap in enumerate(gaps):
        call += gap + 1
        calls_at[start + j + 1] = call
    common_gap = max(sorted(set(gaps)), key=gaps.count) if gaps else kmin
    for i in range(start + size, length):
        if i < len(known):
            call, _ = _greedy_step(calls, call, known[i], kmin, kmax, +1)
        else:
            call += common_gap + 1
        calls_at[i] = call
    for i, call, _ in _walk_back(job, match, calls, known):
        calls_at[i] = call
    for i, call in calls_at.items():
        if i < length:
            out[i] = calls[call]
    return out
