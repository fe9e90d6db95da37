"""The cpu backend: numba, all cores, early exit at the first mismatch.

Two stages, both exact:

1. *Prefilter* (families with a vectorised kernel in :mod:`gpu_kernels.backends.cpu_prefilters`,
   projection ``mod``, no window misses allowed): compute, for a block of consecutive candidates in
   lockstep, only the words the first window draw can sit on, and keep the candidates whose word
   ``% M`` equals ``d_0`` at some offset. A wrong candidate survives this with probability about
   ``offsets/M``.
2. *Check*: the kernel of :mod:`gpu_kernels.backends.cpu_kernel`, specialised on the family's
   ``@njit`` twin and the projection's draw function (and cached on disk, see
   :mod:`gpu_kernels.backends.cpu_specialise`), tests every offset and skip (or searches the gaps,
   for variable skip) of each remaining candidate, generating calls lazily and stopping at the
   first draw that makes the candidate fail. Where a prefilter kept only a handful (at most
   :data:`FEW_HYPOTHESES` hypotheses), plain Python checks them instead (the reference
   backend's :func:`gpu_kernels.calls.candidates_matches`): loading the cached kernel costs a
   process half a second, checking a few seeds in Python a millisecond or two, and a PHP
   ``mt_rand()`` sweep over 2^32 seeds keeps four.

Matches are written into a bounded per-block buffer; a full buffer raises the chunk's overflow flag
instead of growing memory, so a 2^32 sweep holds O(chunk) candidates at most.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numba
import numpy as np

from gpu_kernels.backends import default_kernel_cache
from gpu_kernels.backends.compile_once import compile_once
from gpu_kernels.backends.cpu_kernel import BLOCK
from gpu_kernels.backends.cpu_prefilters import prefilter_for, shared_prefilter
from gpu_kernels.backends.cpu_specialise import specialised_sieve
from gpu_kernels.calls import candidates_matches
from gpu_kernels.job import ChunkResult, Mode, SieveJob, WindowMatch
from gpu_kernels.projections import kernel_int
from gpu_kernels.registry import get_family, get_projection

#: Held while a chunk computes. The kernels already use every core, so two chunks at once would
#: only fight over them; a Dask worker runs two chunk threads so that one chunk's task bookkeeping
#: (Prefect states, the ledger commit) overlaps the other's kernel instead of leaving the cores
#: idle between chunks, and this lock keeps the kernels themselves one at a time.
ALL_CORES = threading.Lock()

#: Candidates sieved in one pass (prefilter mask, survivor list, match buffers): a chunk of any size
#: is sieved slice by slice, so memory stays that of a slice however large the chunks are.
SLICE = 1 << 24

#: Matches one block can hold at least; more when chance survivors are expected to be common.
BLOCK_CAPACITY = 256

#: Hypotheses of a slice's kept candidates up to which plain Python checks them (about 1 ms for
#: 64 MT19937 hypotheses); the 256 slices of a 2^32 sweep that each kept this many cost what
#: loading the kernel does once.
FEW_HYPOTHESES = 64


def sieve_blocks(sieve, blocks: int, *arguments) -> None:
    """Run ``sieve`` over ``blocks`` blocks on every core numba may use (``NUMBA_NUM_THREADS``):
    a few spans of consecutive blocks per thread, so that a thread whose span ends early takes
    the next; the kernel releases the GIL, and each block writes only its own rows."""
    threads = min(blocks, numba.get_num_threads())
    if threads <= 1:
        sieve(0, blocks, *arguments)
        return
    spans = min(blocks, 4 * threads)
    edges = [blocks * i // spans for i in range(spans + 1)]
    with ThreadPoolExecutor(threads, thread_name_prefix="mimicry-sieve") as pool:
        # list(): a kernel's exception is raised here, not dropped.
        list(pool.map(lambda lo, hi: sieve(lo, hi, *arguments), edges[:-1], edges[1:]))


def block_capacity(job: SieveJob) -> int:
    """Room for 8× the chance survivors a block expects (short windows, small M), bounded by the
    block's hypotheses; the buffer's untouched pages cost no memory. The chance is the union
    bound ``C(W, misses) · (B/M)^(W - misses)`` over which draws match (B: calls a draw may sit
    on), never below the exact figure of :mod:`mimicry.search.statistics`."""
    matched = job.window_size - job.misses_allowed
    chance = min(
        1.0,
        math.comb(job.window_size, job.misses_allowed)
        * (job.skip_choices / job.modulus) ** matched,
    )
    hypotheses = BLOCK * job.hypotheses_per_candidate
    return int(min(hypotheses, max(BLOCK_CAPACITY, 8 * hypotheses * chance + 64)))


class CpuBackend:
    name = "cpu"
    dask_resources: ClassVar[dict[str, int]] = {}
    # 2^32 hypotheses: about 10 s of xorshift32 at 64 offsets or of MT19937 at one offset on two
    # cores (BENCHMARKS.md); a 2^32 seed sweep at one offset is 4 chunks of 2^30.
    chunk_hypotheses = 1 << 32
    chunk_candidates = (1 << 24, 1 << 30)

    def __init__(
        self,
        prefilter: bool = True,
        kernel_cache: Path | None = None,
        native_kernels: bool = True,
        few_hypotheses: int = FEW_HYPOTHESES,
    ) -> None:
        #: Off only to measure what the prefilters buy (``mimicry bench --no-prefilter``).
        self.prefilter = prefilter
        #: Kept hypotheses a slice checks in plain Python (0: always the kernel, as the tests
        #: that check the kernels ask).
        self.few_hypotheses = few_hypotheses
        #: The compiled MT19937 seed prefilter where it applies (else numba's).
        self.native_kernels = native_kernels
        #: Where the specialised kernels and numba's cache of them live.
        self.kernel_cache = kernel_cache or default_kernel_cache()

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:
        return self.sieve_chunks([job], lo, hi)[0]

    def sieve_chunks(self, jobs: Sequence[SieveJob], lo: int, hi: int) -> list[ChunkResult]:
        """Candidates ``[lo, hi)`` of several jobs; jobs that differ only in a family seeded by
        ``init_genrand`` share one pass of the compiled prefilter (docs/design.md §6.3), and each
        chunk's seconds are those of the whole pass."""
        shared = (
            shared_prefilter(jobs, self.kernel_cache)
            if self.prefilter and self.native_kernels
            else None
        )
        with ALL_CORES:
            started = time.perf_counter()  # after the lock: a chunk's seconds are its own work
            matches: list[list[WindowMatch]] = [[] for _ in jobs]
            overflow = [False] * len(jobs)
            for slice_lo in range(lo, hi, SLICE):
                slice_hi = min(hi, slice_lo + SLICE)
                kept = shared(slice_lo, slice_hi - slice_lo) if shared else [None] * len(jobs)
                for n, job in enumerate(jobs):
                    found, full = self._sieve_slice(job, slice_lo, slice_hi, kept[n])
                    matches[n].extend(found)
                    overflow[n] |= full
        seconds = time.perf_counter() - started
        return [
            ChunkResult(
                lo=lo,
                hi=hi,
                matches=sorted(found, key=WindowMatch.sort_key),
                candidates_tested=hi - lo,
                seconds=seconds,
                overflow=full,
                backend=self.name,
            )
            for found, full in zip(matches, overflow, strict=True)
        ]

    def _sieve_slice(
        self, job: SieveJob, lo: int, hi: int, kept: np.ndarray | None = None
    ) -> tuple[list[WindowMatch], bool]:
        """The window matches of candidates ``[lo, hi)`` and whether a match buffer filled;
        ``kept``: the candidates a shared prefilter pass kept (else the job's own prefilter
        runs)."""
        family = get_family(job.family)
        projection = get_projection(job.projection)
        if family.numba is None:
            raise ValueError(f"{family.name} has no numba kernels; use --backend reference")
        state_words = family.numba.state_words
        # Codes of 2**63 and more (64-bit words, Java longs) travel as their int64 two's
        # complement, as the projections' numba draws return them.
        window = np.asarray([kernel_int(draw) for draw in job.window], dtype=np.int64)

        candidates = np.zeros(1, np.uint64)
        use_list = False
        count = hi - lo
        # prefilter_for says which projections and moduli have one (raw 32-bit words on the
        # MT19937 family among them: its Divisor of 2^32 is equality).
        prefilter = (
            prefilter_for(
                family.name, job, compiled=self.native_kernels, kernel_cache=self.kernel_cache
            )
            if self.prefilter and kept is None
            else None
        )
        if prefilter is not None and count > 0:
            kept = prefilter(lo, count)
        if kept is not None:
            if len(kept) * job.hypotheses_per_candidate <= self.few_hypotheses:
                return candidates_matches(job, map(int, kept)), False
            candidates, use_list, count = kept, True, len(kept)

        blocks = max(1, (count + BLOCK - 1) // BLOCK)
        gap_slots = max(job.window_size - 1, 1)
        capacity = block_capacity(job)
        out_candidate = np.zeros((blocks, capacity), np.uint64)
        out_first_call = np.zeros((blocks, capacity), np.int64)
        out_skip = np.zeros((blocks, capacity), np.int64)
        out_gaps = np.zeros((blocks, capacity, gap_slots), np.int64)
        out_matches = np.zeros((blocks, capacity), np.int64)
        out_count = np.zeros(blocks, np.int64)
        out_overflow = np.zeros(blocks, np.bool_)
        if count > 0:
            sieve = specialised_sieve(family, projection, job.mode is Mode.STATE, self.kernel_cache)
            arguments = (
                state_words,
                use_list,
                candidates,
                np.uint64(lo & 0xFFFFFFFFFFFFFFFF),
                count,
                window,
                kernel_int(job.modulus),
                projection.numba_param(job.modulus, family.word_bits),
                job.offsets[0],
                job.offsets[1],
                job.lead,
                job.skips[0],
                job.skips[1],
                job.variable_skip,
                job.misses_allowed,
                out_candidate,
                out_first_call,
                out_skip,
                out_gaps,
                out_matches,
                out_count,
                out_overflow,
            )
            compile_once(sieve, self.kernel_cache, 0, 0, *arguments)
            sieve_blocks(sieve, blocks, *arguments)
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
                        first_call=int(out_first_call[block, n]),
                        skip=skip,
                        matches=int(out_matches[block, n]),
                    )
                )
        return matches, bool(out_overflow.any())
