"""Marsaglia's xorshift generators (2003) and Vigna's xorshift128+ (2014).

From G. Marsaglia, "Xorshift RNGs", Journal of Statistical Software 8(14), 2003 (32-bit
``unsigned long``)::

    xor():    y ^= y << 13; y ^= y >> 17; return y ^= y << 5;          (32-bit state)
    xor64():  x ^= x << 13; x ^= x >> 7;  return x ^= x << 17;         (64-bit state)
    xor128(): t = x ^ (x << 11); x = y; y = z; z = w;
              return w = (w ^ (w >> 19)) ^ (t ^ (t >> 8));             (four 32-bit words)

Seeding: ``xorshift32`` and ``xorshift64`` take the seed as their state; ``xorshift128`` sets
``x = seed`` and keeps the paper's ``y = 362436069, z = 521288629, w = 88675123``.

xorshift128+ as Vigna first published it (shifts 23, 17, 26; the version V8 used for
``Math.random``)::

    s1 = s[0]; s0 = s[1]; s[0] = s0; s1 ^= s1 << 23;
    return (s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)) + s0;

seeded with two successive SplitMix64 outputs from ``state = seed``.

Every step is a product of invertible xorshift maps, so every family here has ``prev``.
"""

from __future__ import annotations

from gpu_kernels.families.splitmix import (
    MASK32,
    MASK64,
    check_seed,
    splitmix64_mix_nb,
    splitmix64_outputs,
)
from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64

_XOR128_Y = 362436069
_XOR128_Z = 521288629
_XOR128_W = 88675123


def unshift_left(value: int, shift: int, bits: int) -> int:
    """The ``x`` with ``x ^ (x << shift) == value`` (mod ``2**bits``)."""
    mask = (1 << bits) - 1
    x = value
    # Each pass fixes ``shift`` more low bits of x.
    for _ in range(bits // shift + 1):
        x = value ^ ((x << shift) & mask)
    return x


def unshift_right(value: int, shift: int, bits: int) -> int:
    """The ``x`` with ``x ^ (x >> shift) == value`` (``bits``-bit words)."""
    x = value
    # Each pass fixes ``shift`` more high bits of x.
    for _ in range(bits // shift + 1):
        x = value ^ (x >> shift)
    return x


# -- numba twins ---------------------------------------------------------------------------------
# Every constant is an np.uint64 (a Python int mixed with a uint64 makes numba compute in
# float64); 32-bit families mask explicitly.

_U_MASK32 = uint64(MASK32)
_U5 = uint64(5)
_U7 = uint64(7)
_U8 = uint64(8)
_U11 = uint64(11)
_U13 = uint64(13)
_U17 = uint64(17)
_U19 = uint64(19)
_U23 = uint64(23)
_U26 = uint64(26)
_U_GAMMA = uint64(0x9E3779B97F4A7C15)
_U_XOR128_Y = uint64(_XOR128_Y)
_U_XOR128_Z = uint64(_XOR128_Z)
_U_XOR128_W = uint64(_XOR128_W)


@njit(inline="always")
def _xs32_seed(seed, state):
    state[0] = np.uint64(seed) & _U_MASK32


@njit(inline="always")
def _xs32_set_state(value, state):
    state[0] = np.uint64(value) & _U_MASK32


@njit(inline="always")
def _xs32_next(state):
    y = state[0]
    y ^= (y << _U13) & _U_MASK32
    y ^= y >> _U17
    y ^= (y << _U5) & _U_MASK32
    state[0] = y
    return y


@njit(inline="always")
def _xs64_seed(seed, state):
    state[0] = np.uint64(seed)


@njit(inline="always")
def _xs64_next(state):
    x = state[0]
    x ^= x << _U13
    x ^= x >> _U7
    x ^= x << _U17
    state[0] = x
    return x


@njit(inline="always")
def _xs128_seed(seed, state):
    state[0] = np.uint64(seed) & _U_MASK32
    state[1] = _U_XOR128_Y
    state[2] = _U_XOR128_Z
    state[3] = _U_XOR128_W


@njit(inline="always")
def _xs128_next(state):
    x = state[0]
    w = state[3]
    t = x ^ ((x << _U11) & _U_MASK32)
    state[0] = state[1]
    state[1] = state[2]
    state[2] = w
    w = (w ^ (w >> _U19)) ^ (t ^ (t >> _U8))
    state[3] = w
    return w


@njit(inline="always")
def _xs128p_seed(seed, state):
    z = np.uint64(seed) + _U_GAMMA
    state[0] = splitmix64_mix_nb(z)
    state[1] = splitmix64_mix_nb(z + _U_GAMMA)


@njit(inline="always")
def _xs128p_next(state):
    s1 = state[0]
    s0 = state[1]
    state[0] = s0
    s1 ^= s1 << _U23
    s1 = s1 ^ s0 ^ (s1 >> _U17) ^ (s0 >> _U26)
    state[1] = s1
    return s1 + s0


# -- the families --------------------------------------------------------------------------------


class Xorshift32(Family):
    name = "xorshift32"
    word_bits = 32
    seed_bits = 32
    state_bits = 32
    state_search = True
    #: 0 is a fixed point (the all-zero stream); every other state lies on one cycle.
    state_range = (1, MASK32)
    verified_against = (
        "Marsaglia's xor() from 'Xorshift RNGs' (2003), compiled with gcc: 1000 words per seed"
    )
    numba = NumbaKernels(state_words=1, seed=_xs32_seed, next=_xs32_next, set_state=_xs32_set_state)

    def seed(self, seed: int) -> State:
        return check_seed(self, seed)

    def next(self, state: State) -> tuple[State, int]:
        y = state
        y ^= (y << 13) & MASK32
        y ^= y >> 17
        y ^= (y << 5) & MASK32
        return y, y

    def prev(self, state: State) -> State:
        y = unshift_left(state, 5, 32)
        y = unshift_right(y, 17, 32)
        return unshift_left(y, 13, 32)

    def state_from_int(self, value: int) -> State:
        if not 0 <= value <= MASK32:
            raise ValueError(f"xorshift32 states are integers in [0, 2**32), got {value!r}")
        return value


class Xorshift64(Family):
    name = "xorshift64"
    word_bits = 64
    seed_bits = 64
    state_bits = 64
    verified_against = (
        "Marsaglia's xor64() from 'Xorshift RNGs' (2003), compiled with gcc: 1000 words per seed"
    )
    numba = NumbaKernels(state_words=1, seed=_xs64_seed, next=_xs64_next)

    def seed(self, seed: int) -> State:
        return check_seed(self, seed)

    def next(self, state: State) -> tuple[State, int]:
        x = state
        x ^= (x << 13) & MASK64
        x ^= x >> 7
        x ^= (x << 17) & MASK64
        return x, x

    def prev(self, state: State) -> State:
        x = unshift_left(state, 17, 64)
        x = unshift_right(x, 7, 64)
        return unshift_left(x, 13, 64)


class Xorshift128(Family):
    """Marsaglia's xor128: state ``(x, y, z, w)``, the word is the new ``w``."""

    name = "xorshift128"
    word_bits = 32
    seed_bits = 32
    state_bits = 128
    verified_against = (
        "Marsaglia's xor128() from 'Xorshift RNGs' (2003), compiled with gcc, x = seed: "
        "1000 words per seed"
    )
    numba = NumbaKernels(state_words=4, seed=_xs128_seed, next=_xs128_next)

    def seed(self, seed: int) -> State:
        return (check_seed(self, seed), _XOR128_Y, _XOR128_Z, _XOR128_W)

    def next(self, state: State) -> tuple[State, int]:
        x, y, z, w = state
        t = x ^ ((x << 11) & MASK32)
        w_new = (w ^ (w >> 19)) ^ (t ^ (t >> 8))
        return (y, z, w, w_new), w_new

    def prev(self, state: State) -> State:
        y, z, w, w_new = state
        t = unshift_right(w_new ^ w ^ (w >> 19), 8, 32)
        x = unshift_left(t, 11, 32)
        return (x, y, z, w)


class Xorshift128Plus(Family):
    """Vigna's xorshift128+ (shifts 23, 17, 26): state ``(s[0], s[1])``, 64-bit words."""

    name = "xorshift128plus"
    word_bits = 64
    seed_bits = 64
    state_bits = 128
    verified_against = (
        "Vigna's xorshift128plus.c (original 23/17/26 shifts) seeded from splitmix64.c, "
        "compiled with gcc: 1000 words per seed"
    )
    numba = NumbaKernels(state_words=2, seed=_xs128p_seed, next=_xs128p_next)

    def seed(self, seed: int) -> State:
        return splitmix64_outputs(check_seed(self, seed), 2)

    def next(self, state: State) -> tuple[State, int]:
        s1, s0 = state
        s1 ^= (s1 << 23) & MASK64
        s1_new = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)
        return (s0, s1_new), (s1_new + s0) & MASK64

    def prev(self, state: State) -> State:
        s0, s1_new = state
        # s1_new = a ^ (a >> 17) ^ s0 ^ (s0 >> 26) with a = s1_old ^ (s1_old << 23).
        a = unshift_right(s1_new ^ s0 ^ (s0 >> 26), 17, 64)
        return (unshift_left(a, 23, 64), s0)
