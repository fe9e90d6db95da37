"""A full sweep of a family's whole seed (or state) space: time and peak memory.

    python benchmarks/full_sweep.py xorshift32 --mode state
    python benchmarks/full_sweep.py mt19937

The truth is planted at a random point of the space; the sweep must find it. Peak RSS is the
process's maximum resident set (``getrusage``), which must stay O(chunk), not O(space).
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from gpu_kernels.job import Mode, SieveJob
from gpu_kernels.registry import get_family, get_projection
from mimicry.search.sieve import run_sieve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default="seed")
    parser.add_argument("--modulus", type=int, default=1000)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--chunk-size", type=int, default=None)
    args = parser.parse_args()
    family, mode = get_family(args.family), Mode(args.mode)
    lo, hi = family.default_candidates(mode)
    truth = random.Random().randint(lo, hi)
    state = family.state_from_int(truth) if mode is Mode.STATE else family.seed(truth)
    words = family.words(state)
    draw = get_projection("mod").draw
    history = [draw(words, args.modulus, family.word_bits) for _ in range(args.window + 8)]
    job = SieveJob(
        family=family.name,
        window=tuple(history[: args.window]),
        modulus=args.modulus,
        mode=mode,
        candidate_range=(lo, hi),
    )
    started = time.perf_counter()
    result = run_sieve(history, job, backend="cpu", chunk_size=args.chunk_size, top=5)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = result.survivors[0] if result.survivors else None
    found = best is not None and truth in (best.seed, best.state)
    print(
        f"{family.name} {mode.value} sweep of {job.candidate_count:,} candidates: "
        f"{elapsed:.1f} s wall (incl. compile), "
        f"{result.stats.candidates_per_second / 1e6:.1f} M/s, "
        f"peak RSS {peak_mib:.0f} MiB, survivors {result.stats.survivor_count} "
        f"(expected by chance {result.stats.expected_false_survivors:.3g}), "
        f"truth {truth} found: {found}, complete: {result.stats.complete}"
    )


if __name__ == "__main__":
    main()
