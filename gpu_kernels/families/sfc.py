"""Chris Doty-Humphrey's SFC64 ("small fast counting"), as in PractRand and numpy.

PractRand 0.94, ``src/RNGs/sfc.cpp``::

    Uint64 sfc64::raw64() {
        enum {BARREL_SHIFT = 24, RSHIFT = 11, LSHIFT = 3};
        Uint64 tmp = a + b + counter++;
        a = b ^ (b >> RSHIFT);
        b = c + (c << LSHIFT);
        c = ((c << BARREL_SHIFT) | (c >> (64-BARREL_SHIFT))) + tmp;
        return tmp;
    }
    void sfc64::seed(Uint64 s) {
        a = b = c = s;  counter = 1;
        for (int i = 0; i < 12; i++) raw64();
    }

``numpy.random.SFC64`` runs the same ``raw64`` step (it seeds differently, through a
SeedSequence). The state is ``(a, b, c, counter)``.

Inverse step: ``a' = b ^ (b >> 11)`` is undone by unshifting, ``b' = c + (c << 3) = 9c`` by
multiplying with the inverse of 9 mod 2**64, ``counter' = counter + 1`` by subtracting; then
``tmp = c' - rotl(c, 24)`` and ``a = tmp - b - counter``.
"""

from __future__ import annotations

from gpu_kernels.families.splitmix import MASK64, check_seed
from gpu_kernels.families.xorshift import unshift_right
from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64

SEED_ROUNDS = 12
_INVERSE_9 = pow(9, -1, 1 << 64)


def _rotl24(c: int) -> int:
    return ((c << 24) | (c >> 40)) & MASK64


# -- numba twin ----------------------------------------------------------------------------------
# Every constant is an np.uint64 (mixing a Python int with a uint64 makes numba use float64).

_U1 = uint64(1)
_U3 = uint64(3)
_U11 = uint64(11)
_U24 = uint64(24)
_U40 = uint64(40)


@njit(inline="always")
def _next(state):
    a = state[0]
    b = state[1]
    c = state[2]
    counter = state[3]
    tmp = a + b + counter
    state[3] = counter + _U1
    state[0] = b ^ (b >> _U11)
    state[1] = c + (c << _U3)
    state[2] = ((c << _U24) | (c >> _U40)) + tmp
    return tmp


@njit(inline="always")
def _seed(seed, state):
    s = np.uint64(seed)
    state[0] = s
    state[1] = s
    state[2] = s
    state[3] = _U1
    for _ in range(SEED_ROUNDS):
        _next(state)


class Sfc64(Family):
    name = "sfc64"
    word_bits = 64
    seed_bits = 64
    state_bits = 256
    verified_against = (
        "PractRand's sfc64 raw64()/seed(Uint64) transcribed to C and compiled with gcc "
        "(1000 words per seed); the step also checked against numpy.random.SFC64.random_raw"
    )
    numba = NumbaKernels(state_words=4, seed=_seed, next=_next)

    def seed(self, seed: int) -> State:
        seed = check_seed(self, seed)
        state: State = (seed, seed, seed, 1)
        for _ in range(SEED_ROUNDS):
            state, _ = self.next(state)
        return state

    def next(self, state: State) -> tuple[State, int]:
        a, b, c, counter = state
        tmp = (a + b + counter) & MASK64
        new = (
            b ^ (b >> 11),
            (c + (c << 3)) & MASK64,
            (_rotl24(c) + tmp) & MASK64,
            (counter + 1) & MASK64,
        )
        return new, tmp

    def prev(self, state: State) -> State:
        a_new, b_new, c_new, counter_new = state
        b = unshift_right(a_new, 11, 64)
        c = (b_new * _INVERSE_9) & MASK64
        counter = (counter_new - 1) & MASK64
        tmp = (c_new - _rotl24(c)) & MASK64
        a = (tmp - b - counter) & MASK64
        return (a, b, c, counter)
