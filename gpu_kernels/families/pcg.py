"""O'Neill's pcg32 (PCG-XSH-RR 64/32) from pcg_basic.c, on the fixed stream ``initseq = 54``.

``pcg_basic.c`` (Melissa O'Neill, 2014)::

    void pcg32_srandom_r(rng, initstate, initseq) {
        rng->state = 0U;  rng->inc = (initseq << 1u) | 1u;
        pcg32_random_r(rng);  rng->state += initstate;  pcg32_random_r(rng);
    }
    uint32_t pcg32_random_r(rng) {
        uint64_t oldstate = rng->state;
        rng->state = oldstate * 6364136223846793005ULL + rng->inc;
        uint32_t xorshifted = ((oldstate >> 18u) ^ oldstate) >> 27u;
        uint32_t rot = oldstate >> 59u;
        return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
    }

The family's seed is ``initstate``; ``initseq`` is 54 (``inc = 109``), as in O'Neill's
``pcg32-demo``. The state is the 64-bit LCG state; the inverse step is the inverse LCG.
"""

from __future__ import annotations

from gpu_kernels.families.splitmix import MASK32, MASK64, check_seed
from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64

MULTIPLIER = 6364136223846793005
INITSEQ = 54
INCREMENT = ((INITSEQ << 1) | 1) & MASK64
MULTIPLIER_INVERSE = pow(MULTIPLIER, -1, 1 << 64)


def pcg32_output(oldstate: int) -> int:
    """XSH-RR: the 32-bit word made from the state before the step."""
    xorshifted = (((oldstate >> 18) ^ oldstate) >> 27) & MASK32
    rot = oldstate >> 59
    return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & MASK32


# -- numba twin ----------------------------------------------------------------------------------
# Every constant is an np.uint64 (mixing a Python int with a uint64 makes numba use float64).

_U_MULT = uint64(MULTIPLIER)
_U_INC = uint64(INCREMENT)
_U_MASK32 = uint64(MASK32)
_U18 = uint64(18)
_U27 = uint64(27)
_U31 = uint64(31)
_U32 = uint64(32)
_U59 = uint64(59)


@njit(inline="always")
def _seed(seed, state):
    # state = 0; step; state += seed; step.  The first step from 0 leaves inc.
    state[0] = (_U_INC + np.uint64(seed)) * _U_MULT + _U_INC


@njit(inline="always")
def _next(state):
    old = state[0]
    state[0] = old * _U_MULT + _U_INC
    xorshifted = (((old >> _U18) ^ old) >> _U27) & _U_MASK32
    rot = old >> _U59
    # (32 - rot) & 31 == (-rot) & 31, and keeps the shift below 32 (rot == 0 shifts by 0).
    return ((xorshifted >> rot) | (xorshifted << ((_U32 - rot) & _U31))) & _U_MASK32


class Pcg32(Family):
    name = "pcg32"
    word_bits = 32
    seed_bits = 64
    state_bits = 64
    verified_against = (
        "O'Neill's pcg_basic.c pcg32_srandom_r(seed, 54)/pcg32_random_r compiled with gcc "
        "(1000 words per seed) and the pcg32-demo known answers for seed 42, stream 54"
    )
    numba = NumbaKernels(state_words=1, seed=_seed, next=_next)

    def seed(self, seed: int) -> State:
        seed = check_seed(self, seed)
        state = INCREMENT  # 0 * MULTIPLIER + INCREMENT
        state = (state + seed) & MASK64
        return (state * MULTIPLIER + INCREMENT) & MASK64

    def next(self, state: State) -> tuple[State, int]:
        return (state * MULTIPLIER + INCREMENT) & MASK64, pcg32_output(state)

    def prev(self, state: State) -> State:
        return ((state - INCREMENT) * MULTIPLIER_INVERSE) & MASK64
