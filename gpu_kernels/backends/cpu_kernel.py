"""The cpu backend's sieve kernel: a template that is specialised per family and projection.

This file is valid Python, but its kernel is never compiled here. :mod:`gpu_kernels.backends.
cpu_specialise` copies it into a generated module per (family, projection, mode), replacing the
block between the ``BINDINGS`` markers with imports of that family's ``@njit`` twin and that
projection's draw function. The kernel then calls them as globals, not as function arguments,
so numba can cache the compiled kernel on disk (a kernel taking functions as arguments cannot be
cached: their types carry object identities) and a new process loads it in a fraction of a
second instead of compiling for 5 to 10.

What the kernel does: for each candidate (a seed, or a state in state mode), every offset and
skip (or, for variable skip, a depth-first search over the gaps), generating calls lazily and
stopping at the first draw that makes the candidate fail; matches go into a bounded per-block
buffer whose overflow flag is raised instead of growing memory. The kernel releases the GIL
(``nogil``), so a Dask worker thread sieving leaves its process's event loop responsive.

The kernel sieves the blocks ``[block_lo, block_hi)`` in one thread: the cpu backend runs spans of
blocks on threads of its own (:func:`gpu_kernels.backends.cpu.sieve_blocks`). A ``parallel=True``
kernel (numba's ``prange``) did the same with numba's threading layer, but its parfor passes
doubled the compile every combination pays once per machine (measured: 8.9-11.3 s against
4.5-5.1 s for MT19937 / mod / seed on two cores; docs/design.md §10).
"""

import numba as nb
import numpy as np

# BINDINGS: replaced in each generated specialisation.
init_fn = next_fn = draw_fn = None
# END BINDINGS

#: Candidates one block checks before writing its matches (a thread takes whole blocks).
BLOCK = 4096


@nb.njit(inline="always")
def _ensure_calls(state, modulus, param, calls, filled, call):
    """Generate calls up to ``call`` (inclusive); ``filled`` calls exist already."""
    while filled <= call:
        calls[filled] = draw_fn(next_fn, state, modulus, param)
        filled += 1
    return filled


@nb.njit(inline="always")
def _record(
    out_candidate,
    out_first_call,
    out_skip,
    out_gaps,
    out_matches,
    out_count,
    out_overflow,
    block,
    candidate,
    call,
    skip,
    gaps,
    matches,
):
    n = out_count[block]
    if n >= out_candidate.shape[1]:
        out_overflow[block] = True
        return
    out_candidate[block, n] = candidate
    out_first_call[block, n] = call
    out_skip[block, n] = skip
    for g in range(gaps.shape[0]):
        out_gaps[block, n, g] = gaps[g]
    out_matches[block, n] = matches
    out_count[block] = n + 1


@nb.njit(cache=True, nogil=True)
def sieve(
    block_lo,
    block_hi,
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
    lead,
    skip_lo,
    skip_hi,
    variable,
    misses_allowed,
    out_candidate,
    out_first_call,
    out_skip,
    out_gaps,
    out_matches,
    out_count,
    out_overflow,
):
    size = window.shape[0]
    # The window's first draw sits at offset + lead·(skip + 1) (SieveJob.first_call); a variable
    # skip searches every call from the lowest such call to the highest.
    first_lo = offset_lo + lead * (skip_lo + 1)
    first_hi = offset_hi + lead * (skip_hi + 1)
    entries = (first_hi - first_lo + 1) if variable else (offset_hi - offset_lo + 1)
    max_call = first_hi + (size - 1) * (skip_hi + 1)
    for block in range(block_lo, block_hi):
        state = np.empty(state_words, np.uint64)
        calls = np.empty(max_call + 1, np.int64)
        gaps = np.zeros(max(size - 1, 1), np.int64)
        best_gaps = np.zeros(max(size - 1, 1), np.int64)
        call = np.zeros(size, np.int64)
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
            for entry in range(entries):
                if not variable:
                    offset = offset_lo + entry
                    for skip in range(skip_lo, skip_hi + 1):
                        first = offset + lead * (skip + 1)
                        misses = 0
                        for i in range(size):
                            t = first + i * (skip + 1)
                            filled = _ensure_calls(state, modulus, param, calls, filled, t)
                            if calls[t] != window[i]:
                                misses += 1
                                if misses > misses_allowed:
                                    break
                        if misses <= misses_allowed:
                            _record(
                                out_candidate,
                                out_first_call,
                                out_skip,
                                out_gaps,
                                out_matches,
                                out_count,
                                out_overflow,
                                block,
                                candidate,
                                first,
                                skip,
                                no_gaps,
                                size - misses,
                            )
                    continue
                # Variable skip: iterative depth-first search over the gaps, in the same order as
                # the reference (ascending gaps, then the miss branch when no gap matched).
                first = first_lo + entry
                filled = _ensure_calls(state, modulus, param, calls, filled, first)
                if calls[first] == window[0]:
                    misses_at[0] = 0
                elif misses_allowed > 0:
                    misses_at[0] = 1
                else:
                    continue
                call[0] = first
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
                        t = call[depth - 1] + 1 + gap
                        filled = _ensure_calls(state, modulus, param, calls, filled, t)
                        if calls[t] == window[depth]:
                            matched_any[depth] = True
                            call[depth] = t
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
                        call[depth] = call[depth - 1] + 1 + skip_lo
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
                        out_first_call,
                        out_skip,
                        out_gaps,
                        out_matches,
                        out_count,
                        out_overflow,
                        block,
                        candidate,
                        first,
                        -1,
                        best_gaps[: size - 1],
                        best,
                    )
