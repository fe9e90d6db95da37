"""SplitMix64 (Vigna's fixed-increment SplittableRandom), and the helpers other families share.

``splitmix64.c`` (Sebastiano Vigna, 2015)::

    uint64_t z = (x += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);

The state is the 64-bit counter ``x``; seeding sets ``x = seed``. The step is ``x += gamma``, so
the inverse step subtracts it. Vigna recommends filling the state of xorshift128+ and xoshiro256
from successive SplitMix64 outputs; :func:`splitmix64_outputs` and the numba
:func:`splitmix64_mix` serve those families too.
"""

from __future__ import annotations

from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF

GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def check_seed(family: Family, seed: int) -> int:
    """``seed`` if it lies in the family's seed space, else one clear ValueError."""
    if not isinstance(seed, int | np.integer) or not 0 <= int(seed) < (1 << family.seed_bits):
        raise ValueError(
            f"{family.name} seeds are integers in [0, 2**{family.seed_bits}), got {seed!r}"
        )
    return int(seed)


def splitmix64_mix(z: int) -> int:
    """SplitMix64's output function of the (already incremented) state ``z``."""
    z = ((z ^ (z >> 30)) * _MIX1) & MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & MASK64
    return z ^ (z >> 31)


def splitmix64_outputs(seed: int, count: int) -> tuple[int, ...]:
    """The first ``count`` SplitMix64 outputs from state ``seed`` (Vigna's seeding recipe)."""
    out = []
    state = seed
    for _ in range(count):
        state = (state + GAMMA) & MASK64
        out.append(splitmix64_mix(state))
    return tuple(out)


# -- numba twin ----------------------------------------------------------------------------------
# Every constant is an np.uint64: a Python int mixed with a uint64 makes numba compute in float64.

_U_GAMMA = uint64(GAMMA)
_U_MIX1 = uint64(_MIX1)
_U_MIX2 = uint64(_MIX2)
_U27 = uint64(27)
_U30 = uint64(30)
_U31 = uint64(31)


@njit(inline="always")
def splitmix64_mix_nb(z):
    """:func:`splitmix64_mix` over a ``uint64``."""
    z = (z ^ (z >> _U30)) * _U_MIX1
    z = (z ^ (z >> _U27)) * _U_MIX2
    return z ^ (z >> _U31)


@njit(inline="always")
def _seed(seed, state):
    state[0] = np.uint64(seed)


@njit(inline="always")
def _next(state):
    z = state[0] + _U_GAMMA
    state[0] = z
    return splitmix64_mix_nb(z)


class SplitMix64(Family):
    name = "splitmix64"
    word_bits = 64
    seed_bits = 64
    state_bits = 64
    verified_against = "Vigna's splitmix64.c compiled with gcc (1000 words for many seeds)"

    numba = NumbaKernels(state_words=1, seed=_seed, next=_next)

    def seed(self, seed: int) -> State:
        return check_seed(self, seed)

    def next(self, state: State) -> tuple[State, int]:
        state = (state + GAMMA) & MASK64
        return state, splitmix64_mix(state)

    def prev(self, state: State) -> State:
        return (state - GAMMA) & MASK64
