"""glibc ``srand``/``rand`` (``random_r.c``): the default TYPE_3 additive feedback generator and
the TYPE_0 linear congruential one.

TYPE_3 (``glibc_rand``): ``srand(seed)`` fills ``r[0..30]`` with ``seed`` and 30 steps of
``16807 * r % (2**31 - 1)`` (Schrage's method in signed 32-bit arithmetic, so seeds at or above
2**31 are negative ints and give glibc's exact values), sets ``r[31..33] = r[0..2]``, then
``r[i] = r[i-3] + r[i-31] (mod 2**32)``; the first 310 values are discarded and each
``rand()`` is ``r[i] >> 1`` (31 bits).

The reference state is the tuple of the last 31 values ``(r[i-31], ..., r[i-1])``; a step
appends ``r[i-31] + r[i-3]`` and drops the oldest, and the inverse step recovers it as
``r[i-1] - r[i-4]``.

TYPE_0 (``lcg32``): ``initstate(seed, buf, 8)``; ``random()`` steps
``x = (1103515245 * x + 12345) mod 2**31`` and returns ``x``.
"""

from __future__ import annotations

from gpu_kernels.family import Family, NumbaKernels
from gpu_kernels.jit import njit, np, uint64

MASK32 = 0xFFFFFFFF
MASK31 = 0x7FFFFFFF
DEG = 31  # TYPE_3 rand_deg
SEP = 3  # TYPE_3 rand_sep
DISCARDS = 10 * DEG


def _int32(x: int) -> int:
    x &= MASK32
    return x - (1 << 32) if x & 0x80000000 else x


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _srand_table(seed: int) -> list[int]:
    """``r[0..30]`` right after glibc's ``__srandom_r``, as unsigned 32-bit values."""
    seed &= MASK32
    if seed == 0:
        seed = 1
    word = _int32(seed)  # int32_t word = seed;
    table = [seed]
    for _ in range(1, DEG):
        hi = _c_div(word, 127773)
        lo = word - hi * 127773  # C's %: the sign of the dividend
        word = _int32(16807 * lo - 2836 * hi)
        if word < 0:
            word += 2147483647
        table.append(word & MASK32)
    return table


class GlibcRand(Family):
    """glibc ``srand(seed); rand()`` (TYPE_3, the default): 31-bit words."""

    name = "glibc_rand"
    word_bits = 31
    seed_bits = 32
    state_bits = DEG * 32
    verified_against = "glibc srand/rand through ctypes"

    def seed(self, seed):
        r = _srand_table(seed)
        window = r[SEP:] + r[:SEP]  # r[3..33], since r[31..33] = r[0..2]
        for _ in range(DISCARDS):
            window.append((window[-DEG] + window[-SEP]) & MASK32)
        return tuple(window[-DEG:])

    def next(self, state):
        new = (state[0] + state[DEG - SEP]) & MASK32
        return (*state[1:], new), new >> 1

    def prev(self, state):
        oldest = (state[-1] - state[-1 - SEP]) & MASK32
        return (oldest, *state[:-1])

    def words(self, state):
        window = list(state)
        while True:
            new = (window[-DEG] + window[-SEP]) & MASK32
            window.append(new)
            yield new >> 1
            if len(window) > 4096:
                del window[:-DEG]


# numba twin: state[0:31] is a circular buffer of the window, state[31] the index of the
# oldest value (310 discards are 10 full turns, so a seeded array equals the reference tuple).

_DEG = uint64(DEG)
_LAG = uint64(DEG - SEP)
_M32 = uint64(MASK32)


@njit(inline="always")
def _nb_glibc_next(state):
    p = state[DEG]
    q = p + _LAG
    if q >= _DEG:
        q -= _DEG
    new = (state[p] + state[q]) & _M32
    state[p] = new
    p += np.uint64(1)
    if p == _DEG:
        p = np.uint64(0)
    state[DEG] = p
    return new >> np.uint64(1)


@njit(inline="always")
def _nb_glibc_seed(seed, state):
    s = np.uint64(seed) & _M32
    if s == np.uint64(0):
        s = np.uint64(1)
    # r[0..30] go to r[3..33]'s slots: slot (i - 3) mod 31.
    state[DEG - SEP] = s
    word = np.int64(s)
    if word >= np.int64(0x80000000):
        word -= np.int64(1) << np.int64(32)
    for i in range(1, DEG):
        # Schrage in C's signed arithmetic: numba's // and % on int64 floor, C truncates.
        neg = word < 0
        a = -word if neg else word
        hi = a // np.int64(127773)
        lo = a - hi * np.int64(127773)
        if neg:
            hi = -hi
            lo = -lo
        word = np.int64(16807) * lo - np.int64(2836) * hi
        if word < 0:
            word += np.int64(2147483647)
        state[(i + DEG - SEP) % DEG] = np.uint64(word) & _M32
    state[DEG] = np.uint64(0)
    for _ in range(DISCARDS):
        _nb_glibc_next(state)


class Lcg32(Family):
    """glibc TYPE_0 (``initstate(seed, buf, 8); random()``): ``x = (1103515245 x + 12345) mod
    2**31``, word = x. ``seed(s)`` is ``s mod 2**31`` with glibc's 0 -> 1."""

    name = "lcg32"
    word_bits = 31
    seed_bits = 32
    state_bits = 31
    state_search = True
    verified_against = "glibc initstate(seed, buf, 8) (TYPE_0) + random() through ctypes"

    A = 1103515245
    C = 12345
    A_INV = pow(A, -1, 1 << 31)

    def seed(self, seed):
        seed &= MASK32
        return (seed or 1) & MASK31

    def next(self, state):
        x = (self.A * state + self.C) & MASK31
        return x, x

    def prev(self, state):
        return ((state - self.C) * self.A_INV) & MASK31

    def state_from_int(self, value):
        return value & MASK31


_M31 = uint64(MASK31)


@njit(inline="always")
def _nb_lcg32_next(state):
    x = (state[0] * np.uint64(1103515245) + np.uint64(12345)) & _M31
    state[0] = x
    return x


@njit(inline="always")
def _nb_lcg32_seed(seed, state):
    s = np.uint64(seed) & _M32
    if s == np.uint64(0):
        s = np.uint64(1)
    state[0] = s & _M31


@njit(inline="always")
def _nb_lcg32_set_state(value, state):
    state[0] = np.uint64(value) & _M31


GlibcRand.numba = NumbaKernels(state_words=DEG + 1, seed=_nb_glibc_seed, next=_nb_glibc_next)
Lcg32.numba = NumbaKernels(
    state_words=1, seed=_nb_lcg32_seed, next=_nb_lcg32_next, set_state=_nb_lcg32_set_state
)
