"""What the prefilters test: a job's first window draws as 32-bit tests, and where each applies.

The MT19937 seed prefilters (the compiled one of the cpu backend, ``native/mt_seed_prefilter.c``,
the CUDA one of the gpu backend and numba's fallback) and the first-word prefilters of
``python_random``, ``glibc_rand``, ``java_random`` and ``xorshift32`` (numba's on the cpu,
``cuda/first_word_prefilter.cuh`` on the gpu) take their tests and tables from here, so the two
backends prefilter the same jobs the same way. The module needs neither numba nor a compiler:
the gpu backend (and ``mimicry families``, which asks it for its device) loads it without them.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from gpu_kernels.backends import native
from gpu_kernels.job import Mode, SieveJob

#: MT19937 reads state word o + 397 for output o; beyond this the first twist is needed.
MT_MAX_WORD = 623 - 397 - 1


class Divisor(NamedTuple):
    """``word % M == d`` for 32-bit words in 32-bit lanes, without a division (Hacker's Delight
    10-17): with ``M = 2^shift · odd``, ``n = word - d`` is a multiple of M exactly when
    ``rotr32(n · odd⁻¹ mod 2^32, shift) <= (2^32 - 1) // M``. Multiply, rotate and compare
    vectorise 8 lanes wide on AVX2, where a float or integer ``%`` did not (xorshift32's state
    sweep ran at 440 M/s with a float quotient)."""

    inverse: np.uint32
    shift: np.uint32
    limit: np.uint32

    @classmethod
    def of(cls, modulus: int) -> Divisor:
        if modulus == 1 << 32:  # the whole word: the test below becomes ``word == d``
            return cls(np.uint32(1), np.uint32(0), np.uint32(0))
        shift = (modulus & -modulus).bit_length() - 1
        odd = modulus >> shift
        return cls(
            np.uint32(pow(odd, -1, 1 << 32)),
            np.uint32(shift),
            np.uint32(0xFFFFFFFF // modulus),
        )


def php5_range_interval(modulus: int, draw: int) -> tuple[int, int]:
    """The ``n = word >> 1`` that PHP 5's ``mt_rand(0, M-1)`` maps to ``draw``: an interval,
    since ``(double) M * (n / 2^31)`` never decreases with n; found with PHP's own arithmetic."""

    def first_reaching(value: int) -> int:
        low, high = 0, 1 << 31
        while low < high:
            middle = (low + high) // 2
            if int(float(modulus) * (middle / 2147483648.0)) >= value:
                high = middle
            else:
                low = middle + 1
        return low

    return first_reaching(draw), first_reaching(draw + 1)


def php_test(projection: str, modulus: int, draw: int) -> tuple | None:
    """``kind, draw, divisor, low_bound, high_bound, limit`` of :func:`_php_mt_seed_prefilter`
    for a projection, or None when it has no such test."""
    divisor = Divisor.of(modulus)
    no_limit = np.uint32(0xFFFFFFFF)
    if projection in ("mod", "raw"):  # raw: M = 2^32, the Divisor tests equality
        return (0, np.uint32(draw), divisor, np.uint32(0), np.uint32(0), no_limit)
    if projection == "php_mt_rand_range":
        power_of_two = modulus & (modulus - 1) == 0
        limit = no_limit if power_of_two else np.uint32(0xFFFFFFFF - 0xFFFFFFFF % modulus - 1)
        return (0, np.uint32(draw), divisor, np.uint32(0), np.uint32(0), limit)
    if projection == "php_mt_rand":
        low, high = draw, draw + 1
    elif projection == "php5_mt_rand_range":
        low, high = php5_range_interval(modulus, draw)
    else:
        return None
    return (1, np.uint32(draw), divisor, np.uint32(low), np.uint32(high), no_limit)


#: The bit of the compiled MT19937 seed prefilter's ``twists`` (and of its keep bytes) for each
#: family seeded by MT19937's ``init_genrand``: one pass over the seeds tests every twist asked for
#: (php_mt_seed's one pass over PHP 7.1+ and 5.2.1-7.0).
MT_TWISTS = {"mt19937": 1, "php5_mt": 2}


def mt_seed_test(family: str, job: SieveJob) -> native.MtSeedJob | None:
    """What the compiled MT19937 seed prefilters (the C one here, the CUDA one of the gpu
    backend) test for this job: as many window draws as fit before the first twist (at calls
    p, p + k + 1, ... for a constant skip k), under the projection's PHP test; None where none
    applies. ``lo``, ``count`` and ``threads`` are the caller's."""
    if family not in MT_TWISTS or job.mode is not Mode.SEED or job.misses_allowed:
        return None
    word_lo, word_hi = job.first_calls
    if job.modulus > 1 << 32 or word_hi > MT_MAX_WORD:
        return None
    test = php_test(job.projection, job.modulus, job.window[0])
    if test is None:
        return None
    constant_skip = not job.variable_skip and job.skips[0] == job.skips[1]
    stride = job.skips[0] + 1 if constant_skip else 1
    depth = 1
    if constant_skip:
        room = (native.MAX_WORD - word_hi) // stride + 1
        depth = max(1, min(job.window_size, native.MAX_DEPTH, room))
    kind, _, divisor, _, _, reject_limit = test
    tested = native.MtSeedJob(
        word_lo=word_lo,
        word_hi=word_hi,
        depth=depth,
        stride=stride,
        twists=MT_TWISTS[family],
        kind=kind,
        inverse=int(divisor.inverse),
        shift=int(divisor.shift),
        limit=int(divisor.limit),
        reject_limit=int(reject_limit),
    )
    for j, draw in enumerate(job.window[:depth]):
        _, code, _, low, high, _ = php_test(job.projection, job.modulus, draw)
        tested.draw[j], tested.low[j], tested.high[j] = code, low, high
    return tested


#: The families with a first-word prefilter, in the order of ``enum FirstWordFamily`` of
#: ``cuda/first_word_prefilter.cuh``.
FIRST_WORD_FAMILIES = ("python_random", "glibc_rand", "java_random", "xorshift32")


def first_word_family(family: str, job: SieveJob) -> str | None:
    """``family`` when its first-word prefilter applies to ``job`` (projection ``mod``, no
    window misses, 32-bit codes; seeds, or xorshift32's states; CPython's one-word keys below
    the first twist), else None."""
    if job.projection != "mod" or job.misses_allowed or job.modulus > 1 << 32:
        return None
    seed_mode = job.mode is Mode.SEED
    if family == "python_random":
        one_word_key = job.candidate_range[1] < 1 << 32  # init_by_array([seed])
        applies = seed_mode and one_word_key and job.first_calls[1] <= MT_MAX_WORD
    elif family in ("glibc_rand", "java_random"):
        applies = seed_mode
    else:
        applies = family == "xorshift32" and not seed_mode
    return family if applies else None


def first_word_test(family: str, job: SieveJob) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The gpu's first-word prefilter for this job: the family's index in
    :data:`FIRST_WORD_FAMILIES`, the test words (``enum FirstWordTestWord``) and the family's
    table (CPython's base state, glibc's output coefficients; one unused word otherwise); None
    where it does not apply."""
    if first_word_family(family, job) is None:
        return None
    word_lo, word_hi = job.first_calls
    divisor = Divisor.of(job.modulus)
    test = np.array(
        [word_lo, word_hi, job.window[0], divisor.inverse, divisor.shift, divisor.limit],
        np.uint32,
    )
    if family == "python_random":
        table = python_init_genrand_19650218()
    elif family == "glibc_rand":
        table = glibc_output_coefficients(word_hi + 1).ravel()
    else:
        table = np.zeros(1, np.uint32)
    return FIRST_WORD_FAMILIES.index(family), test, np.ascontiguousarray(table, np.uint32)


@cache
def python_init_genrand_19650218() -> np.ndarray:
    state = np.empty(624, np.uint32)
    state[0] = 19650218
    for i in range(1, 624):
        previous = int(state[i - 1])
        state[i] = (1812433253 * (previous ^ (previous >> 30)) + i) & 0xFFFFFFFF
    return state


@cache
def glibc_output_coefficients(words: int) -> np.ndarray:
    """``C[k, j]``: glibc TYPE_3 output word ``k`` is ``(sum_j C[k, j]·r[j] mod 2^32) >> 1``.

    After ``srand`` the table holds ``r[0..30]`` (r[31..33] copy r[0..2]) and every later value is
    ``r[i-3] + r[i-31]`` mod 2^32, so each output is a fixed linear combination of ``r[0..30]``:
    31 multiply-adds instead of 344 additions.
    """
    table = [np.eye(31, dtype=np.uint64)[j] for j in range(31)]
    table += [table[0], table[1], table[2]]
    while len(table) < 344 + words:
        i = len(table)
        table.append((table[i - 3] + table[i - 31]) & np.uint64(0xFFFFFFFF))
    return np.ascontiguousarray(np.array(table[344 : 344 + words], dtype=np.uint32))
