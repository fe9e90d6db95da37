"""V8's ``Math.random()``: xorshift128+ behind a 64-value cache served last-first.

``src/numbers/math-random.cc``: a refill runs 64 xorshift128+ steps (shifts 23, 17, 26) and
stores ``state0`` after each; ``Math.random()`` then serves ``cache[--index]``, so every block of
64 comes out in reverse order of generation, and the next refill continues from the state after
the block's last step. ``--random-seed=S`` (an int64, read here as unsigned) seeds
``state0 = fmix64(S)`` and ``state1 = fmix64(~S)`` (MurmurHash3's finaliser).

The reference state is ``(s0, s1, left)``: the xorshift state after the current block's 64th
step and how many of its values are still to be served (0 to 63; 0: the next call refills).
The word is the 64-bit ``state0`` of the generation served; V8 11–13 (Node 12–23) make the double
``(word >> 12) / 2**52`` from it (the ``v8_math_random`` reading).
"""

from __future__ import annotations

from gpu_kernels.families.xorshift import Xorshift128Plus, _xs128p_next
from gpu_kernels.family import Family, NumbaKernels, State
from gpu_kernels.jit import njit, np, uint64

MASK64 = (1 << 64) - 1
CACHE_SIZE = 64
_STEP = Xorshift128Plus()


def fmix64(h: int) -> int:
    """MurmurHash3's 64-bit finaliser, V8's ``MurmurHash3`` for the Math.random seed."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    h ^= h >> 33
    return h


def step(state: tuple[int, int], count: int) -> tuple[int, int]:
    """``count`` xorshift128+ steps forward (negative: back)."""
    for _ in range(count):
        state = _STEP.next(state)[0]
    for _ in range(-count):
        state = _STEP.prev(state)
    return state


# numba twin: state[0:2] the xorshift state, state[2] the values left to serve, state[3:67] the
# cache (filled by a refill, served from the top), so a word costs one step, not a walk back.
_CACHE = uint64(CACHE_SIZE)


@njit(inline="always")
def _nb_fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@njit(inline="always")
def _nb_v8_seed(seed, state):
    s = np.uint64(seed)
    state[0] = _nb_fmix64(s)
    state[1] = _nb_fmix64(~s)
    state[2] = np.uint64(0)


@njit(inline="always")
def _nb_v8_next(state):
    if state[2] == np.uint64(0):
        pair = state[0:2]
        for i in range(CACHE_SIZE):
            _xs128p_next(pair)
            state[3 + i] = pair[0]
        state[2] = _CACHE
    state[2] -= np.uint64(1)
    return state[np.uint64(3) + state[2]]


class V8MathRandom(Family):
    """Node's / Chrome's ``Math.random()`` (V8 7.1–13.4): 64-bit words, served last-first."""

    name = "v8"
    word_bits = 64
    seed_bits = 64
    state_bits = 128
    verified_against = "node --random-seed=S (V8 11.3): Math.random() across cache refills"
    numba = NumbaKernels(state_words=3 + CACHE_SIZE, seed=_nb_v8_seed, next=_nb_v8_next)

    def seed(self, seed: int) -> State:
        seed &= MASK64
        return (fmix64(seed), fmix64(~seed & MASK64), 0)

    def next(self, state: State) -> tuple[State, int]:
        s0, s1, left = state
        if left == 0:
            s0, s1 = step((s0, s1), CACHE_SIZE)
            left = CACHE_SIZE
        # Served: generation ``left - 1`` of the block, ``64 - left`` steps before its end.
        word = step((s0, s1), left - CACHE_SIZE)[0]
        return (s0, s1, left - 1), word

    def prev(self, state: State) -> State:
        s0, s1, left = state
        if left == CACHE_SIZE - 1:  # that call refilled: before it, the last block was spent
            s0, s1 = step((s0, s1), -CACHE_SIZE)
            return (s0, s1, 0)
        return (s0, s1, left + 1)
