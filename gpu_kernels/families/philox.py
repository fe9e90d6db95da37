"""Philox4x32-10, the counter-based generator of Random123 (Salmon et al., SC11).

Random123 ``philox.h``, one round on a counter ``ctr`` (4 words) and key (2 words)::

    lo0, hi0 = mulhilo32(0xD2511F53, ctr[0]);  lo1, hi1 = mulhilo32(0xCD9E8D57, ctr[2]);
    ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};

and ``philox4x32_R(10, ctr, key)`` applies round, then nine times (bump key by
``(0x9E3779B9, 0xBB67AE85)``, round).

The family: ``key = (seed & 0xFFFFFFFF, seed >> 32)``; the counter is a 128-bit integer whose
32-bit words, least significant first, are ``ctr[0..3]``, and runs 0, 1, 2, ...; the stream is
the 4 output words of each block in order. The reference state is
``(key0, key1, counter, index)``: the next word is word ``index`` (0..3) of block ``counter``.
Stepping back moves ``index`` back, and the counter when ``index`` wraps.
"""

from __future__ import annotations

from functools import lru_cache

from gpu_kernels.families.splitmix import MASK32, check_seed
from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64

ROUNDS = 10
PHILOX_M4X32_0 = 0xD2511F53
PHILOX_M4X32_1 = 0xCD9E8D57
PHILOX_W32_0 = 0x9E3779B9
PHILOX_W32_1 = 0xBB67AE85
_COUNTER_MASK = (1 << 128) - 1


def philox4x32_block(
    counter: tuple[int, int, int, int], key: tuple[int, int], rounds: int = ROUNDS
) -> tuple[int, int, int, int]:
    """``philox4x32_R(rounds, ctr, key)``: the 4 output words of one counter block."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0 = (k0 + PHILOX_W32_0) & MASK32
            k1 = (k1 + PHILOX_W32_1) & MASK32
        p0 = PHILOX_M4X32_0 * c0
        p1 = PHILOX_M4X32_1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
    return (c0, c1, c2, c3)


@lru_cache(maxsize=4096)
def _block(key0: int, key1: int, counter: int) -> tuple[int, int, int, int]:
    words = (
        counter & MASK32,
        (counter >> 32) & MASK32,
        (counter >> 64) & MASK32,
        (counter >> 96) & MASK32,
    )
    return philox4x32_block(words, (key0, key1))


# -- numba twin ----------------------------------------------------------------------------------
# State array: [key0, key1, ctr0, ctr1, ctr2, ctr3, index, out0, out1, out2, out3]. out0..3 hold
# the block of the current counter once index > 0 (the block is computed when index is 0).
# Every constant is an np.uint64 (mixing a Python int with a uint64 makes numba use float64).

_U0 = uint64(0)
_U1 = uint64(1)
_U4 = uint64(4)
_U32 = uint64(32)
_U_MASK32 = uint64(MASK32)
_U_M0 = uint64(PHILOX_M4X32_0)
_U_M1 = uint64(PHILOX_M4X32_1)
_U_W0 = uint64(PHILOX_W32_0)
_U_W1 = uint64(PHILOX_W32_1)


@njit(inline="always")
def _fill_block(state):
    k0 = state[0]
    k1 = state[1]
    c0 = state[2]
    c1 = state[3]
    c2 = state[4]
    c3 = state[5]
    for r in range(ROUNDS):
        if r > 0:
            k0 = (k0 + _U_W0) & _U_MASK32
            k1 = (k1 + _U_W1) & _U_MASK32
        p0 = _U_M0 * c0
        p1 = _U_M1 * c2
        n0 = (p1 >> _U32) ^ c1 ^ k0
        n2 = (p0 >> _U32) ^ c3 ^ k1
        c1 = p1 & _U_MASK32
        c3 = p0 & _U_MASK32
        c0 = n0
        c2 = n2
    state[7] = c0
    state[8] = c1
    state[9] = c2
    state[10] = c3


@njit(inline="always")
def _seed(seed, state):
    s = np.uint64(seed)
    state[0] = s & _U_MASK32
    state[1] = s >> _U32
    for i in range(2, 11):
        state[i] = _U0


@njit(inline="always")
def _next(state):
    index = state[6]
    if index == _U0:
        _fill_block(state)
    word = state[7 + np.intp(index)]
    index += _U1
    if index == _U4:
        index = _U0
        # 128-bit counter increment with carry through the 32-bit words.
        for i in range(2, 6):
            v = (state[i] + _U1) & _U_MASK32
            state[i] = v
            if v != _U0:
                break
    state[6] = index
    return word


class Philox4x32(Family):
    name = "philox4x32"
    word_bits = 32
    seed_bits = 64
    #: Key (64 bits) and counter (128 bits); the position inside a block is not counted.
    state_bits = 192
    verified_against = (
        "Random123 philox.h (Philox4x32, 10 rounds) transcribed to C and compiled with gcc "
        "(1000 words per seed), and Random123's kat_vectors for philox4x32 10"
    )
    numba = NumbaKernels(state_words=11, seed=_seed, next=_next)

    def seed(self, seed: int) -> State:
        seed = check_seed(self, seed)
        return (seed & MASK32, seed >> 32, 0, 0)

    def next(self, state: State) -> tuple[State, int]:
        key0, key1, counter, index = state
        word = _block(key0, key1, counter)[index]
        if index == 3:
            return (key0, key1, (counter + 1) & _COUNTER_MASK, 0), word
        return (key0, key1, counter, index + 1), word

    def prev(self, state: State) -> State:
        key0, key1, counter, index = state
        if index == 0:
            return (key0, key1, (counter - 1) & _COUNTER_MASK, 3)
        return (key0, key1, counter, index - 1)
