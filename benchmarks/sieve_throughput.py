"""Candidates per second per family on one backend: the table in BENCHMARKS.md.

    python benchmarks/sieve_throughput.py [--backend cpu] [--repeats 5] [--no-prefilter]
        [--projection mod --modulus 1000] [FAMILY…]

Workload: a window of 8 draws mod 1000 (or of ``--projection`` with ``--modulus``), offset 0,
skip 0, the truth inside the swept range; seed mode except xorshift32 (state mode). Prints the
median of the timed runs (compile excluded).
"""

from __future__ import annotations

import argparse
import json
import os

from gpu_kernels.registry import FAMILIES
from mimicry.search.bench import bench_family


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", default=sorted(FAMILIES))
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=None)
    parser.add_argument("--no-prefilter", action="store_true")
    parser.add_argument("--projection", default="mod")
    parser.add_argument("--modulus", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(
        f"# cores: {os.cpu_count()}, backend: {args.backend}, repeats: {args.repeats}, "
        f"prefilter: {not args.no_prefilter}, projection: {args.projection}, M = {args.modulus}",
        flush=True,
    )
    print("| family | mode | candidates | median M/s | runs (s) | compile (s) | truth found |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name in args.families:
        result = bench_family(
            name,
            backend=args.backend,
            candidates=args.candidates,
            repeats=args.repeats,
            prefilter=not args.no_prefilter,
            projection=args.projection,
            modulus=args.modulus,
        )
        rows.append(result)
        runs = ", ".join(f"{s:.2f}" for s in result.seconds)
        print(
            f"| {name} | {result.mode} | {result.candidates:,} | "
            f"{result.median_rate / 1e6:.2f} | {runs} | {result.compile_seconds:.1f} | "
            f"{result.found_truth} |",
            flush=True,
        )
    if args.json:
        print(json.dumps([r.__dict__ | {"median_rate": r.median_rate} for r in rows]))


if __name__ == "__main__":
    main()
