"""The gpu backend: the CUDA C sieve of ``gpu_kernels/cuda`` on NVIDIA (CuPy, NVRTC) or AMD
(CuPy's ROCm build, hipRTC) cards, one thread per candidate.

One source, three targets. ``cuda/sieve.cuh`` is instantiated per family (``sieve_kernel<F>``,
``F`` the family's index in ``gpu_kernels.registry.FAMILIES``, which ``cuda/families.cuh``
lists in the same order) and takes the projection by its index in :data:`PROJECTION_ORDER`.
On a GPU, CuPy compiles it once per device and caches the binary; the source handed to it has
its local includes expanded, so CuPy's cache key (the code's text) changes with any header.
With ``MIMICRY_GPU_TARGET=host`` the same source is compiled by g++ through
``cuda/host_shim.h`` (the CUDA built-ins as a loop over blocks and threads) and launched over the
same grid: a test and debugging target, which is how the conformance suite checks the kernels
on machines without a GPU.

A chunk's matches go into a bounded buffer through an atomic counter; when it overflows the
chunk is sieved again in halves (never truncated), and the matches are put in the canonical
order (candidate, first call, skip), so a chunk's answer equals the cpu backend's.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import threading
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from gpu_kernels.backends import BackendUnavailable, default_kernel_cache, native
from gpu_kernels.backends.prefilter_tests import first_word_test, mt_seed_test
from gpu_kernels.job import ChunkResult, Mode, SieveJob, WindowMatch
from gpu_kernels.projections import kernel_int
from gpu_kernels.registry import FAMILIES, get_family, get_projection

CUDA_DIR = Path(__file__).resolve().parents[1] / "cuda"
#: The projections in the order of ``MIMICRY_PROJECTIONS`` in ``cuda/projections.cuh``.
PROJECTION_ORDER = (
    "mod",
    "python_randrange",
    "python_getrandbits",
    "python_float",
    "java_nextint",
    "php_mt_rand",
    "php_mt_rand_range",
    "php5_mt_rand_range",
    "raw",
    "java_nextint32",
    "java_nextlong",
    "python_random_float",
    "v8_math_random",
)
#: ``MIMICRY_MAX_WINDOW`` and ``MIMICRY_RING`` of ``cuda/sieve.cuh``.
MAX_WINDOW = 64
RING = 1024
#: Threads per block, and blocks at most per launch (the grid-stride loop covers the rest).
BLOCK_THREADS = 128
MAX_BLOCKS = 1 << 16
#: Match buffer rows at least; more when chance matches are expected to be common.
MIN_CAPACITY = 4096
HOST_FLAGS = ("-std=c++17", "-O2", "-fopenmp", "-DMIMICRY_HOST", "-x", "c++", "-shared", "-fPIC")


def job_params(job: SieveJob) -> np.ndarray:
    """The job's numbers in the order of ``enum JobParam`` of ``cuda/sieve.cuh``."""
    family, projection = get_family(job.family), get_projection(job.projection)
    return np.array(
        [
            job.window_size,
            kernel_int(job.modulus),
            projection.numba_param(job.modulus, family.word_bits),
            PROJECTION_ORDER.index(job.projection),
            int(job.mode is Mode.STATE),
            job.offsets[0],
            job.offsets[1],
            job.lead,
            job.skips[0],
            job.skips[1],
            int(job.variable_skip),
            job.misses_allowed,
        ],
        dtype=np.int64,
    )


def mt_test_words(tested) -> np.ndarray:
    """An MT19937 prefilter test as the u32 words of ``enum MtTestWord`` of
    ``cuda/mt_seed_prefilter.cuh``."""
    head = [
        tested.word_lo,
        tested.word_hi,
        tested.depth,
        tested.stride,
        tested.twists,
        tested.kind,
        tested.inverse,
        tested.shift,
        tested.limit,
        tested.reject_limit,
    ]
    return np.array(head + list(tested.draw) + list(tested.low) + list(tested.high), np.uint32)


def why_not_on_gpu(job: SieveJob) -> str | None:
    """Why the gpu kernel cannot sieve this job (a thread keeps a bounded ring of calls), or
    None."""
    span = (job.window_size - 1) * (job.skips[1] + 1) + 1
    if job.window_size > MAX_WINDOW:
        return (
            f"the gpu backend sieves windows of at most {MAX_WINDOW} draws, and this one has "
            f"{job.window_size} (use --window or --backend cpu)"
        )
    if span > RING:
        return (
            f"the gpu backend keeps {RING} calls per candidate, and this window spans {span} "
            f"({job.window_size} draws, skips up to {job.skips[1]}); use --backend cpu"
        )
    return None


def kernel_source() -> str:
    """``cuda/kernels.cuh`` with its local includes expanded, each file once (``#pragma once``)."""
    seen: set[Path] = set()

    def expand(path: Path) -> str:
        if path in seen:
            return ""
        seen.add(path)
        lines = []
        for line in path.read_text().splitlines():
            include = re.fullmatch(r'\s*#include\s+"([^"]+)"\s*', line)
            if include and not include.group(1).endswith("host_shim.h"):
                lines.append(expand((path.parent / include.group(1)).resolve()))
            elif line.strip() != "#pragma once":
                lines.append(line)
        return "\n".join(lines)

    return expand(CUDA_DIR / "kernels.cuh")


def cuda_sources() -> list[Path]:
    return sorted(CUDA_DIR.rglob("*.cu*")) + sorted(CUDA_DIR.rglob("*.h"))


class _Buffers:
    """A launch's match buffer and counters, on the target's side."""

    def __init__(self, xp, capacity: int, gap_slots: int) -> None:
        self.candidate = xp.zeros(capacity, np.uint64)
        self.first_call = xp.zeros(capacity, np.int64)
        self.skip = xp.zeros(capacity, np.int64)
        self.gaps = xp.zeros(capacity * gap_slots, np.int64)
        self.matches = xp.zeros(capacity, np.int64)
        self.count = xp.zeros(1, np.uint32)
        self.overflow = xp.zeros(1, np.uint32)


class HostTarget:
    """The kernels compiled for this CPU by g++ (``MIMICRY_GPU_TARGET=host``)."""

    name = "host (MIMICRY_GPU_TARGET=host: the CUDA source compiled by g++, for tests)"
    xp = np

    def __init__(self, kernel_cache: Path | None) -> None:
        source = CUDA_DIR / "host_launch.cu"
        flags = (*HOST_FLAGS, f"-I{CUDA_DIR}")
        try:
            library = native.build_library(source, cuda_sources(), flags, kernel_cache, cxx=True)
        except native.NativeUnavailable as error:
            raise BackendUnavailable(
                f"the gpu backend's host target cannot be built: {error}"
            ) from None
        self._sieve = ctypes.CDLL(str(library)).mimicry_host_sieve
        self._sieve.restype = ctypes.c_int
        self._sieve.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_int, ctypes.c_void_p]
        self._sieve.argtypes += [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int]
        self._sieve.argtypes += [ctypes.c_void_p] * 9 + [ctypes.c_uint, ctypes.c_int]
        self._prefilter = ctypes.CDLL(str(library)).mimicry_host_mt_seed_prefilter
        self._prefilter.restype = None
        self._prefilter.argtypes = [ctypes.c_longlong, ctypes.c_int, ctypes.c_uint64]
        self._prefilter.argtypes += [ctypes.c_uint64] + [ctypes.c_void_p] * 3
        self._prefilter.argtypes += [ctypes.c_uint, ctypes.c_void_p]
        self._first_word = ctypes.CDLL(str(library)).mimicry_host_first_word_prefilter
        self._first_word.restype = None
        self._first_word.argtypes = [ctypes.c_longlong, ctypes.c_int, ctypes.c_int]
        self._first_word.argtypes += [ctypes.c_uint64] * 2 + [ctypes.c_void_p] * 4
        self._first_word.argtypes += [ctypes.c_uint, ctypes.c_void_p]

    def prefilter(self, grid: int, lo: int, count: int, test, kept, kept_count, overflow):
        self._prefilter(
            grid,
            BLOCK_THREADS,
            lo,
            count,
            test.ctypes.data,
            kept.ctypes.data,
            kept_count.ctypes.data,
            len(kept),
            overflow.ctypes.data,
        )

    def first_word_prefilter(
        self, grid: int, family: int, lo: int, count: int, test, table, kept, kept_count, overflow
    ):
        self._first_word(
            grid,
            BLOCK_THREADS,
            family,
            lo,
            count,
            test.ctypes.data,
            table.ctypes.data,
            kept.ctypes.data,
            kept_count.ctypes.data,
            len(kept),
            overflow.ctypes.data,
        )

    def launch(self, family: int, grid: int, candidates, lo, count, use_list, params, window, b):
        status = self._sieve(
            family,
            grid,
            BLOCK_THREADS,
            candidates.ctypes.data,
            lo,
            count,
            use_list,
            params.ctypes.data,
            window.ctypes.data,
            *(a.ctypes.data for a in (b.candidate, b.first_call, b.skip, b.gaps, b.matches)),
            b.count.ctypes.data,
            b.overflow.ctypes.data,
            len(b.candidate),
            len(b.gaps) // len(b.candidate),
        )
        if status != 0:
            raise ValueError(f"the host target has no family {family}")

    @staticmethod
    def to_host(array) -> np.ndarray:
        return array

    @staticmethod
    def synchronize() -> None:
        """Launches on the host return when they are done."""

    @staticmethod
    def stream():
        return contextlib.nullcontext()


class CupyTarget:
    """The kernels on a CUDA or ROCm device through CuPy."""

    def __init__(self) -> None:
        try:
            import cupy
        except ImportError:
            raise BackendUnavailable(
                "the gpu backend needs CuPy: pip install 'mimicry[cuda12]' on NVIDIA, "
                "'mimicry[rocm]' on AMD"
            ) from None
        try:
            devices = cupy.cuda.runtime.getDeviceCount()
        except cupy.cuda.runtime.CUDARuntimeError as error:
            raise BackendUnavailable(f"the gpu backend found no GPU: {error}") from None
        if devices == 0:
            raise BackendUnavailable("the gpu backend found no GPU")
        self.xp = cupy
        self._threads = threading.local()
        device = cupy.cuda.Device()
        properties = cupy.cuda.runtime.getDeviceProperties(device.id)
        platform = "ROCm" if cupy.cuda.runtime.is_hip else "CUDA"
        self.name = f"{platform} device {device.id}: {properties['name'].decode()}"
        self._module = _cupy_module()

    def launch(self, family: int, grid: int, candidates, lo, count, use_list, params, window, b):
        kernel = self._module.get_function(f"sieve_kernel<{family}>")
        capacity, gap_slots = len(b.candidate), len(b.gaps) // len(b.candidate)
        kernel(
            (grid,),
            (BLOCK_THREADS,),
            (
                candidates,
                np.uint64(lo),
                np.uint64(count),
                np.int32(use_list),
                params,
                window,
                b.candidate,
                b.first_call,
                b.skip,
                b.gaps,
                b.matches,
                b.count,
                b.overflow,
                np.uint32(capacity),
                np.int32(gap_slots),
            ),
        )

    def prefilter(self, grid: int, lo: int, count: int, test, kept, kept_count, overflow):
        self._module.get_function("mt_seed_prefilter")(
            (grid,),
            (BLOCK_THREADS,),
            (
                np.uint64(lo),
                np.uint64(count),
                test,
                kept,
                kept_count,
                np.uint32(len(kept)),
                overflow,
            ),
        )

    def first_word_prefilter(
        self, grid: int, family: int, lo: int, count: int, test, table, kept, kept_count, overflow
    ):
        self._module.get_function("first_word_prefilter")(
            (grid,),
            (BLOCK_THREADS,),
            (
                np.int32(family),
                np.uint64(lo),
                np.uint64(count),
                test,
                table,
                kept,
                kept_count,
                np.uint32(len(kept)),
                overflow,
            ),
        )

    @staticmethod
    def to_host(array) -> np.ndarray:
        return array.get()

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()

    def stream(self):
        """This thread's own non-blocking stream: a Dask worker's two chunk threads each launch
        on theirs, so one chunk's copies and host work overlap the other's kernels."""
        stream = getattr(self._threads, "stream", None)
        if stream is None:
            stream = self._threads.stream = self.xp.cuda.Stream(non_blocking=True)
        return stream


@cache
def _cupy_module():
    import cupy

    return cupy.RawModule(
        code=kernel_source(),
        options=("-std=c++17",),
        name_expressions=[f"sieve_kernel<{index}>" for index in range(len(FAMILIES))],
        # the prefilter is extern "C": found by its own name
    )


def select_target(kernel_cache: Path | None, target: str = "device"):
    """``host`` (the kernels on this CPU, for tests) or ``device`` (a CUDA or ROCm device
    through CuPy): the ``MIMICRY_GPU_TARGET`` setting, read by the caller."""
    if target == "host":
        return HostTarget(kernel_cache)
    if target != "device":
        raise BackendUnavailable(f"MIMICRY_GPU_TARGET must be 'host' or 'device', got {target!r}")
    return CupyTarget()


class GpuBackend:
    name = "gpu"
    dask_resources: ClassVar[dict[str, int]] = {"GPU": 1}
    # Seconds of work a chunk (the 2^30 to 2^34 hypotheses): a 2^32 seed sweep at one
    # offset is 4 chunks of 2^30, which a worker's two chunk threads run two at a time.
    chunk_hypotheses = 1 << 34
    chunk_candidates = (1 << 22, 1 << 30)

    def __init__(self, kernel_cache: Path | None = None, target: str = "device") -> None:
        self.kernel_cache = kernel_cache or default_kernel_cache()
        self.target = select_target(self.kernel_cache, target)
        #: Seconds spent in launched kernels so far (each launch timed to its end), apart from
        #: the host's work around them: what benchmarks/gpu.py reports as kernel time.
        self.kernel_seconds = 0.0

    @property
    def device(self) -> str:
        return self.target.name

    def sieve_chunks(self, jobs: Sequence[SieveJob], lo: int, hi: int) -> list[ChunkResult]:
        return [self.sieve_chunk(job, lo, hi) for job in jobs]

    def sieve_chunk(self, job: SieveJob, lo: int, hi: int) -> ChunkResult:
        problem = why_not_on_gpu(job)
        if problem:
            raise ValueError(problem)
        started = time.perf_counter()
        with self.target.stream():
            matches = self._sieve_range(job, lo, hi)
        matches.sort(key=WindowMatch.sort_key)
        return ChunkResult(
            lo=lo,
            hi=hi,
            matches=matches,
            candidates_tested=hi - lo,
            seconds=time.perf_counter() - started,
            overflow=False,
            backend=self.name,
        )

    @contextlib.contextmanager
    def _timed(self):
        started = time.perf_counter()
        yield
        self.target.synchronize()
        self.kernel_seconds += time.perf_counter() - started

    def _halves(self, job: SieveJob, lo: int, hi: int) -> list[WindowMatch]:
        middle = lo + (hi - lo) // 2
        if middle == lo:  # one candidate never overflows: the capacity holds its hypotheses
            raise RuntimeError("a single candidate overflowed the match buffer")
        return self._sieve_range(job, lo, middle) + self._sieve_range(job, middle, hi)

    def _kept(self, job: SieveJob, count: int, depth: int, reject_limit: int, launch):
        """The candidates a prefilter ``launch(grid, kept, kept_count, overflow)`` keeps of
        ``count`` (on the target's side), or None when more were kept than its list holds."""
        xp = self.target.xp
        # Chance keeps (the tested draws at some first call) and rejected words, 8× over.
        chance = (job.first_calls[1] - job.first_calls[0] + 1) * (1 / job.modulus) ** depth
        expected = count * (chance + 226 * (0xFFFFFFFF - reject_limit) / 2**32)
        capacity = int(min(count, max(MIN_CAPACITY, 8 * expected + 64)))
        kept = xp.zeros(capacity, np.uint64)
        kept_count, overflow = xp.zeros(1, np.uint32), xp.zeros(1, np.uint32)
        grid = max(1, min(MAX_BLOCKS, -(-count // BLOCK_THREADS)))
        with self._timed():
            launch(grid, kept, kept_count, overflow)
        if int(self.target.to_host(overflow)[0]):
            return None
        found = int(self.target.to_host(kept_count)[0])
        # Threads finish in any order; the sieve's matches are sorted at the end anyway.
        return kept[:found]

    def _prefilter(self, job: SieveJob, lo: int, count: int):
        """What this job's prefilter keeps of ``[lo, lo + count)`` (see :meth:`_kept`); the
        whole range (``False``) where none applies."""
        xp = self.target.xp
        family = get_family(job.family).name
        tested = mt_seed_test(family, job)
        if tested is not None:
            test = xp.asarray(mt_test_words(tested))
            return self._kept(
                job,
                count,
                tested.depth,
                tested.reject_limit,
                lambda grid, *out: self.target.prefilter(grid, lo, count, test, *out),
            )
        first_word = first_word_test(family, job)
        if first_word is not None:
            index, test, table = first_word
            test, table = xp.asarray(test), xp.asarray(table)
            return self._kept(
                job,
                count,
                1,
                0xFFFFFFFF,
                lambda grid, *out: self.target.first_word_prefilter(
                    grid, index, lo, count, test, table, *out
                ),
            )
        return False

    def _capacity(self, job: SieveJob, count: int) -> int:
        """Rows for the chance matches expected (8×) and at least one candidate's hypotheses,
        so that halving always ends."""
        matched = job.window_size - job.misses_allowed
        chance = min(1.0, (job.skip_choices / job.modulus) ** matched * 2**job.misses_allowed)
        expected = count * job.hypotheses_per_candidate * chance
        return int(max(MIN_CAPACITY, job.hypotheses_per_candidate, 8 * expected + 64))

    def _sieve_range(self, job: SieveJob, lo: int, hi: int) -> list[WindowMatch]:
        """Every match of candidates ``[lo, hi)``: a prefilter where one applies (MT19937 seeds,
        or the first-word prefilters),
        then the sieve kernel on what it kept (or on the whole range); on an overflow of either
        buffer, the two halves."""
        xp = self.target.xp
        count = hi - lo
        if count <= 0:
            return []
        candidates, use_list, sieved = xp.zeros(1, np.uint64), 0, count
        kept = self._prefilter(job, lo, count)
        if kept is None:
            return self._halves(job, lo, hi)
        if kept is not False:
            candidates, use_list, sieved = kept, 1, len(kept)
            if sieved == 0:
                return []
        gap_slots = max(job.window_size - 1, 1)
        capacity = self._capacity(job, sieved)
        buffers = _Buffers(xp, capacity, gap_slots)
        params = xp.asarray(job_params(job))
        window = xp.asarray(np.array([kernel_int(d) for d in job.window], dtype=np.int64))
        grid = max(1, min(MAX_BLOCKS, -(-sieved // BLOCK_THREADS)))
        family_index = list(FAMILIES).index(get_family(job.family).name)
        with self._timed():
            self.target.launch(
                family_index,
                grid,
                candidates,
                lo & 0xFFFFFFFFFFFFFFFF,
                sieved,
                use_list,
                params,
                window,
                buffers,
            )
        if int(self.target.to_host(buffers.overflow)[0]):
            return self._halves(job, lo, hi)
        found = min(int(self.target.to_host(buffers.count)[0]), capacity)
        host = {
            name: self.target.to_host(getattr(buffers, name))
            for name in ("candidate", "first_call", "skip", "gaps", "matches")
        }
        gaps = host["gaps"].reshape(capacity, gap_slots)
        matches = []
        for n in range(found):
            skip = (
                tuple(int(g) for g in gaps[n, : job.window_size - 1])
                if job.variable_skip
                else int(host["skip"][n])
            )
            matches.append(
                WindowMatch(
                    candidate=int(host["candidate"][n]),
                    first_call=int(host["first_call"][n]),
                    skip=skip,
                    matches=int(host["matches"][n]),
                )
            )
        return matches
