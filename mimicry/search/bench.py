"""Sieve throughput: candidates per second per family, the figure BENCHMARKS.md records.

The workload is the issue's: a window of 8 draws mod 1000, offset 0, skip 0, the true seed (or
state) inside the swept range, one backend, warm (numba's compile time is excluded by a small
warm-up chunk and reported apart).
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

from gpu_kernels.backends.cpu import CpuBackend
from gpu_kernels.job import Mode, SieveJob
from gpu_kernels.registry import FAMILIES, get_family, get_projection
from mimicry.search.sieve import run_sieve
from mimicry.settings import sieve_backend

#: Candidates swept per timed run, by family: enough for a few seconds on 2 cores.
DEFAULT_CANDIDATES = {
    "mt19937": 1 << 26,
    "python_random": 1 << 24,
    "glibc_rand": 1 << 26,
    "java_random": 1 << 28,
    "xorshift32": 1 << 28,
}
FALLBACK_CANDIDATES = 1 << 22
WINDOW = 8
MODULUS = 1000


@dataclass(frozen=True)
class BenchResult:
    family: str
    mode: str
    backend: str
    candidates: int
    seconds: list[float]
    compile_seconds: float
    found_truth: bool

    @property
    def median_rate(self) -> float:
        return self.candidates / statistics.median(self.seconds)


def bench_family(
    name: str,
    *,
    backend: str = "cpu",
    candidates: int | None = None,
    repeats: int = 3,
    mode: Mode | None = None,
    prefilter: bool = True,
    projection: str = "mod",
    modulus: int = MODULUS,
) -> BenchResult:
    family = get_family(name)
    if mode is None:
        mode = Mode.STATE if name == "xorshift32" else Mode.SEED
    count = candidates or DEFAULT_CANDIDATES.get(name, FALLBACK_CANDIDATES)
    space_lo, space_hi = family.candidate_space(mode)
    lo = space_lo
    hi = min(space_hi, lo + count - 1)
    truth = random.Random(1).randint(lo, hi)
    state = family.state_from_int(truth) if mode is Mode.STATE else family.seed(truth)
    words = family.words(state)
    projector = get_projection(projection)
    history = [projector.draw(words, modulus, family.word_bits) for _ in range(WINDOW + 16)]
    job = SieveJob(
        family=name,
        projection=projection,
        window=tuple(history[:WINDOW]),
        modulus=modulus,
        mode=mode,
        candidate_range=(lo, hi),
    )
    engine = sieve_backend(backend)
    if backend == "cpu" and not prefilter:
        engine = CpuBackend(prefilter=False, kernel_cache=engine.kernel_cache)
    started = time.perf_counter()
    # Compile the specialisations once, on a chunk around the truth so that the full check runs
    # too (a chunk without a first-draw match would leave its compile inside the first timed run).
    warm_lo = max(lo, truth - 512)
    engine.sieve_chunk(job, warm_lo, min(hi + 1, warm_lo + 1024))
    compile_seconds = time.perf_counter() - started
    seconds, found = [], True
    for _ in range(repeats):
        result = run_sieve(history, job, backend=engine, top=5)
        seconds.append(result.stats.seconds)
        best = result.survivors[0] if result.survivors else None
        found = found and best is not None and truth in (best.seed, best.state)
    return BenchResult(name, mode.value, backend, hi - lo + 1, seconds, compile_seconds, found)


def bench(families: list[str] | None = None, **options) -> list[BenchResult]:
    return [bench_family(name, **options) for name in (families or sorted(FAMILIES))]
