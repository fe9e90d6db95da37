"""The compiled MT19937 seed prefilter alone: builds of ``mt_seed_prefilter.c`` side by side.

    python benchmarks/mt_seed_kernel.py [--rounds 7] [--seeds 268435456] [--variant NAME=FLAGS ...]
    python benchmarks/mt_seed_kernel.py --chains [--rounds 3]

Each variant is the kernel compiled as the cpu backend compiles it (``-O3 -march=native
-fopenmp``) plus its flags (``-DVECTORS=8``, ``-mno-avx512f`` for the AVX2 build…), linked to a
small C driver that sweeps ``--seeds`` seeds from 0 in 2^24-seed calls on 2 threads, on case A's
test (one ``mt_rand()`` value, both PHP flavours). Rounds run the variants in turn, so a busy
minute slows them all; each line gives the best and the median M seeds/s (noise only slows).

``--chains``: a loop of ``init_genrand`` steps alone on 16-lane vectors, one thread, for 4 to 24
chains, in cycles a vector step (the clock read from a chain of dependent scalar adds). Needs an
AVX-512 host.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import tempfile
from pathlib import Path

KERNEL = Path(__file__).resolve().parent.parent / "gpu_kernels/backends/native/mt_seed_prefilter.c"
DEFAULT_VARIANTS = [
    "host",
    "8-chains=-DVECTORS=8",
    "avx2=-mno-avx512f",
    "avx2-8-chains=-mno-avx512f -DVECTORS=8",
]

DRIVER = r"""
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
struct mt_seed_job {
    uint64_t lo; int64_t count; int32_t word_lo, word_hi, depth, stride, twists, kind;
    uint32_t inverse, shift, limit, reject_limit; int32_t threads, kept;
    uint32_t draw[8], low[8], high[8];
};
int mt_seed_prefilter(struct mt_seed_job *job, uint8_t *keep);
int main(int argc, char **argv) {
    int64_t total = atoll(argv[1]), chunk = 1 << 24;
    uint8_t *keep = malloc(chunk);
    struct mt_seed_job job;
    memset(&job, 0, sizeof job);
    job.depth = job.stride = 1; job.twists = 3; job.kind = 1; job.threads = 2;
    job.reject_limit = 0xFFFFFFFFu; job.low[0] = 1328851649u; job.high[0] = 1328851650u;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int64_t lo = 0; lo < total; lo += chunk) {
        job.lo = lo; job.count = chunk;
        if (mt_seed_prefilter(&job, keep)) return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.1f\n", total / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9) / 1e6);
    return 0;
}
"""

CHAINS = r"""
#include <stdio.h>
#include <stdint.h>
#include <time.h>
typedef uint32_t u32v __attribute__((vector_size(64)));
#define TEXT(x) #x
#define UNROLL(n) _Pragma(TEXT(GCC unroll n))
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                          return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
    unsigned long counter = 0; long adds = 1000000000;
    double t = now();
    for (long i = 0; i < adds; i += 4)
        __asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0" : "+r"(counter));
    double hertz = adds / (now() - t);
    u32v x[CHAINS], step = (u32v){0} + 1u;
    for (int v = 0; v < CHAINS; v++) for (int l = 0; l < 16; l++) x[v][l] = v * 16 + l + 1;
    long steps = 50000000;
    t = now();
    for (long i = 0; i < steps; i++, step += 1u) {
        UNROLL(CHAINS)
        for (int v = 0; v < CHAINS; v++) x[v] = 1812433253u * (x[v] ^ (x[v] >> 30)) + step;
    }
    double seconds = now() - t;
    uint32_t sink = 0;
    for (int v = 0; v < CHAINS; v++) for (int l = 0; l < 16; l++) sink ^= x[v][l];
    printf("%.2f %.2f %u\n", seconds * hertz / steps / CHAINS, hertz / 1e9, sink);
    return 0;
}
"""


def build(directory: Path, name: str, sources: list[Path], flags: list[str]) -> Path:
    binary = directory / name
    flags = ["-O3", "-march=native", "-fopenmp", *flags]
    subprocess.run(["cc", *flags, "-o", str(binary), *map(str, sources)], check=True)
    return binary


def kernels(rounds: int, seeds: int, variants: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        driver = directory / "driver.c"
        driver.write_text(DRIVER)
        binaries = {}
        for variant in variants:
            name, _, flags = variant.partition("=")
            binaries[name] = build(directory, name, [driver, KERNEL], shlex.split(flags))
        rates: dict[str, list[float]] = {name: [] for name in binaries}
        for _ in range(rounds):
            for name, binary in binaries.items():
                out = subprocess.run([str(binary), str(seeds)], capture_output=True, text=True)
                rates[name].append(float(out.stdout))
        for name, runs in rates.items():
            print(
                f"{name:>16}: best {max(runs):6.1f}  median {statistics.median(runs):6.1f} "
                f"M seeds/s  ({', '.join(f'{r:.1f}' for r in runs)})"
            )


def chains(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        source = directory / "chains.c"
        source.write_text(CHAINS)
        for count in (4, 8, 12, 16, 20, 24):
            binary = build(directory, f"chains{count}", [source], [f"-DCHAINS={count}"])
            runs = [
                subprocess.run([str(binary)], capture_output=True, text=True).stdout.split()
                for _ in range(rounds)
            ]
            cycles = statistics.median(float(run[0]) for run in runs)
            clock = statistics.median(float(run[1]) for run in runs)
            print(f"{count:>2} chains: {cycles:.2f} cycles a vector step (clock {clock:.2f} GHz)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=1 << 28)
    parser.add_argument("--variant", action="append", help="NAME=FLAGS (repeatable)")
    parser.add_argument("--chains", action="store_true", help="the step loop alone")
    args = parser.parse_args()
    if args.chains:
        chains(args.rounds)
    else:
        kernels(args.rounds, args.seeds, args.variant or DEFAULT_VARIANTS)


if __name__ == "__main__":
    main()
