"""State recovery (``mimicry recover``'s solvers), timed per family and reading.

    python benchmarks/recover.py [--repeats 3] [CASE…]
    python benchmarks/recover.py --out-of-reach


Each case makes its draws from a random state with the family's own reference twin (CPython's
``random`` for the MT readings), recovers the state from them and checks the predictions
against the draws that follow. Prints the median seconds of the repetitions (in-process: the
CLI adds about a second of imports).

``--out-of-reach`` runs the lattice of ``java_nextint`` on the bounds the solver refuses
(``nextInt(4)``, ``nextInt(2)``) with the least draws + 2 and + 4 from random states, and prints
what it did: how long until it gave up (more than 2,000,000 enumeration nodes) or how many
states it left. The refusal sentence quotes these figures.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import time

from gpu_kernels.registry import get_family
from mimicry.recovery import recover


def cpython(count: int, draw) -> list:
    generator = random.Random(secrets.randbits(64))
    for _ in range(secrets.randbelow(1000)):
        generator.getrandbits(32)
    return [draw(generator) for _ in range(count)]


def family_words(name: str, count: int, view=lambda word: word) -> list:
    family = get_family(name)
    words = family.words(family.seed(secrets.randbits(32)))
    for _ in range(secrets.randbelow(1000)):
        next(words)
    return [view(next(words)) for _ in range(count)]


#: name -> (draws including 10 to predict, family, projection, options)
CASES = {
    "getrandbits(32) x 624": (
        lambda: cpython(634, lambda g: g.getrandbits(32)),
        "python_random",
        "python_getrandbits",
        {},
    ),
    "mt_rand() x 1248": (
        lambda: cpython(1258, lambda g: g.getrandbits(32) >> 1),
        "mt19937",
        "php_mt_rand",
        {},
    ),
    "random() x 624": (
        lambda: cpython(634, lambda g: g.random()),
        "python_random",
        "python_random_float",
        {},
    ),
    "getrandbits(16) x 1248": (
        lambda: cpython(1258, lambda g: g.getrandbits(16)),
        "python_random",
        "python_getrandbits",
        {"bits": 16},
    ),
    "getrandbits(8) x 2496": (
        lambda: cpython(2506, lambda g: g.getrandbits(8)),
        "python_random",
        "python_getrandbits",
        {"bits": 8},
    ),
    "nextInt() x 2": (
        lambda: family_words("java_random", 12, lambda w: w - (1 << 32) if w >> 31 else w),
        "java_random",
        "java_nextint32",
        {},
    ),
    "nextInt(16) x 14": (
        lambda: family_words("java_random", 24, lambda w: w >> 28),
        "java_random",
        "java_nextint",
        {"modulus": 16},
    ),
    "nextInt(8) x 18": (
        lambda: family_words("java_random", 28, lambda w: w >> 29),
        "java_random",
        "java_nextint",
        {"modulus": 8},
    ),
    "glibc rand() x 300": (lambda: family_words("glibc_rand", 310), "glibc_rand", "raw", {}),
    "Math.random() x 70": (
        lambda: family_words("v8", 80, lambda w: (w >> 12) / 2**52),
        "v8",
        "v8_math_random",
        {},
    ),
}


def out_of_reach() -> None:
    """The java_nextint lattice on nextInt(4) and nextInt(2), which the solver refuses."""
    from gpu_kernels.families.lcg import JAVA_A, JAVA_C, MASK48
    from mimicry.recovery.lattice import TooMany, truncated_lcg_states

    print("| bound | draws | outcome | seconds |")
    print("|---|---:|---|---:|")
    for bound in (4, 2):
        bits = bound.bit_length() - 1
        least = -(-48 // bits)
        for draws in (least + 2, least + 4):
            state, lows = secrets.randbits(48), []
            for _ in range(draws):
                state = (state * JAVA_A + JAVA_C) & MASK48
                lows.append(state >> (48 - bits) << (48 - bits))
            started = time.perf_counter()
            try:
                found = truncated_lcg_states(JAVA_A, JAVA_C, MASK48 + 1, lows, 1 << (48 - bits))
                outcome = f"{len(found)} states"
            except TooMany:
                outcome = "gave up: more than 2,000,000 nodes"
            print(
                f"| nextInt({bound}) | {draws} | {outcome} | {time.perf_counter() - started:.1f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-of-reach", action="store_true")
    parser.add_argument("cases", nargs="*", default=list(CASES))
    args = parser.parse_args()
    if args.out_of_reach:
        out_of_reach()
        return
    print("| case | used | checked | median s | runs (s) | predictions right |")
    print("|---|---:|---:|---:|---|---|")
    for name in args.cases:
        make, family, projection, options = CASES[name]
        runs, right = [], True
        for _ in range(args.repeats):
            draws = make()
            started = time.perf_counter()
            answer = recover(draws[:-10], family, projection, predict=10, **options)
            runs.append(time.perf_counter() - started)
            right = right and answer.next == draws[-10:][: len(answer.next)] and answer.next
        print(
            f"| {name} | {answer.used} | {answer.checked} | {statistics.median(runs):.3f} | "
            f"{', '.join(f'{r:.3f}' for r in runs)} | {bool(right)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
