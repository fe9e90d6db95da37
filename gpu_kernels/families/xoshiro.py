"""Blackman and Vigna's xoshiro256++ and xoshiro256** (version 1.0).

``xoshiro256plusplus.c`` / ``xoshiro256starstar.c``::

    result = rotl(s[0] + s[3], 23) + s[0];        // ++
    result = rotl(s[1] * 5, 7) * 9;               // **
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);

Seeding as the authors suggest: the four state words are four successive SplitMix64 outputs
from ``state = seed``. The state is the tuple ``(s[0], s[1], s[2], s[3])``.

Inverse step. With the new words ``n0..n3``: ``n0 = s0^s1^s3``, ``n1 = s0^s1^s2``,
``n2 = s0^s2^(s1<<17)``, ``n3 = rotl(s1^s3, 45)``. So ``s1^s3 = rotr(n3, 45)``, which gives
``s0``; then ``s1 ^ (s1<<17) = n1 ^ n2`` gives ``s1`` by unshifting, and ``s2``, ``s3`` follow.
"""

from __future__ import annotations

from gpu_kernels.families.splitmix import (
    MASK64,
    check_seed,
    splitmix64_mix_nb,
    splitmix64_outputs,
)
from gpu_kernels.families.xorshift import unshift_left
from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


def xoshiro256_step(state: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The linear engine shared by xoshiro256++ and xoshiro256**."""
    s0, s1, s2, s3 = state
    t = (s1 << 17) & MASK64
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return (s0, s1, s2, s3)


def xoshiro256_unstep(state: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The inverse of :func:`xoshiro256_step`."""
    n0, n1, n2, n3 = state
    s1_xor_s3 = _rotl(n3, 64 - 45)
    s0 = n0 ^ s1_xor_s3
    s1 = unshift_left(n1 ^ n2, 17, 64)
    s2 = n1 ^ s0 ^ s1
    s3 = s1_xor_s3 ^ s1
    return (s0, s1, s2, s3)


# -- numba twins ---------------------------------------------------------------------------------
# Every constant is an np.uint64 (mixing a Python int with a uint64 makes numba use float64).

_U_GAMMA = uint64(0x9E3779B97F4A7C15)
_U5 = uint64(5)
_U7 = uint64(7)
_U9 = uint64(9)
_U17 = uint64(17)
_U19 = uint64(19)
_U23 = uint64(23)
_U41 = uint64(41)
_U45 = uint64(45)
_U57 = uint64(57)


@njit(inline="always")
def _seed(seed, state):
    z = np.uint64(seed)
    for i in range(4):
        z += _U_GAMMA
        state[i] = splitmix64_mix_nb(z)


@njit(inline="always")
def _step(state):
    t = state[1] << _U17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    s3 = state[3]
    state[3] = (s3 << _U45) | (s3 >> _U19)


@njit(inline="always")
def _next_pp(state):
    v = state[0] + state[3]
    result = ((v << _U23) | (v >> _U41)) + state[0]
    _step(state)
    return result


@njit(inline="always")
def _next_ss(state):
    v = state[1] * _U5
    result = ((v << _U7) | (v >> _U57)) * _U9
    _step(state)
    return result


class _Xoshiro256(Family):
    word_bits = 64
    seed_bits = 64
    state_bits = 256

    def seed(self, seed: int) -> State:
        return splitmix64_outputs(check_seed(self, seed), 4)

    def prev(self, state: State) -> State:
        return xoshiro256_unstep(state)


class Xoshiro256pp(_Xoshiro256):
    name = "xoshiro256pp"
    verified_against = (
        "Blackman and Vigna's xoshiro256plusplus.c seeded from splitmix64.c, compiled with gcc: "
        "1000 words per seed"
    )
    numba = NumbaKernels(state_words=4, seed=_seed, next=_next_pp)

    def next(self, state: State) -> tuple[State, int]:
        s0, _, _, s3 = state
        result = (_rotl((s0 + s3) & MASK64, 23) + s0) & MASK64
        return xoshiro256_step(state), result


class Xoshiro256ss(_Xoshiro256):
    name = "xoshiro256ss"
    verified_against = (
        "Blackman and Vigna's xoshiro256starstar.c seeded from splitmix64.c, compiled with gcc: "
        "1000 words per seed"
    )
    numba = NumbaKernels(state_words=4, seed=_seed, next=_next_ss)

    def next(self, state: State) -> tuple[State, int]:
        result = (_rotl((state[1] * 5) & MASK64, 7) * 9) & MASK64
        return xoshiro256_step(state), result
