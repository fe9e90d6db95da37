"""Projections: how one draw in ``[0, M)`` is made from a family's word stream.

A projection works with any family whose word width it accepts (numpy's ``Generator`` over any
``BitGenerator``). A draw is a sequence of *attempts*; each attempt reads a fixed number of words
and is either accepted (it yields the draw) or rejected (rejection sampling reads another
attempt). Whether an attempt is accepted depends on its own words alone, which is what makes a
backward walk unambiguous: every call ends with exactly one accepted attempt, and the rejected
attempts before it belong to it.

Offsets and skips count *calls* (draws), never words, so rejection is handled here, once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import ClassVar

import numba as nb
import numpy as np

MAX_MODULUS = 1 << 31


class Projection(ABC):
    name: ClassVar[str]
    #: Words read by one attempt.
    words_per_attempt: ClassVar[int] = 1
    #: True when an attempt can be rejected (the call then reads more words).
    rejects: ClassVar[bool] = False
    #: Word widths this projection is defined on (``None``: any).
    word_bits: ClassVar[tuple[int, ...] | None] = None
    #: The one M of a projection that takes no bound (``mt_rand()``): its draws' whole range.
    fixed_modulus: ClassVar[int | None] = None
    description: ClassVar[str] = ""

    def check(self, word_bits: int, modulus: int) -> str | None:
        """Why this projection cannot draw ``[0, M)`` from ``word_bits``-bit words (or None)."""
        if not 2 <= modulus <= MAX_MODULUS:
            return f"the modulus must be between 2 and {MAX_MODULUS}, got {modulus}"
        if self.fixed_modulus is not None and modulus != self.fixed_modulus:
            return (
                f"projection {self.name} makes draws in [0, {self.fixed_modulus}), so the "
                f"modulus must be {self.fixed_modulus}, got {modulus}"
            )
        if self.word_bits is not None and word_bits not in self.word_bits:
            widths = " or ".join(str(b) for b in self.word_bits)
            return (
                f"projection {self.name} is defined on {widths}-bit words, "
                f"and this family makes {word_bits}-bit words"
            )
        return None

    @abstractmethod
    def accepts(self, words: tuple[int, ...], modulus: int, word_bits: int) -> bool:
        """Whether one attempt (``words_per_attempt`` words) yields a draw."""

    @abstractmethod
    def value(self, words: tuple[int, ...], modulus: int, word_bits: int) -> int:
        """The draw an accepted attempt yields."""

    def draw(self, words: Iterator[int], modulus: int, word_bits: int) -> int:
        """One call: read attempts from ``words`` until one is accepted."""
        while True:
            attempt = tuple(next(words) for _ in range(self.words_per_attempt))
            if self.accepts(attempt, modulus, word_bits):
                return self.value(attempt, modulus, word_bits)

    # -- numba twin: draw(next_fn, state, modulus, param) -> int64 ------------------------------

    numba_draw: ClassVar[Callable]

    def numba_param(self, modulus: int, word_bits: int) -> int:
        """A constant the numba draw needs, computed once per job (a limit, a bit count)."""
        return 0


# --------------------------------------------------------------------------------------------
# mod: word % M


@nb.njit(inline="always")
def _mod_draw(next_fn, state, modulus, param):
    return np.int64(next_fn(state) % np.uint64(modulus))


class Mod(Projection):
    name = "mod"
    description = "word % M (C `rand() % M`)"
    numba_draw = _mod_draw

    def accepts(self, words, modulus, word_bits):
        return True

    def value(self, words, modulus, word_bits):
        return words[0] % modulus


# --------------------------------------------------------------------------------------------
# python_randrange: CPython _randbelow_with_getrandbits(M)


@nb.njit(inline="always")
def _python_randrange_draw(next_fn, state, modulus, param):
    shift = np.uint64(param)  # 32 - k
    m = np.uint64(modulus)
    while True:
        r = (next_fn(state) & np.uint64(0xFFFFFFFF)) >> shift
        if r < m:
            return np.int64(r)


class PythonRandrange(Projection):
    name = "python_randrange"
    rejects = True
    word_bits = (32,)
    description = "CPython randrange(M) / randint(0, M-1): getrandbits(k) with rejection"
    numba_draw = _python_randrange_draw

    @staticmethod
    def _bits(modulus: int) -> int:
        # CPython: k = n.bit_length(); getrandbits(k) for k <= 32 is one word >> (32 - k).
        return modulus.bit_length()

    def accepts(self, words, modulus, word_bits):
        return (words[0] >> (32 - self._bits(modulus))) < modulus

    def value(self, words, modulus, word_bits):
        return words[0] >> (32 - self._bits(modulus))

    def numba_param(self, modulus, word_bits):
        return 32 - self._bits(modulus)


# --------------------------------------------------------------------------------------------
# python_getrandbits: CPython getrandbits(k) for k <= 31, the word's top k bits (M = 2**k)


@nb.njit(inline="always")
def _python_getrandbits_draw(next_fn, state, modulus, param):
    return np.int64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(param))


class PythonGetrandbits(Projection):
    name = "python_getrandbits"
    word_bits = (32,)
    description = "CPython getrandbits(k), k <= 31: the word's top k bits (M = 2**k)"
    numba_draw = _python_getrandbits_draw

    def check(self, word_bits, modulus):
        problem = super().check(word_bits, modulus)
        if problem is None and modulus & (modulus - 1):
            return (
                f"getrandbits(k) makes draws in [0, 2**k), so M must be a power of two, "
                f"got {modulus}"
            )
        return problem

    def accepts(self, words, modulus, word_bits):
        return True

    def value(self, words, modulus, word_bits):
        return words[0] >> self.numba_param(modulus, word_bits)

    def numba_param(self, modulus, word_bits):
        return 32 - (modulus.bit_length() - 1)


# --------------------------------------------------------------------------------------------
# python_float: floor(random() * M), random() from two words (53-bit float)


@nb.njit(inline="always")
def _python_float_draw(next_fn, state, modulus, param):
    a = (next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(5)
    b = (next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(6)
    x = (np.float64(a) * 67108864.0 + np.float64(b)) * (1.0 / 9007199254740992.0)
    return np.int64(np.floor(x * np.float64(modulus)))


class PythonFloat(Projection):
    name = "python_float"
    words_per_attempt = 2
    word_bits = (32,)
    description = "int(random.random() * M): CPython's 53-bit float from two words"
    numba_draw = _python_float_draw

    def accepts(self, words, modulus, word_bits):
        return True

    def value(self, words, modulus, word_bits):
        a, b = words[0] >> 5, words[1] >> 6
        x = (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
        return int(x * modulus)


# --------------------------------------------------------------------------------------------
# java_nextint: java.util.Random.nextInt(bound) on next(31) = word >> 1


@nb.njit(inline="always")
def _java_nextint_draw(next_fn, state, modulus, param):
    bound = np.int64(modulus)
    if param == 1:  # power of two: (int)((bound * (long) next(31)) >> 31)
        u = np.int64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(1))
        return (bound * u) >> np.int64(31)
    while True:
        u = np.int64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(1))
        r = u % bound
        # Java: u - r + m < 0 in 32-bit int arithmetic means the attempt is rejected.
        if u - r + (bound - np.int64(1)) < np.int64(0x80000000):
            return r


class JavaNextInt(Projection):
    name = "java_nextint"
    rejects = True
    word_bits = (32,)
    description = "java.util.Random.nextInt(M) on next(31), power-of-two path and rejection loop"
    numba_draw = _java_nextint_draw

    @staticmethod
    def _power_of_two(modulus: int) -> bool:
        return modulus & (modulus - 1) == 0

    def accepts(self, words, modulus, word_bits):
        if self._power_of_two(modulus):
            return True
        u = words[0] >> 1
        return u - u % modulus + modulus - 1 < 1 << 31

    def value(self, words, modulus, word_bits):
        u = words[0] >> 1
        if self._power_of_two(modulus):
            return (modulus * u) >> 31
        return u % modulus

    def numba_param(self, modulus, word_bits):
        return 1 if self._power_of_two(modulus) else 0


# --------------------------------------------------------------------------------------------
# php_mt_rand_range: PHP >= 7.1 mt_rand(0, M - 1), i.e. rand_range32(M - 1)


@nb.njit(inline="always")
def _php_mt_rand_range_draw(next_fn, state, modulus, param):
    m = np.uint64(modulus)
    if param == np.int64(0xFFFFFFFF):  # power of two: result & (M - 1)
        return np.int64((next_fn(state) & np.uint64(0xFFFFFFFF)) & (m - np.uint64(1)))
    limit = np.uint64(param)
    while True:
        result = next_fn(state) & np.uint64(0xFFFFFFFF)
        if result <= limit:
            return np.int64(result % m)


class PhpMtRandRange(Projection):
    name = "php_mt_rand_range"
    rejects = True
    word_bits = (32,)
    description = "PHP >= 7.1 mt_rand(0, M-1): power-of-two mask or rejection above a limit"
    numba_draw = _php_mt_rand_range_draw

    @staticmethod
    def _limit(modulus: int) -> int | None:
        """PHP's ``UINT32_MAX - (UINT32_MAX % umax) - 1``; None on the power-of-two path."""
        if modulus & (modulus - 1) == 0:
            return None
        return 0xFFFFFFFF - (0xFFFFFFFF % modulus) - 1

    def accepts(self, words, modulus, word_bits):
        limit = self._limit(modulus)
        return limit is None or words[0] <= limit

    def value(self, words, modulus, word_bits):
        if self._limit(modulus) is None:
            return words[0] & (modulus - 1)
        return words[0] % modulus

    def numba_param(self, modulus, word_bits):
        limit = self._limit(modulus)
        return 0xFFFFFFFF if limit is None else limit


# --------------------------------------------------------------------------------------------
# php_mt_rand: PHP mt_rand() with no arguments, every version: word >> 1


@nb.njit(inline="always")
def _php_mt_rand_draw(next_fn, state, modulus, param):
    return np.int64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(1))


class PhpMtRand(Projection):
    name = "php_mt_rand"
    word_bits = (32,)
    fixed_modulus = 1 << 31
    description = "PHP mt_rand() with no arguments: word >> 1 (M = 2147483648)"
    numba_draw = _php_mt_rand_draw

    def accepts(self, words, modulus, word_bits):
        return True

    def value(self, words, modulus, word_bits):
        return words[0] >> 1


# --------------------------------------------------------------------------------------------
# php5_mt_rand_range: PHP 5.2.1-7.0 (and MT_RAND_PHP) mt_rand(0, M - 1), RAND_RANGE_BADSCALING


@nb.njit(inline="always")
def _php5_mt_rand_range_draw(next_fn, state, modulus, param):
    n = np.float64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(1))
    return np.int64(np.float64(modulus) * (n / 2147483648.0))


class Php5MtRandRange(Projection):
    name = "php5_mt_rand_range"
    word_bits = (32,)
    description = "PHP <= 7.0 (and MT_RAND_PHP) mt_rand(0, M-1): (word >> 1) * M / 2**31, floored"
    numba_draw = _php5_mt_rand_range_draw

    def accepts(self, words, modulus, word_bits):
        return True

    def value(self, words, modulus, word_bits):
        # PHP's double arithmetic, step for step: (double) M * (n / (PHP_MT_RAND_MAX + 1.0)).
        return int(float(modulus) * ((words[0] >> 1) / 2147483648.0))


PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        Mod(),
        PythonRandrange(),
        PythonGetrandbits(),
        PythonFloat(),
        JavaNextInt(),
        PhpMtRand(),
        PhpMtRandRange(),
        Php5MtRandRange(),
    )
}
