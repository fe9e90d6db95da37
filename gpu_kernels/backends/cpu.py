"""The cpu backend: numba, all cores, early exit at the first mismatch.

Two stages, both exact:

1. *Prefilter* (families with a vectorised kernel in :mod:`gpu_kernels.backends.cpu_prefilters`,
   projection ``mod``, no window misses allowed): compute, for a block of consecutive candidates in
   lockstep, only the words the first window draw can sit on, and keep the candidates whose word
   ``% M`` equals ``d_0`` at some offset. A wrong candidate survives this with probability about
   ``offsets/M``.
2. *Check*: the generic kernel, specialised by numba on the family's ``@njit`` twin and the
   projection's draw function, tests every offset and skip (or searches the gaps, for variable
   skip) of each remaining candidate, generating calls lazily and stopping at the first draw that
   makes the candidate fail.

Matches are written into a bounded per-block buffer; a full buffer raises the chunk's overflow flag
instead of growing memory, so a 2^32 sweep holds O(chunk) candidates at most.
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from gpu_kernels.backends.cpu_prefilters import prefilter_for
from gpu_kernels.registry import get_family, get_projection
from mimicry.jobs import ChunkResult, Mode, SieveJob, WindowMatch

#: Candidates one parallel task checks before writing its matches.
BLOCK = 4096
#: Matches one block can hold at least; more when chance survivors are expected to be common.
BLOCK_CAPACITY = 256


def block_capacity(job: SieveJob) -> int:
    """Room for 8× the chance survivors a block expects (short windows, small M), bounded by the
    block's hypotheses; the buffer's untouched pages cost no memory."""
    chance = job.chance_per_hypothesis
    hypotheses = BLOCK * job.hypotheses_per_candidate
    return int(min(hypotheses, max(BLOCK_CAPACITY, 8 * hypotheses * chance + 64)))


@nb.njit(inline="always")
def _ensure_calls(draw_fn, next_fn, state, modulus, param, calls, filled, position):
    while filled <= position:
        calls[filled] = draw_fn(next_fn, state, modulus, param)
        filled += 1
    return filled


@nb.njit(inline="always")
def _record(
    out_candidate,
    out_offset,
    out_skip,
    out_gaps,
    out_matches,
    out_count,
    out_overflow,
    block,
    candidate,
    offset,
    skip,
    gaps,
    matches,
):
    n = out_count[block]
    if n >= out_candidate.shape[1]:
        out_overflow[block] = True
        return
    out_candidate[block, n] = candidate
    out_offset[block, n] = offset
    out_skip[block, n] = skip
    for g in range(gaps.shape[0]):
        out_gaps[block, n, g] = gaps[g]
    out_matches[block, n] = matches
    out_count[block] = n + 1


@nb.njit(parallel=True)
def _sieve(
    init_fn,
    next_fn,
    draw_fn,
    state_words,
    use_list,
    candidates,
    lo,
    count,
    window,
    modulus,
    param,
    offset_lo,
    offset_hi,
    skip_lo,
    skip_hi,
    variable,
    misses_allowed,
    out_candidate,
    out_offset,
    out_skip,
    out_gaps,
    out_matches,
    out_count,
    out_overflow,
):
    size = window.shape[0]
    max_position = offset_hi + (size - 1) * (skip_hi + 1)
    blocks = (count + BLOCK - 1) // BLOCK
    for block in nb.prange(blocks):
        state = np.empty(state_words, np.uint64)
        calls = np.empty(max_position + 1, np.int64)
        gaps = np.zeros(max(size - 1, 1), np.int64)
        best_gaps = np.zeros(max(size - 1, 1), np.int64)
        position = np.zeros(size, np.int64)
        misses_at = np.zeros(size, np.int64)
        next_gap = np.zeros(size, np.int64)
        matched_any = np.zeros(size, np.bool_)
        miss_tried = np.zeros(size, np.bool_)
        no_gaps = np.zeros(0, np.int64)
        end = min(count, (block + 1) * BLOCK)
        for j in range(block * BLOCK, end):
            candidate = candidates[j] if use_list else lo + np.uint64(j)
            init_fn(candidate, state)
            filled = 0
            for offset in range(offset_lo, offset_hi + 1):
                if not variable:
                    for skip in range(skip_lo, skip_hi + 1):
                        misses = 0
                        for i in range(size):
                            t = offset + i * (skip + 1)
                            filled = _ensure_calls(
                                draw_fn, next_fn, state, modulus, param, calls, filled, t
                            )
                            if calls[t] != window[i]:
                                misses += 1
                                if misses > misses_allowed:
                                    break
                        if misses <= misses_allowed:
                            _record(
                                out_candidate,
                                out_offset,
                                out_skip,
                                out_gaps,
                                out_matches,
                                out_count,
                                out_overflow,
                                block,
                                candidate,
                                offset,
                                skip,
                                no_gaps,
                                size - misses,
                            )
                    continue
                # Variable skip: iterative depth-first search over the gaps, in the same order as
                # the reference (ascending gaps, then the miss branch when no gap matched).
                filled = _ensure_calls(
                    draw_fn, next_fn, state, modulus, param, calls, filled, offset
                )
                if calls[offset] == window[0]:
                    misses_at[0] = 0
                elif misses_allowed > 0:
                    misses_at[0] = 1
                else:
                    continue
                position[0] = offset
                best = -1
                depth = 1
                if size > 1:
                    next_gap[1] = skip_lo
                    matched_any[1] = False
                    miss_tried[1] = False
                while depth >= 1:
                    if depth == size:
                        matches = size - misses_at[size - 1]
                        if matches > best:
                            best = matches
                            for g in range(size - 1):
                                best_gaps[g] = gaps[g]
                        depth -= 1
                        continue
                    if next_gap[depth] <= skip_hi:
                        gap = next_gap[depth]
                        next_gap[depth] = gap + 1
                        t = position[depth - 1] + 1 + gap
                        filled = _ensure_calls(
                            draw_fn, next_fn, state, modulus, param, calls, filled, t
                        )
                        if calls[t] == window[depth]:
                            matched_any[depth] = True
                            position[depth] = t
                            misses_at[depth] = misses_at[depth - 1]
                            gaps[depth - 1] = gap
                            depth += 1
                            if depth < size:
                                next_gap[depth] = skip_lo
                                matched_any[depth] = False
                                miss_tried[depth] = False
                        continue
                    if (
                        not matched_any[depth]
                        and not miss_tried[depth]
                        and misses_at[depth - 1] < misses_allowed
                    ):
                        miss_tried[depth] = True
                        position[depth] = position[depth - 1] + 1 + skip_lo
                        misses_at[depth] = misses_at[depth - 1] + 1
                        gaps[depth - 1] = skip_lo
                        depth += 1
                        if depth < size:
                            next_gap[depth] = skip_lo
                            matched_any[depth] = False
                            miss_tried[depth] = False
                        continue
                    depth -= 1
                if best >= 0:
                    _record(
                        out_candidate,
                        out_offset,
                        out_skip,
                        out_gaps,
                        out_matches,
                        out_count,
                        out_overflow,
                        block,
                        candidate,
                        offset,
                        -1,
                        best_gaps[: size - 1],
                        best,
                    )


class CpuBackend:
    name = "cpu"
    default_chunk_size = 1 << 24

    def __init__(self, prefilter: bool = True) -> None:
        #: Off only to measure what the prefilters buy (``mimicry bench --no-prefilter``).
        self.prefilter = prefilter

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:
        started = time.perf_counter()
        family = get_family(job.family)
        projection = get_projection(job.projection)
        kernels = family.numba
        if kernels is None:
            raise ValueError(f"{family.name} has no numba kernels; use --backend reference")
        state_mode = job.mode is Mode.STATE
        init_fn = kernels.set_state if state_mode else kernels.seed
        window = np.asarray(job.window, dtype=np.int64)

        candidates = np.zeros(1, np.uint64)
        use_list = False
        count = hi - lo
        prefilter = prefilter_for(family.name, job) if self.prefilter else None
        if prefilter is not None and count > 0:
            candidates = prefilter(lo, count)
            use_list, count = True, len(candidates)

        blocks = max(1, (count + BLOCK - 1) // BLOCK)
        gap_slots = max(job.window_size - 1, 1)
        capacity = block_capacity(job)
        out_candidate = np.zeros((blocks, capacity), np.uint64)
        out_offset = np.zeros((blocks, capacity), np.int64)
        out_skip = np.zeros((blocks, capacity), np.int64)
        out_gaps = np.zeros((blocks, capacity, gap_slots), np.int64)
        out_matches = np.zeros((blocks, capacity), np.int64)
        out_count = np.zeros(blocks, np.int64)
        out_overflow = np.zeros(blocks, np.bool_)
        if count > 0:
            _sieve(
                init_fn,
                kernels.next,
                projection.numba_draw,
                kernels.state_words,
                use_list,
                candidates,
                np.uint64(lo & 0xFFFFFFFFFFFFFFFF),
                count,
                window,
                job.modulus,
                projection.numba_param(job.modulus, family.word_bits),
                job.offsets[0],
                job.offsets[1],
                job.skips[0],
                job.skips[1],
                job.variable_skip,
                job.misses_allowed,
                out_candidate,
                out_offset,
                out_skip,
                out_gaps,
                out_matches,
                out_count,
                out_overflow,
            )
        matches = []
        for block in range(blocks):
            for n in range(out_count[block]):
                skip = (
                    tuple(int(g) for g in out_gaps[block, n, : job.window_size - 1])
                    if job.variable_skip
                    else int(out_skip[block, n])
                )
                matches.append(
                    WindowMatch(
                        candidate=int(out_candidate[block, n]),
                        offset=int(out_offset[block, n]),
                        skip=skip,
                        matches=int(out_matches[block, n]),
                    )
                )
        matches.sort(key=WindowMatch.sort_key)
        return ChunkResult(
            lo=lo,
            hi=hi,
            matches=matches,
            candidates_tested=hi - lo,
            seconds=time.perf_counter() - started,
            overflow=bool(out_overflow.any()),
            backend=self.name,
        )
