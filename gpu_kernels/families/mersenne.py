"""Mersenne Twister MT19937: C++ ``std::mt19937`` / PHP ``mt_rand`` seeding and CPython's.

The state is the MT recurrence seen as a sliding window, held in a circular buffer:

    x[k + 624] = x[k + 397] ^ A(upper(x[k]) | lower(x[k + 1]))

The reference state is ``(words, i)``: ``words`` (624 ints) hold the last 624 values of the
recurrence and ``words[i]`` is the oldest. One step computes the next value from the oldest,
the one after it and the one 397 further on, writes it over the oldest and returns its tempered
form. This is MT19937 "one word at a time"; it produces exactly the words of the usual
block-twist implementation (a seeded state is ``i = 0`` with the seeding array as the window).

Only the top bit of the oldest word ever influences a later word, so the state keeps the oldest
word's low 31 bits at zero (the seeding array's first word is masked too). That makes the state
space exactly the 2**19937 states of MT19937 and :meth:`prev` an exact inverse of :meth:`next`:
the value a step overwrote is recovered from the new value and the word 397 on (top bit), and
from the two newest words (low 31 bits; they came from it one step earlier).
"""

from __future__ import annotations

from typing import ClassVar

from gpu_kernels.family import Family, NumbaKernels
from gpu_kernels.jit import njit, np, uint64

N = 624
M = 397
MATRIX_A = 0x9908B0DF
UPPER = 0x80000000
LOWER = 0x7FFFFFFF
MASK32 = 0xFFFFFFFF


def _temper(y: int) -> int:
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


def _init_genrand(seed: int) -> list[int]:
    mt = [0] * N
    mt[0] = seed & MASK32
    for i in range(1, N):
        prev = mt[i - 1]
        mt[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & MASK32
    return mt


def _init_by_array(key: list[int]) -> list[int]:
    """CPython's ``init_by_array`` (``_randommodule.c``), same as the MT authors' reference."""
    mt = _init_genrand(19650218)
    i, j = 1, 0
    for _ in range(max(N, len(key))):
        prev = mt[i - 1]
        mt[i] = ((mt[i] ^ ((prev ^ (prev >> 30)) * 1664525)) + key[j] + j) & MASK32
        i += 1
        j += 1
        if i >= N:
            mt[0] = mt[N - 1]
            i = 1
        if j >= len(key):
            j = 0
    for _ in range(N - 1):
        prev = mt[i - 1]
        mt[i] = ((mt[i] ^ ((prev ^ (prev >> 30)) * 1566083941)) - i) & MASK32
        i += 1
        if i >= N:
            mt[0] = mt[N - 1]
            i = 1
    mt[0] = 0x80000000
    return mt


def python_seed_key(seed: int) -> list[int]:
    """The key CPython's ``random.seed(int)`` passes to ``init_by_array``: 32-bit chunks of
    ``abs(seed)``, least significant first (``[0]`` for seed 0)."""
    seed = abs(seed)
    key = []
    while seed:
        key.append(seed & MASK32)
        seed >>= 32
    return key or [0]


class _MTBase(Family):
    word_bits = 32
    seed_bits = 32
    state_bits = 19968
    #: PHP 5.2.1-7.0's twist (``MT_RAND_PHP``): the odd bit comes from the oldest word, so the
    #: state keeps that word's bit 0 as well as its top bit.
    php_twist: ClassVar[bool] = False

    @property
    def _oldest(self) -> int:
        return UPPER | 1 if self.php_twist else UPPER

    def _state(self, mt: list[int]) -> tuple:
        mt[0] &= self._oldest
        return (tuple(mt), 0)

    def _twist(self, oldest: int, after: int) -> int:
        y = (oldest & UPPER) | (after & LOWER)
        odd = oldest if self.php_twist else after
        return (y >> 1) ^ (MATRIX_A if odd & 1 else 0)

    def next(self, state):
        words, i = state
        j = i + 1 if i + 1 < N else 0
        new = words[(i + M) % N] ^ self._twist(words[i], words[j])
        buf = list(words)
        buf[i] = new
        buf[j] &= self._oldest  # words[j] is now the oldest; its other bits never matter again
        return (tuple(buf), j), _temper(new)

    def prev(self, state):
        words, i = state
        j = i - 1 if i > 0 else N - 1  # the newest value, the one the last step wrote
        # new = x[k+397] ^ (y >> 1) ^ odd * A with y = upper(old) | lower(words[i]); the top bit
        # of y >> 1 is 0 and A's is 1, so the top bit of the XOR is the odd bit.
        z = words[j] ^ words[(j + M) % N]
        odd = z >> 31
        if odd:
            z ^= MATRIX_A
        if self.php_twist:  # the odd bit was the old word's bit 0; y's bit 0 is words[i]'s
            y = ((z << 1) & MASK32) | (words[i] & 1)
            old = (y & UPPER) | odd
        else:
            y = ((z << 1) & MASK32) | odd
            old = y & UPPER
        buf = list(words)
        buf[j] = old
        buf[i] = (words[i] & self._oldest) | (y & LOWER)
        return (tuple(buf), j)

    def words(self, state):
        # Same stream as Family.words, without copying the 624-word tuple on every step.
        words, i = state
        buf = list(words)
        twist = self._twist
        while True:
            j = i + 1 if i + 1 < N else 0
            k = i + M
            new = buf[k - N if k >= N else k] ^ twist(buf[i], buf[j])
            buf[i] = new
            i = j
            yield _temper(new)

    def state_to_json(self, state):
        words, i = state
        return [*words, i]


# ------------------------------------------------------------------------------------------------
# numba twins: state[0:624] is the circular buffer, state[624] the index of the oldest word.

_N = uint64(N)
_M = uint64(M)
_U = uint64(UPPER)
_L = uint64(LOWER)
_A = uint64(MATRIX_A)
_MASK32 = uint64(MASK32)


@njit(inline="always")
def _nb_init_genrand(seed, state):
    state[0] = np.uint64(seed) & _MASK32
    for i in range(1, N):
        p = state[i - 1]
        state[i] = (np.uint64(1812433253) * (p ^ (p >> np.uint64(30))) + np.uint64(i)) & _MASK32


@njit(inline="always")
def _nb_mt_seed(seed, state):
    _nb_init_genrand(np.uint64(seed), state)
    state[0] &= _U
    state[N] = np.uint64(0)


@njit(inline="always")
def _nb_python_seed(seed, state):
    s = np.uint64(seed)
    key = np.empty(2, dtype=np.uint64)
    key[0] = s & _MASK32
    key[1] = s >> np.uint64(32)
    key_len = 2 if key[1] != np.uint64(0) else 1
    _nb_init_genrand(np.uint64(19650218), state)
    i = 1
    j = 0
    for _ in range(max(N, key_len)):
        p = state[i - 1]
        x = state[i] ^ ((p ^ (p >> np.uint64(30))) * np.uint64(1664525))
        state[i] = (x + key[j] + np.uint64(j)) & _MASK32
        i += 1
        j += 1
        if i >= N:
            state[0] = state[N - 1]
            i = 1
        if j >= key_len:
            j = 0
    for _ in range(N - 1):
        p = state[i - 1]
        x = state[i] ^ ((p ^ (p >> np.uint64(30))) * np.uint64(1566083941))
        state[i] = (x - np.uint64(i)) & _MASK32
        i += 1
        if i >= N:
            state[0] = state[N - 1]
            i = 1
    state[0] = np.uint64(0x80000000)
    state[N] = np.uint64(0)


@njit(inline="always")
def _nb_mt_step(state, php_twist):
    """One step: MT19937's twist, or PHP 5.2.1-7.0's (the odd bit from the oldest word, whose
    bit 0 the state then keeps); ``php_twist`` is a constant of each caller."""
    i = state[N]
    j = i + np.uint64(1)
    if j == _N:
        j = np.uint64(0)
    k = i + _M
    if k >= _N:
        k -= _N
    y = (state[i] & _U) | (state[j] & _L)
    new = state[k] ^ (y >> np.uint64(1))
    odd = state[i] if php_twist else state[j]
    if odd & np.uint64(1):
        new ^= _A
    state[i] = new
    state[j] &= (_U | np.uint64(1)) if php_twist else _U
    state[N] = j
    new ^= new >> np.uint64(11)
    new ^= (new << np.uint64(7)) & np.uint64(0x9D2C5680)
    new ^= (new << np.uint64(15)) & np.uint64(0xEFC60000)
    new ^= new >> np.uint64(18)
    return new & _MASK32


@njit(inline="always")
def _nb_mt_next(state):
    return _nb_mt_step(state, False)


@njit(inline="always")
def _nb_php_mt_next(state):
    return _nb_mt_step(state, True)


@njit(inline="always")
def _nb_php_mt_seed(seed, state):
    _nb_init_genrand(np.uint64(seed), state)
    state[0] &= _U | np.uint64(1)
    state[N] = np.uint64(0)


class MT19937(_MTBase):
    """MT19937 seeded with ``init_genrand(seed)``: C++ ``std::mt19937(seed)``, PHP
    ``mt_srand(seed)`` (``mt_rand()`` is ``word >> 1``), numpy's ``RandomState(seed)``."""

    name = "mt19937"
    verified_against = "g++ std::mt19937(seed) and PHP 8 mt_srand(seed); mt_rand()"

    def seed(self, seed):
        return self._state(_init_genrand(seed))

    numba = NumbaKernels(state_words=N + 1, seed=_nb_mt_seed, next=_nb_mt_next)


class PythonRandom(_MTBase):
    """CPython's ``random.seed(int)``: ``init_by_array`` on the 32-bit chunks of ``abs(seed)``;
    words are ``getrandbits(32)``. Seeds below 2**64 can be searched (``random.seed`` of a
    millisecond timestamp is a 41-bit seed); a search sweeps the 32-bit ones unless told; the
    reference twin takes any int."""

    name = "python_random"
    seed_bits = 64
    default_seed_range = (0, (1 << 32) - 1)
    verified_against = "CPython random.Random(seed).getrandbits(32)"

    def seed(self, seed):
        return self._state(_init_by_array(python_seed_key(seed)))

    numba = NumbaKernels(state_words=N + 1, seed=_nb_python_seed, next=_nb_mt_next)


class PhpMt(_MTBase):
    """PHP 5.2.1 to 7.0 ``mt_srand(seed)`` (and ``MT_RAND_PHP`` in 7.1+, HHVM): MT19937's
    seeding with a twist that takes the odd bit from the wrong word. ``mt_rand()`` is
    ``word >> 1``; ``mt_rand(min, max)`` scales it (projection ``php5_mt_rand_range``)."""

    name = "php5_mt"
    php_twist = True
    verified_against = "PHP 8.2 mt_srand(seed, MT_RAND_PHP); mt_rand() and mt_rand(0, M-1)"

    def seed(self, seed):
        return self._state(_init_genrand(seed))

    numba = NumbaKernels(state_words=N + 1, seed=_nb_php_mt_seed, next=_nb_php_mt_next)
