"""The gpu backend on the issue's workloads: candidates/s, the 2^32 time, kernel time apart.

    python benchmarks/gpu.py [--candidates N] [--repeats 3] [--command] [WORKLOAD…]

Workloads (a window of 8 draws mod 1000, offset 0, skip 0, the truth inside the swept range):

* ``mt19937``: all 2^32 seeds (the prefilter kernel, then the sieve on what it keeps);
* ``xorshift32``: all 2^32 states (state mode);
* ``python_random``, ``glibc_rand``, ``java_random``: 2^32 seeds (each through its first-word
  prefilter, then the sieve on what it keeps);
* ``java_ms_day``: ``new Random(System.currentTimeMillis())`` over one day of milliseconds.

Each is swept in the backend's largest default chunks (2^30 candidates), timed whole (host work
included) and as kernel time (each launch timed to its end). ``--candidates N`` sweeps only the
first N candidates of each (around the truth) and extrapolates to the full range: how the
script is tried on the host target (``MIMICRY_GPU_TARGET=host``) where a full sweep would take
hours. ``--command`` also times ``mimicry sieve --backend gpu`` on the mt19937 workload as a
whole process (Python start, the kernels' load, the sweep, the answer).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gpu_kernels.backends.gpu import GpuBackend
from gpu_kernels.job import Mode, SieveJob
from gpu_kernels.registry import get_family, get_projection
from mimicry.settings import sieve_backend

WINDOW = 8
MODULUS = 1000
DAY_MS = 86_400_000
#: 2026-11-30 00:00 UTC in milliseconds: the day the java_ms_day workload sweeps.
DAY_START_MS = 1_795_996_800_000

#: name: (family, mode, first candidate, candidates in the full range)
WORKLOADS = {
    "mt19937": ("mt19937", Mode.SEED, 0, 1 << 32),
    "xorshift32": ("xorshift32", Mode.STATE, 1, (1 << 32) - 1),
    "python_random": ("python_random", Mode.SEED, 0, 1 << 32),
    "glibc_rand": ("glibc_rand", Mode.SEED, 0, 1 << 32),
    "java_random": ("java_random", Mode.SEED, 0, 1 << 32),
    "java_ms_day": ("java_random", Mode.SEED, DAY_START_MS, DAY_MS),
}


def workload_job(name: str, swept: int) -> tuple[SieveJob, int]:
    """The job (its truth inside the first ``swept`` candidates) and its truth."""
    family_name, mode, first, _ = WORKLOADS[name]
    family = get_family(family_name)
    truth = first + random.Random(name).randrange(swept)
    state = family.state_from_int(truth) if mode is Mode.STATE else family.seed(truth)
    words = family.words(state)
    draws = tuple(
        get_projection("mod").draw(words, MODULUS, family.word_bits) for _ in range(WINDOW)
    )
    job = SieveJob(
        family=family_name,
        window=draws,
        modulus=MODULUS,
        mode=mode,
        candidate_range=(first, first + swept - 1),
    )
    return job, truth


def sweep(backend: GpuBackend, job: SieveJob) -> tuple[float, float, list[int]]:
    """Whole seconds, kernel seconds and the candidates found, in chunks of the backend's
    largest default size."""
    first, last = job.candidate_range
    step = backend.chunk_candidates[1]
    backend.kernel_seconds = 0.0
    started = time.perf_counter()
    found = []
    for lo in range(first, last + 1, step):
        result = backend.sieve_chunk(job, lo, min(last + 1, lo + step))
        found += [m.candidate for m in result.matches]
    return time.perf_counter() - started, backend.kernel_seconds, found


def whole_command(job: SieveJob) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "draws.txt").write_text("".join(f"{d}\n" for d in job.window))
        first, last = job.candidate_range
        started = time.perf_counter()
        command = ["sieve", "draws.txt", "--family", job.family, "--seeds", f"{first}..{last}"]
        subprocess.run(
            [sys.executable, "-m", "mimicry_cli", *command, "--backend", "gpu", "--json"],
            cwd=scratch,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--command", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    backend = sieve_backend("gpu")  # MIMICRY_GPU_TARGET=host: the kernels on this CPU
    print(f"# device: {backend.device} (backend ready in {time.perf_counter() - started:.1f} s)")
    print(
        "| workload | candidates | median M/s | whole runs (s) | kernel runs (s) | "
        "full range: whole / kernel (s) | truth found |"
    )
    print("|---|---:|---:|---|---|---|---|")
    for name in args.workloads:
        full = WORKLOADS[name][3]
        swept = min(full, args.candidates or full)
        job, truth = workload_job(name, swept)
        backend.sieve_chunk(job, truth, truth + 1)  # compile and load before the clock
        runs = [sweep(backend, job) for _ in range(args.repeats)]
        whole = statistics.median(r[0] for r in runs)
        kernel = statistics.median(r[1] for r in runs)
        scale = full / swept
        print(
            f"| {name} | {swept:,} | {swept / whole / 1e6:,.1f} | "
            f"{', '.join(f'{r[0]:.2f}' for r in runs)} | "
            f"{', '.join(f'{r[1]:.2f}' for r in runs)} | "
            f"{whole * scale:,.1f} / {kernel * scale:,.1f} | "
            f"{all(truth in r[2] for r in runs)} |",
            flush=True,
        )
    if args.command:
        job, _ = workload_job("mt19937", min(1 << 32, args.candidates or 1 << 32))
        seconds = [whole_command(job) for _ in range(args.repeats)]
        print(
            f"mimicry sieve --backend gpu, mt19937, {job.candidate_count:,} seeds: median "
            f"{statistics.median(seconds):.1f} s (runs {', '.join(f'{s:.1f}' for s in seconds)})"
        )


if __name__ == "__main__":
    main()
