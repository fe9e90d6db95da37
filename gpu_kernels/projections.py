"""Projections: how one draw in ``[0, M)`` is made from a family's word stream.

A projection works with any family whose word width it accepts (numpy's ``Generator`` over any
``BitGenerator``). A draw is a sequence of *attempts*; each attempt reads a fixed number of words
and is either accepted (it yields the draw) or rejected (rejection sampling reads another
attempt). Whether an attempt is accepted depends on its own words alone, which is what makes a
backward walk unambiguous: every call ends with exactly one accepted attempt, and the rejected
attempts before it belong to it.

Offsets and skips count *calls* (draws), never words, so rejection is handled here, once.

Inside the sieve every draw is an integer in ``[0, M)``: the projection's *code* of the draw.
For the projections that take a bound (``mod``, ``python_randrange``, …) the code is the draw.
The projections of a program's own output form (``raw`` words, Java's signed ``nextInt()`` and
``nextLong()``, the doubles of CPython's ``random()`` and V8's ``Math.random()``) say what a draw
file may hold (:meth:`Projection.domain`) and turn a draw into its code and back
(:meth:`Projection.encode`, :meth:`Projection.decode`): a Java ``nextInt()`` of -1 is the code
2**32 - 1, a ``random()`` of 0.5 the code 2**52. Their M is fixed (up to 2**64); the numba
kernels hold draws as int64, so a code of 2**63 or more travels as its two's complement
(:func:`kernel_int`) and their numba draws return the same bits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import ClassVar

from gpu_kernels.jit import njit, np

#: The largest M a projection that takes a bound (``--modulus``) accepts.
MAX_MODULUS = 1 << 31


def bound_problem(modulus: int) -> str | None:
    """Why ``modulus`` cannot bound a projection's draws ``[0, M)`` (2 to :data:`MAX_MODULUS`),
    or None: the one place the range is checked."""
    if not 2 <= modulus <= MAX_MODULUS:
        return f"must be between 2 and {MAX_MODULUS}, got {modulus}"
    return None


#: The largest M of a projection with a range of its own: a 64-bit word's.
MAX_FIXED_MODULUS = 1 << 64

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1

#: A draw as the program printed it: an int (a word, a signed int) or a double in [0, 1).
Draw = int | float


def kernel_int(value: int) -> int:
    """``value`` in ``[0, 2**64]`` as the int64 a numba kernel holds: its two's complement when
    it is ``2**63`` or more (a 64-bit code), M = 2**64 as 0 (no 64-bit draw reads its M)."""
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def signed(value: int, bits: int) -> int:
    """The ``bits``-bit word ``value`` read as a two's-complement signed int."""
    return value - (1 << bits) if value >> (bits - 1) else value


class DrawError(ValueError):
    """A draw that no attempt of a projection makes; ``str()`` says what was expected."""


class Projection(ABC):
    name: ClassVar[str]
    #: Words read by one attempt.
    words_per_attempt: ClassVar[int] = 1
    #: True when an attempt can be rejected (the call then reads more words).
    rejects: ClassVar[bool] = False
    #: Word widths this projection is defined on (``None``: any).
    word_bits: ClassVar[tuple[int, ...] | None] = None
    #: The one M of a projection that takes no bound (``mt_rand()``): its draws' whole range.
    #: A projection whose range depends on the word width overrides :meth:`modulus_for`.
    fixed_modulus: ClassVar[int | None] = None
    #: Whether ``mimicry run`` (the ranking pipeline) takes it: codes are the draws and
    #: M <= MAX_MODULUS. The projections of a program's own output form are sieve-only.
    in_pipeline: ClassVar[bool] = True
    description: ClassVar[str] = ""

    def modulus_for(self, word_bits: int) -> int | None:
        """The M this projection fixes on ``word_bits``-bit words, or None when it takes a bound
        (``--modulus``)."""
        return self.fixed_modulus

    def check(self, word_bits: int, modulus: int) -> str | None:
        """Why this projection cannot draw ``[0, M)`` from ``word_bits``-bit words (or None)."""
        fixed = self.modulus_for(word_bits)
        if fixed is None and (problem := bound_problem(modulus)):
            return f"the modulus {problem}"
        if fixed is not None and modulus != fixed:
            return (
                f"projection {self.name} makes draws in [0, {fixed}), so the "
                f"modulus must be {fixed}, got {modulus}"
            )
        if self.word_bits is not None and word_bits not in self.word_bits:
            widths = " or ".join(str(b) for b in self.word_bits)
            return (
                f"projection {self.name} is defined on {widths}-bit words, "
                f"and this family makes {word_bits}-bit words"
            )
        return None

    def accepts(self, words: tuple[int, ...], modulus: int, word_bits: int) -> bool:
        """Whether one attempt (``words_per_attempt`` words) yields a draw: always, unless the
        projection ``rejects``."""
        return True

    @abstractmethod
    def value(self, words: tuple[int, ...], modulus: int, word_bits: int) -> int:
        """The draw an accepted attempt yields."""

    def draw(self, words: Iterator[int], modulus: int, word_bits: int) -> int:
        """One call: read attempts from ``words`` until one is accepted."""
        while True:
            attempt = tuple(next(words) for _ in range(self.words_per_attempt))
            if self.accepts(attempt, modulus, word_bits):
                return self.value(attempt, modulus, word_bits)

    # -- the program's form of a draw: what a file holds, and its code in [0, M) ---------------

    def domain(self, modulus: int) -> tuple[int, int, bool]:
        """What a draw file may hold: ``(low, high, floats)``, integers in ``[low, high)`` or,
        with ``floats``, also decimal numbers there (each must pass :meth:`encode`)."""
        return 0, modulus, False

    def encode(self, draw: Draw) -> int:
        """The code in ``[0, M)`` of a draw in the program's form (in :meth:`domain`);
        :class:`DrawError` when no attempt makes it."""
        if isinstance(draw, bool) or not isinstance(draw, int):
            raise DrawError(f"expected an integer draw, got {draw!r}")
        return draw

    def decode(self, code: int) -> Draw:
        """The draw in the program's form whose code is ``code``."""
        return code

    def form(self, words: tuple[int, ...], word_bits: int) -> Draw:
        """The draw one accepted attempt makes, in the program's form (fixed-M projections)."""
        modulus = self.modulus_for(word_bits)
        if modulus is None:
            raise TypeError(f"projection {self.name} takes a bound; use value()")
        return self.decode(self.value(words, modulus, word_bits))

    # -- numba twin: draw(next_fn, state, modulus, param) -> int64 ------------------------------

    numba_draw: ClassVar[Callable]

    def numba_param(self, modulus: int, word_bits: int) -> int:
        """A constant the numba draw needs, computed once per job (a limit, a bit count)."""
        return 0


# --------------------------------------------------------------------------------------------
# mod: word % M


@njit(inline="always")
def _mod_draw(next_fn, state, modulus, param):
    return np.int64(next_fn(state) % np.uint64(modulus))


class Mod(Projection):
    name = "mod"
    description = "word % M (C `rand() % M`)"
    numba_draw = _mod_draw

    def value(self, words, modulus, word_bits):
        return words[0] % modulus


# --------------------------------------------------------------------------------------------
# python_randrange: CPython _randbelow_with_getrandbits(M)


@njit(inline="always")
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


@njit(inline="always")
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

    def value(self, words, modulus, word_bits):
        return words[0] >> self.numba_param(modulus, word_bits)

    def numba_param(self, modulus, word_bits):
        return 32 - (modulus.bit_length() - 1)


# --------------------------------------------------------------------------------------------
# python_float: floor(random() * M), random() from two words (53-bit float)


@njit(inline="always")
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

    def value(self, words, modulus, word_bits):
        a, b = words[0] >> 5, words[1] >> 6
        x = (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
        return int(x * modulus)


# --------------------------------------------------------------------------------------------
# java_nextint: java.util.Random.nextInt(bound) on next(31) = word >> 1


@njit(inline="always")
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


@njit(inline="always")
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


@njit(inline="always")
def _php_mt_rand_draw(next_fn, state, modulus, param):
    return np.int64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(1))


class PhpMtRand(Projection):
    name = "php_mt_rand"
    word_bits = (32,)
    fixed_modulus = 1 << 31
    description = "PHP mt_rand() with no arguments: word >> 1 (M = 2147483648)"
    numba_draw = _php_mt_rand_draw

    def value(self, words, modulus, word_bits):
        return words[0] >> 1


# --------------------------------------------------------------------------------------------
# php5_mt_rand_range: PHP 5.2.1-7.0 (and MT_RAND_PHP) mt_rand(0, M - 1), RAND_RANGE_BADSCALING


@njit(inline="always")
def _php5_mt_rand_range_draw(next_fn, state, modulus, param):
    n = np.float64((next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(1))
    return np.int64(np.float64(modulus) * (n / 2147483648.0))


class Php5MtRandRange(Projection):
    name = "php5_mt_rand_range"
    word_bits = (32,)
    description = "PHP <= 7.0 (and MT_RAND_PHP) mt_rand(0, M-1): (word >> 1) * M / 2**31, floored"
    numba_draw = _php5_mt_rand_range_draw

    def value(self, words, modulus, word_bits):
        # PHP's double arithmetic, step for step: (double) M * (n / (PHP_MT_RAND_MAX + 1.0)).
        return int(float(modulus) * ((words[0] >> 1) / 2147483648.0))


# --------------------------------------------------------------------------------------------
# The program's own output forms: M fixed by the form, draws decoded for files and answers.


@njit(inline="always")
def _word_draw(next_fn, state, modulus, param):
    # param: the word mask, as int64 (-1 for 64-bit words: the word's bits reinterpreted).
    return np.int64(next_fn(state) & np.uint64(param))


class _OwnForm(Projection):
    """A projection whose draws have a range of their own (no ``--modulus``)."""

    in_pipeline = False


class Raw(_OwnForm):
    name = "raw"
    description = (
        "the word itself: std::mt19937(), getrandbits(32), glibc rand(), a 64-bit word "
        "(M = 2**word_bits)"
    )
    numba_draw = _word_draw

    def modulus_for(self, word_bits):
        return 1 << word_bits

    def value(self, words, modulus, word_bits):
        return words[0]

    def numba_param(self, modulus, word_bits):
        return kernel_int((1 << word_bits) - 1)


class _Signed(_OwnForm):
    """Draws that are the code read as a two's-complement ``bits``-bit int."""

    bits: ClassVar[int]

    def domain(self, modulus):
        return -(1 << (self.bits - 1)), 1 << (self.bits - 1), False

    def encode(self, draw):
        return super().encode(draw) & ((1 << self.bits) - 1)

    def decode(self, code):
        return signed(code, self.bits)


class JavaNextInt32(_Signed):
    name = "java_nextint32"
    word_bits = (32,)
    fixed_modulus = 1 << 32
    bits = 32
    description = "java.util.Random.nextInt(): next(32) as a signed int (draws -2**31 .. 2**31-1)"
    numba_draw = _word_draw

    def value(self, words, modulus, word_bits):
        return words[0]

    def numba_param(self, modulus, word_bits):
        return MASK32


@njit(inline="always")
def _java_nextlong_draw(next_fn, state, modulus, param):
    high = next_fn(state) & np.uint64(0xFFFFFFFF)
    low = next_fn(state) & np.uint64(0xFFFFFFFF)
    code = (high << np.uint64(32)) + low
    if low >= np.uint64(0x80000000):  # + (long) next(32): a negative int borrows 2**32
        code -= np.uint64(0x100000000)
    return np.int64(code)


class JavaNextLong(_Signed):
    name = "java_nextlong"
    words_per_attempt = 2
    word_bits = (32,)
    fixed_modulus = 1 << 64
    bits = 64
    description = (
        "java.util.Random.nextLong(): ((long) next(32) << 32) + next(32), a signed 64-bit int"
    )
    numba_draw = _java_nextlong_draw

    def value(self, words, modulus, word_bits):
        return ((words[0] << 32) + signed(words[1], 32)) & MASK64


class _Double(_OwnForm):
    """A double in [0, 1) that is a ``precision``-bit code over ``2**precision``: every such
    double is a multiple of ``2**-precision``, so the code comes back whole."""

    precision: ClassVar[int]

    def domain(self, modulus):
        return 0, 1, True

    def encode(self, draw):
        if isinstance(draw, bool) or not isinstance(draw, float | int):
            raise DrawError(f"expected a float in [0, 1), got {draw!r}")
        draw = float(draw)
        scaled = draw * (1 << self.precision)
        if not 0.0 <= draw < 1.0 or scaled != int(scaled):
            raise DrawError(
                f"expected a float in [0, 1) with {self.precision} bits (a multiple of "
                f"2**-{self.precision}), got {draw!r}"
            )
        return int(scaled)

    def decode(self, code):
        return code / (1 << self.precision)


@njit(inline="always")
def _python_random_float_draw(next_fn, state, modulus, param):
    a = (next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(5)
    b = (next_fn(state) & np.uint64(0xFFFFFFFF)) >> np.uint64(6)
    return np.int64((a << np.uint64(26)) | b)


class PythonRandomFloat(_Double):
    name = "python_random_float"
    words_per_attempt = 2
    word_bits = (32,)
    fixed_modulus = 1 << 53
    precision = 53
    description = (
        "CPython random.random(): (a >> 5) * 2**26 + (b >> 6) over 2**53, the printed float"
    )
    numba_draw = _python_random_float_draw

    def value(self, words, modulus, word_bits):
        return ((words[0] >> 5) << 26) | (words[1] >> 6)


@njit(inline="always")
def _v8_math_random_draw(next_fn, state, modulus, param):
    return np.int64(next_fn(state) >> np.uint64(12))


class V8MathRandom(_Double):
    name = "v8_math_random"
    word_bits = (64,)
    fixed_modulus = 1 << 52
    precision = 52
    description = "V8 Math.random() (Node 12-23): (word >> 12) / 2**52, the printed float"
    numba_draw = _v8_math_random_draw

    def value(self, words, modulus, word_bits):
        return words[0] >> 12


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
        Raw(),
        JavaNextInt32(),
        JavaNextLong(),
        PythonRandomFloat(),
        V8MathRandom(),
    )
}
