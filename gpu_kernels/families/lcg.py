"""Linear congruential generators: java.util.Random, C++ minstd, MSVC ``rand()``.

Every one of them has an exact inverse step (the multiplier is invertible modulo the modulus).
"""

from __future__ import annotations

from gpu_kernels.family import Family, NumbaKernels
from gpu_kernels.jit import njit, np, uint64

MASK32 = 0xFFFFFFFF
MASK48 = (1 << 48) - 1
MASK64 = (1 << 64) - 1

# ------------------------------------------------------------------------------------------------
# java.util.Random: 48-bit LCG, next(32) = state >> 16

JAVA_A = 0x5DEECE66D
JAVA_C = 0xB
JAVA_A_INV = pow(JAVA_A, -1, 1 << 48)

_JA = uint64(JAVA_A)
_JC = uint64(JAVA_C)
_M48 = uint64(MASK48)


class _Java48(Family):
    word_bits = 32
    state_bits = 48

    def next(self, state):
        state = (state * JAVA_A + JAVA_C) & MASK48
        return state, state >> 16

    def prev(self, state):
        return ((state - JAVA_C) * JAVA_A_INV) & MASK48


@njit(inline="always")
def _nb_java_next(state):
    x = (state[0] * _JA + _JC) & _M48
    state[0] = x
    return x >> np.uint64(16)


@njit(inline="always")
def _nb_java_random_seed(seed, state):
    state[0] = (np.uint64(seed) ^ _JA) & _M48


@njit(inline="always")
def _nb_java_lcg_seed(seed, state):
    state[0] = np.uint64(seed) & _M48


class JavaRandom(_Java48):
    """``new java.util.Random(seed)``; words are ``next(32)`` as unsigned ints (``nextInt()``
    mod 2**32). Seeds are Java longs read as unsigned 64-bit ints (two's complement), so
    ``new Random(-1)`` is seed ``2**64 - 1``; only the low 48 bits matter."""

    name = "java_random"
    seed_bits = 64
    verified_against = "OpenJDK java.util.Random(seed).nextInt()"

    def seed(self, seed):
        return ((seed & MASK64) ^ JAVA_A) & MASK48

    numba = NumbaKernels(state_words=1, seed=_nb_java_random_seed, next=_nb_java_next)


class JavaLcg(_Java48):
    """java.util.Random's LCG without the seed scrambling: state = seed mod 2**48, so
    ``JavaLcg(s)`` makes the words of ``JavaRandom(s ^ 0x5DEECE66D)``. For states recovered
    from observed output, or generators that copied the LCG without the scramble."""

    name = "java_lcg"
    seed_bits = 48
    verified_against = "java_random with seed ^ 0x5DEECE66D (OpenJDK java.util.Random)"

    def seed(self, seed):
        return seed & MASK48

    numba = NumbaKernels(state_words=1, seed=_nb_java_lcg_seed, next=_nb_java_next)


# ------------------------------------------------------------------------------------------------
# minstd: x = a * x mod (2**31 - 1), libstdc++ seeding

MINSTD_M = 2147483647
_MM = uint64(MINSTD_M)


class _Minstd(Family):
    word_bits = 31
    seed_bits = 32
    state_bits = 31
    state_search = True
    state_range = (1, MINSTD_M - 1)
    multiplier: int

    def seed(self, seed):
        # libstdc++ linear_congruential_engine::seed: x = s mod m, and 1 where that is 0.
        return seed % MINSTD_M or 1

    def next(self, state):
        x = self.multiplier * state % MINSTD_M
        return x, x

    def prev(self, state):
        return pow(self.multiplier, -1, MINSTD_M) * state % MINSTD_M


@njit(inline="always")
def _nb_minstd_seed(seed, state):
    x = np.uint64(seed) % _MM
    if x == np.uint64(0):
        x = np.uint64(1)
    state[0] = x


@njit(inline="always")
def _nb_minstd_set_state(value, state):
    state[0] = np.uint64(value)


@njit(inline="always")
def _nb_minstd_rand_next(state):
    x = state[0] * np.uint64(48271) % _MM
    state[0] = x
    return x


@njit(inline="always")
def _nb_minstd_rand0_next(state):
    x = state[0] * np.uint64(16807) % _MM
    state[0] = x
    return x


class MinstdRand(_Minstd):
    """C++ ``std::minstd_rand`` (multiplier 48271), libstdc++ seeding; words are the new x."""

    name = "minstd_rand"
    multiplier = 48271
    verified_against = "g++ (libstdc++) std::minstd_rand"
    numba = NumbaKernels(
        state_words=1,
        seed=_nb_minstd_seed,
        next=_nb_minstd_rand_next,
        set_state=_nb_minstd_set_state,
    )


class MinstdRand0(_Minstd):
    """C++ ``std::minstd_rand0`` (multiplier 16807, Park-Miller), libstdc++ seeding."""

    name = "minstd_rand0"
    multiplier = 16807
    verified_against = "g++ (libstdc++) std::minstd_rand0"
    numba = NumbaKernels(
        state_words=1,
        seed=_nb_minstd_seed,
        next=_nb_minstd_rand0_next,
        set_state=_nb_minstd_set_state,
    )


# ------------------------------------------------------------------------------------------------
# MSVC rand(): x = 214013 x + 2531011 mod 2**32, word = (x >> 16) & 0x7FFF

MSVC_A = 214013
MSVC_C = 2531011
MSVC_A_INV = pow(MSVC_A, -1, 1 << 32)
_M32 = uint64(MASK32)


class MsvcRand(Family):
    """Microsoft C runtime ``srand(seed); rand()``: 15-bit words."""

    name = "msvc_rand"
    word_bits = 15
    seed_bits = 32
    state_bits = 32
    state_search = True
    verified_against = "Microsoft's published srand(1) rand() sequence (no MSVC runtime here)"

    def seed(self, seed):
        return seed & MASK32

    def next(self, state):
        x = (MSVC_A * state + MSVC_C) & MASK32
        return x, (x >> 16) & 0x7FFF

    def prev(self, state):
        return ((state - MSVC_C) * MSVC_A_INV) & MASK32

    def state_from_int(self, value):
        return value & MASK32


@njit(inline="always")
def _nb_msvc_seed(seed, state):
    state[0] = np.uint64(seed) & _M32


@njit(inline="always")
def _nb_msvc_next(state):
    x = (state[0] * np.uint64(MSVC_A) + np.uint64(MSVC_C)) & _M32
    state[0] = x
    return (x >> np.uint64(16)) & np.uint64(0x7FFF)


MsvcRand.numba = NumbaKernels(
    state_words=1, seed=_nb_msvc_seed, next=_nb_msvc_next, set_state=_nb_msvc_seed
)
