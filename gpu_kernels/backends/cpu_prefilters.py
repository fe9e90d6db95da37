"""Vectorised first-draw prefilters for the families the cpu backend must sweep fastest.

Each kernel walks a block of consecutive candidates in lockstep (the inner loop runs across
candidates, so LLVM vectorises it) and computes only the words the first window draw can sit on:
with projection ``mod`` call ``o`` is word ``o``. It keeps a candidate when ``word % M == d_0`` for
some offset ``o`` in the job's range; the generic kernel then checks the few that remain in full.
The trick is php_mt_seed's: MT19937's first output needs only state words ``o``, ``o+1`` and
``o+397`` of ``init_genrand``, never the whole 624-word state or a twist.

Each prefilter is exact (it never drops a candidate the full check would keep): the tests compare
the cpu backend with the reference on chunks that contain the truth and on chance survivors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numba as nb
import numpy as np

from gpu_kernels.backends import default_kernel_cache, native
from gpu_kernels.backends.compile_once import compile_once
from gpu_kernels.backends.prefilter_tests import (
    MT_MAX_WORD,
    MT_TWISTS,
    Divisor,
    first_word_family,
    glibc_output_coefficients,
    mt_seed_test,
    php_test,
    python_init_genrand_19650218,
)
from gpu_kernels.job import Mode, SieveJob
from gpu_kernels.uint32_ops import add32, and32, mul32, or32, shl32, shr32, sub32, xor32

#: Candidates advanced in lockstep by one parallel task. Measured on 2 AVX2 cores (MT19937, offset
#: 0): 32 lanes do not vectorise at all (5 M/s), 64 and 96 run at 83 M/s, 128 at 65, 256 at 40
#: (the block's state rows fall out of L1).
LANES = 64
#: CPython's ``init_by_array`` walks a 624-row table per block; 128 lanes ran 11.2 M/s, 64 ran 5.4.
INIT_BY_ARRAY_LANES = 128

Prefilter = Callable[[int, int], np.ndarray]


@nb.njit(inline="always")
def _equals_mod(word, draw, divisor):
    """``word % M == draw`` for a ``uint32`` word, ``draw < M`` and ``divisor = Divisor.of(M)``."""
    inverse, shift, limit = divisor
    product = mul32(sub32(word, draw), inverse)
    # rotr by ``shift``; ``(32 - shift) & 31`` keeps shift = 0 defined (x | x).
    rotated = or32(
        shr32(product, shift), shl32(product, and32(sub32(np.uint32(32), shift), np.uint32(31)))
    )
    return (word >= draw) & (rotated <= limit)


@nb.njit(inline="always")
def _mt_temper(y):
    y = xor32(y, shr32(y, np.uint32(11)))
    y = xor32(y, and32(shl32(y, np.uint32(7)), np.uint32(0x9D2C5680)))
    y = xor32(y, and32(shl32(y, np.uint32(15)), np.uint32(0xEFC60000)))
    return xor32(y, shr32(y, np.uint32(18)))


@nb.njit(inline="always")
def _mt_first_output(low_w, low_w1, high_w):
    """Output ``w`` of a fresh MT19937 state from state words ``w``, ``w+1`` and ``w+397``."""
    y = or32(and32(low_w, np.uint32(0x80000000)), and32(low_w1, np.uint32(0x7FFFFFFF)))
    value = xor32(high_w, shr32(y, np.uint32(1)))
    if and32(y, np.uint32(1)) != np.uint32(0):
        value = xor32(value, np.uint32(0x9908B0DF))
    return _mt_temper(value)


@nb.njit(inline="always")
def _init_genrand_rows(lo, base, words, low, high):
    """``init_genrand`` of the block's seeds, keeping state words ``0 .. words`` in ``low`` and
    ``397 .. 396 + words`` in ``high`` (one row per word, one column per lane)."""
    multiplier = np.uint32(1812433253)
    thirty = np.uint32(30)
    x = np.empty(LANES, np.uint32)
    for lane in range(LANES):
        x[lane] = np.uint32((lo + np.uint64(base + lane)) & np.uint64(0xFFFFFFFF))
        low[0, lane] = x[lane]
    # Three loops instead of one with stores under a condition: each inner loop is a plain
    # lane loop that LLVM vectorises.
    for i in range(1, words + 1):
        for lane in range(LANES):
            v = x[lane]
            v = add32(mul32(multiplier, xor32(v, shr32(v, thirty))), np.uint32(i))
            x[lane] = v
            low[i, lane] = v
    for i in range(words + 1, 397):
        for lane in range(LANES):
            v = x[lane]
            x[lane] = add32(mul32(multiplier, xor32(v, shr32(v, thirty))), np.uint32(i))
    for i in range(397, 397 + words):
        for lane in range(LANES):
            v = x[lane]
            v = add32(mul32(multiplier, xor32(v, shr32(v, thirty))), np.uint32(i))
            x[lane] = v
            high[i - 397, lane] = v


@nb.njit(parallel=True, cache=True, nogil=True)
def _mt19937_seed_prefilter(lo, count, word_lo, word_hi, draw, divisor, keep):
    words = word_hi + 1
    blocks = (count + LANES - 1) // LANES
    for block in nb.prange(blocks):
        base = block * LANES
        low = np.empty((words + 1, LANES), np.uint32)  # state words 0 .. word_hi + 1
        high = np.empty((words, LANES), np.uint32)  # state words 397 .. 397 + word_hi
        hit = np.zeros(LANES, np.bool_)
        _init_genrand_rows(lo, base, words, low, high)
        for w in range(word_lo, words):
            for lane in range(LANES):
                output = _mt_first_output(low[w, lane], low[w + 1, lane], high[w, lane])
                hit[lane] |= _equals_mod(output, draw, divisor)
        for lane in range(min(LANES, count - base)):
            keep[base + lane] = hit[lane]


@nb.njit(parallel=True, cache=True, nogil=True)
def _php_mt_seed_prefilter(
    lo, count, word_lo, word_hi, php_twist, kind, draw, divisor, low_bound, high_bound, limit, keep
):
    """PHP's generators (``mt19937``, or ``php5_mt`` with ``php_twist``) under PHP's draws.

    ``kind`` 0 keeps ``output % M == draw``
    (``mod``, and ``mt_rand(0, M-1)`` of 7.1+, which redraws a word above ``limit``: a lane
    that met such a word before its last call is kept whole, since its calls no longer sit on
    their words); kind 1 keeps ``low_bound <= output >> 1 < high_bound`` (``mt_rand()``, and
    the scaled ``mt_rand(0, M-1)`` of 5.2.1-7.0, which maps an interval of ``output >> 1`` to
    each draw).
    """
    words = word_hi + 1
    blocks = (count + LANES - 1) // LANES
    for block in nb.prange(blocks):
        base = block * LANES
        low = np.empty((words + 1, LANES), np.uint32)
        high = np.empty((words, LANES), np.uint32)
        hit = np.zeros(LANES, np.bool_)
        _init_genrand_rows(lo, base, words, low, high)
        if php_twist:
            # PHP 5's twist takes the odd bit from word w, not w+1: give word w+1 word w's bit 0
            # (the only bit of word w+1 the output then misses), last row first so each row
            # still holds its own bit when the row before copies it.
            for w in range(words - 1, -1, -1):
                for lane in range(LANES):
                    odd = and32(low[w, lane], np.uint32(1))
                    low[w + 1, lane] = or32(and32(low[w + 1, lane], np.uint32(0xFFFFFFFE)), odd)
        for w in range(words):
            for lane in range(LANES):
                output = _mt_first_output(low[w, lane], low[w + 1, lane], high[w, lane])
                if kind == 0:
                    match = _equals_mod(output, draw, divisor)
                else:
                    half = shr32(output, np.uint32(1))
                    match = (half >= low_bound) & (half < high_bound)
                hit[lane] |= (w >= word_lo) & match
                hit[lane] |= output > limit
        for lane in range(min(LANES, count - base)):
            keep[base + lane] = hit[lane]


@nb.njit(parallel=True, cache=True, nogil=True)
def _python_random_seed_prefilter(lo, count, word_lo, word_hi, draw, divisor, base_state, keep):
    """CPython ``random.seed(s)`` for ``s < 2**32``: ``init_by_array([s])``, lane by lane."""
    blocks = (count + INIT_BY_ARRAY_LANES - 1) // INIT_BY_ARRAY_LANES
    first = np.uint32(1664525)
    second = np.uint32(1566083941)
    thirty = np.uint32(30)
    for block in nb.prange(blocks):
        base = block * INIT_BY_ARRAY_LANES
        mt = np.empty((624, INIT_BY_ARRAY_LANES), np.uint32)
        key = np.empty(INIT_BY_ARRAY_LANES, np.uint32)
        for lane in range(INIT_BY_ARRAY_LANES):
            key[lane] = np.uint32((lo + np.uint64(base + lane)) & np.uint64(0xFFFFFFFF))
        for i in range(624):
            for lane in range(INIT_BY_ARRAY_LANES):
                mt[i, lane] = base_state[i]
        # First loop: 624 steps from i = 1, wrapping once (mt[0] = mt[623], then i = 1 again).
        for i in range(1, 625):
            row = i if i < 624 else 1
            if i == 624:
                for lane in range(INIT_BY_ARRAY_LANES):
                    mt[0, lane] = mt[623, lane]
            for lane in range(INIT_BY_ARRAY_LANES):
                p = mt[row - 1, lane]
                mixed = mul32(xor32(p, shr32(p, thirty)), first)
                mt[row, lane] = add32(xor32(mt[row, lane], mixed), key[lane])
        # Second loop: 623 steps from i = 2, wrapping once the same way.
        for i in range(2, 625):
            row = i if i < 624 else 1
            if i == 624:
                for lane in range(INIT_BY_ARRAY_LANES):
                    mt[0, lane] = mt[623, lane]
            for lane in range(INIT_BY_ARRAY_LANES):
                p = mt[row - 1, lane]
                mixed = mul32(xor32(p, shr32(p, thirty)), second)
                mt[row, lane] = sub32(xor32(mt[row, lane], mixed), np.uint32(row))
        hit = np.zeros(INIT_BY_ARRAY_LANES, np.bool_)
        for lane in range(INIT_BY_ARRAY_LANES):
            mt[0, lane] = np.uint32(0x80000000)
        for w in range(word_lo, word_hi + 1):
            for lane in range(INIT_BY_ARRAY_LANES):
                output = _mt_first_output(mt[w, lane], mt[w + 1, lane], mt[w + 397, lane])
                hit[lane] |= _equals_mod(output, draw, divisor)
        for lane in range(min(INIT_BY_ARRAY_LANES, count - base)):
            keep[base + lane] = hit[lane]


@nb.njit(parallel=True, cache=True, nogil=True)
def _glibc_rand_seed_prefilter(lo, count, word_lo, word_hi, draw, divisor, coefficients, keep):
    blocks = (count + LANES - 1) // LANES
    for block in nb.prange(blocks):
        base = block * LANES
        r = np.empty((31, LANES), np.uint32)
        for lane in range(LANES):
            seed = np.uint32((lo + np.uint64(base + lane)) & np.uint64(0xFFFFFFFF))
            if seed == np.uint32(0):
                seed = np.uint32(1)
            r[0, lane] = seed
        for i in range(1, 31):
            for lane in range(LANES):
                # glibc's Schrage step in signed 32-bit arithmetic, C division truncating to 0.
                word = np.int64(np.int32(r[i - 1, lane]))
                magnitude = word if word >= 0 else -word
                hi = magnitude // 127773
                lo_part = magnitude - hi * 127773
                if word < 0:
                    hi, lo_part = -hi, -lo_part
                word = 16807 * lo_part - 2836 * hi
                if word < 0:
                    word += 2147483647
                r[i, lane] = np.uint32(word & 0xFFFFFFFF)
        hit = np.zeros(LANES, np.bool_)
        total = np.empty(LANES, np.uint32)
        for w in range(word_lo, word_hi + 1):
            total[:] = 0
            for j in range(31):
                coefficient = coefficients[w, j]
                for lane in range(LANES):
                    total[lane] = add32(total[lane], mul32(coefficient, r[j, lane]))
            for lane in range(LANES):
                hit[lane] |= _equals_mod(shr32(total[lane], np.uint32(1)), draw, divisor)
        for lane in range(min(LANES, count - base)):
            keep[base + lane] = hit[lane]


@nb.njit(parallel=True, cache=True, nogil=True)
def _java_random_seed_prefilter(lo, count, word_lo, word_hi, draw, divisor, keep):
    mask = np.uint64((1 << 48) - 1)
    multiplier = np.uint64(0x5DEECE66D)
    blocks = (count + LANES - 1) // LANES
    for block in nb.prange(blocks):
        base = block * LANES
        state = np.empty(LANES, np.uint64)
        hit = np.zeros(LANES, np.bool_)
        for lane in range(LANES):
            state[lane] = ((lo + np.uint64(base + lane)) ^ multiplier) & mask
        for w in range(word_hi + 1):
            for lane in range(LANES):
                s = (state[lane] * multiplier + np.uint64(0xB)) & mask
                state[lane] = s
                word = np.uint32(s >> np.uint64(16))
                hit[lane] |= (w >= word_lo) & _equals_mod(word, draw, divisor)
        for lane in range(min(LANES, count - base)):
            keep[base + lane] = hit[lane]


@nb.njit(parallel=True, cache=True, nogil=True)
def _xorshift32_state_prefilter(lo, count, word_lo, word_hi, draw, divisor, keep):
    blocks = (count + LANES - 1) // LANES
    for block in nb.prange(blocks):
        base = block * LANES
        x = np.empty(LANES, np.uint32)
        hit = np.zeros(LANES, np.bool_)
        for lane in range(LANES):
            x[lane] = np.uint32((lo + np.uint64(base + lane)) & np.uint64(0xFFFFFFFF))
        for w in range(word_hi + 1):
            for lane in range(LANES):
                y = x[lane]
                y = xor32(y, shl32(y, np.uint32(13)))
                y = xor32(y, shr32(y, np.uint32(17)))
                y = xor32(y, shl32(y, np.uint32(5)))
                x[lane] = y
                hit[lane] |= (w >= word_lo) & _equals_mod(y, draw, divisor)
        for lane in range(min(LANES, count - base)):
            keep[base + lane] = hit[lane]


def _native_mt_seed_prefilter(
    test: native.MtSeedJob, kernel_cache: Path | None
) -> Prefilter | None:
    """The compiled MT19937 seed prefilter (:mod:`gpu_kernels.backends.native`) running
    ``test``; None where it cannot run."""
    shared = _native_shared_prefilter(test, kernel_cache)
    if shared is None:
        return None

    def prefilter(lo: int, count: int) -> np.ndarray:
        return shared(lo, count)[test.twists]

    prefilter.depth = test.depth  # type: ignore[attr-defined]
    return prefilter


def _native_shared_prefilter(
    test: native.MtSeedJob, kernel_cache: Path | None
) -> Callable[[int, int], dict[int, np.ndarray]] | None:
    """The compiled prefilter running ``test`` for every twist in ``test.twists`` in one pass:
    the seeds each twist keeps, by its bit; None where it cannot run."""
    if native.native_available(kernel_cache) is not None:
        return None

    def prefilter(lo: int, count: int) -> dict[int, np.ndarray]:
        job = native.MtSeedJob.from_buffer_copy(test)
        job.lo, job.count = lo, count
        keep = native.mt_seed_prefilter(job, kernel_cache)
        # One scan of the slice where the kernel kept any (2.5 % of a 2^32 sweep that kept
        # none, measured); the few kept split by twist.
        kept = np.flatnonzero(keep) if job.kept else np.empty(0, np.int64)
        return {
            bit: np.uint64(lo) + kept[(keep[kept] & bit) != 0].astype(np.uint64)
            for bit in MT_TWISTS.values()
            if test.twists & bit
        }

    return prefilter


def shared_prefilter(
    jobs: Sequence[SieveJob], kernel_cache: Path | None = None
) -> Callable[[int, int], list[np.ndarray]] | None:
    """One compiled pass over the seeds for several jobs that differ only in a family seeded by
    ``init_genrand`` (``mt19937`` and ``php5_mt``): the seeds each job's prefilter would keep, in
    the jobs' order; None where no shared pass applies (a job it cannot test, families that do
    not share their seeding, jobs that differ in anything else, no C compiler)."""
    if len(jobs) < 2 or len({job.family for job in jobs}) != len(jobs):
        return None
    first = jobs[0]
    if any(job.model_copy(update={"family": first.family}) != first for job in jobs):
        return None
    tests = [mt_seed_test(job.family, job) for job in jobs]
    if any(test is None for test in tests):
        return None
    combined = native.MtSeedJob.from_buffer_copy(tests[0])
    combined.twists = sum(test.twists for test in tests)
    shared = _native_shared_prefilter(combined, kernel_cache)
    if shared is None:
        return None

    def prefilter(lo: int, count: int) -> list[np.ndarray]:
        kept = shared(lo, count)
        return [kept[test.twists] for test in tests]

    return prefilter


def prefilter_for(
    family: str, job: SieveJob, compiled: bool = True, kernel_cache: Path | None = None
) -> Prefilter | None:
    """The exact prefilter for this job, or None when none applies. ``compiled``: the MT19937
    seed prefilter may be the compiled one (it tests more than the first draw), kept in
    ``kernel_cache`` (default :func:`gpu_kernels.backends.default_kernel_cache`)."""
    if job.misses_allowed or job.modulus > 1 << 32:
        # Each test reads the first draw as a 32-bit word: codes past 2^32 (64-bit words, Java
        # longs, doubles) have none.
        return None
    # Every call the window's first draw may sit at, whatever the skip.
    word_lo, word_hi = job.first_calls
    draw, divisor = np.uint32(job.window[0]), Divisor.of(job.modulus)
    seed_mode = job.mode is Mode.SEED

    locks = kernel_cache or default_kernel_cache()

    def run(kernel, *extra) -> Prefilter:
        def prefilter(lo: int, count: int) -> np.ndarray:
            keep = np.empty(count, np.bool_)
            compile_once(kernel, locks, np.uint64(lo), 0, word_lo, word_hi, *extra, keep[:0])
            kernel(np.uint64(lo), count, word_lo, word_hi, *extra, keep)
            return np.uint64(lo) + np.flatnonzero(keep).astype(np.uint64)

        return prefilter

    if family in MT_TWISTS and seed_mode and word_hi <= MT_MAX_WORD:
        test = php_test(job.projection, job.modulus, job.window[0])
        tested = mt_seed_test(family, job) if compiled else None
        if tested is not None:
            compiled_prefilter = _native_mt_seed_prefilter(tested, kernel_cache)
            if compiled_prefilter is not None:
                return compiled_prefilter
        if family == "mt19937" and job.projection == "mod":
            return run(_mt19937_seed_prefilter, draw, divisor)
        if test is not None:
            return run(_php_mt_seed_prefilter, family == "php5_mt", *test)
    family_kind = first_word_family(family, job)
    if family_kind == "python_random":
        return run(_python_random_seed_prefilter, draw, divisor, python_init_genrand_19650218())
    if family_kind == "glibc_rand":
        return run(
            _glibc_rand_seed_prefilter, draw, divisor, glibc_output_coefficients(word_hi + 1)
        )
    if family_kind == "java_random":
        return run(_java_random_seed_prefilter, draw, divisor)
    if family_kind == "xorshift32":
        return run(_xorshift32_state_prefilter, draw, divisor)
    return None
