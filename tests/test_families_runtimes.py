"""The families of mersenne.py, glibc.py, lcg.py and v8.py against the runtimes that define them,
and their inverse steps.

Expected values come from the runtimes themselves (g++ <random>, PHP, CPython, glibc through
ctypes, the JDK, Node), run inside the tests; the only hard-coded words are Microsoft's published
``rand()`` sequences, since no MSVC runtime exists here.
"""

from __future__ import annotations

import json
import random
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpu_kernels.families.glibc import GlibcRand, Lcg32
from gpu_kernels.families.lcg import (
    JavaLcg,
    JavaRandom,
    MinstdRand,
    MinstdRand0,
    MsvcRand,
)
from gpu_kernels.families.mersenne import MT19937, PhpMt, PythonRandom
from gpu_kernels.families.v8 import V8MathRandom
from tests import runtimes

WORDS = 2000
_rng = random.Random(20240611)

SEEDS_32 = [
    0,
    1,
    2,
    5489,
    19650218,
    2**31 - 2,
    2**31 - 1,
    2**31,
    2**31 + 1,
    2**32 - 2,
    2**32 - 1,
    1700000000,
    *(_rng.getrandbits(32) for _ in range(18)),
]
MASK64 = (1 << 64) - 1


def take(family, seed: int, count: int = WORDS) -> list[int]:
    return list(islice(family.words(family.seed(seed)), count))


# ------------------------------------------------------------------------------------------------
# Mersenne Twister


def test_mt19937_matches_gxx_std_mt19937():
    family = MT19937()
    got = runtimes.cpp_engines([("mt19937", s, 0, WORDS) for s in SEEDS_32])
    for seed, words in zip(SEEDS_32, got, strict=True):
        assert take(family, seed) == words, f"seed {seed}"


def test_mt19937_matches_php_mt_rand():
    family = MT19937()
    seeds = SEEDS_32[:24]
    got = runtimes.php_mt_rand([(s, -1, 1000) for s in seeds])
    for seed, draws in zip(seeds, got, strict=True):
        assert [w >> 1 for w in take(family, seed, 1000)] == draws, f"seed {seed}"


PYTHON_SEEDS = [
    *SEEDS_32,
    2**32,
    2**32 + 1,
    2**63 - 1,
    2**64 - 1,
    2**64,
    2**100 + 12345,
    10**40,
    _rng.getrandbits(200),
]


@pytest.mark.parametrize("seed", PYTHON_SEEDS)
def test_python_random_matches_cpython(seed):
    expected = random.Random(seed)
    assert take(PythonRandom(), seed) == [expected.getrandbits(32) for _ in range(WORDS)]


def test_mersenne_state_is_the_sliding_window():
    # A seeded state is the seeding array with the oldest word's low 31 bits cleared.
    words, index = MT19937().seed(1)
    assert index == 0 and len(words) == 624
    assert words[0] == 1 & 0x80000000 and words[1] == 1812433254
    assert PythonRandom().seed(0)[0][0] == 0x80000000
    assert MT19937().state_to_json(MT19937().seed(7))[-1] == 0


# ------------------------------------------------------------------------------------------------
# glibc

GLIBC_SEEDS = [*SEEDS_32, 2**31 + 12345, 3000000000, 4000000000]


def test_glibc_rand_matches_glibc():
    family, libc = GlibcRand(), runtimes.glibc()
    for seed in GLIBC_SEEDS:
        assert take(family, seed) == libc.rand_words(seed, WORDS), f"seed {seed}"


def test_glibc_rand_seed_zero_is_seed_one():
    libc = runtimes.glibc()
    assert libc.rand_words(0, 50) == libc.rand_words(1, 50) == take(GlibcRand(), 0, 50)


def test_lcg32_matches_glibc_type0():
    family, libc = Lcg32(), runtimes.glibc()
    for seed in GLIBC_SEEDS:
        assert take(family, seed) == libc.type0_words(seed, WORDS), f"seed {seed}"
    # The process-wide generator is back on TYPE_3 afterwards.
    assert libc.rand_words(5, 20) == take(GlibcRand(), 5, 20)


def test_lcg32_state_mode_is_the_seed():
    family = Lcg32()
    for value in (0, 1, 12345, 2**31 - 1):
        assert family.state_from_int(value) == value
    assert family.seed(0) == 1 and family.seed(2**31) == 0 and family.seed(2**31 + 7) == 7


# ------------------------------------------------------------------------------------------------
# Java

JAVA_SEEDS = [
    0,
    1,
    -1,
    42,
    -42,
    0x5DEECE66D,
    2**47,
    -(2**47),
    2**63 - 1,
    -(2**63),
    1700000000000,
    1718000000123,
    *(1718000000000 + _rng.randrange(10**8) for _ in range(6)),
    *(_rng.randrange(-(2**63), 2**63) for _ in range(10)),
]


#: Node's --random-seed is a 32-bit int flag, sign-extended to V8's 64-bit seed.
NODE_SEEDS = [1337, -5, 1, 2**31 - 1, -(2**31), _rng.randrange(1, 2**31)]


@pytest.mark.parametrize("seed", NODE_SEEDS)
def test_v8_matches_node_math_random_across_cache_refills(seed):
    script = "console.log(JSON.stringify(Array.from(Array(300), Math.random)))"
    doubles = json.loads(runtimes.run_node(script, f"--random-seed={seed}"))
    words = islice(V8MathRandom().words(V8MathRandom().seed(seed % 2**64)), 300)
    assert [(word >> 12) / 2**52 for word in words] == doubles


def test_java_random_matches_the_jdk():
    family = JavaRandom()
    got = runtimes.java_random([(s, 0, WORDS) for s in JAVA_SEEDS])
    for seed, ints in zip(JAVA_SEEDS, got, strict=True):
        assert take(family, seed & MASK64) == [i & 0xFFFFFFFF for i in ints], f"seed {seed}"


@pytest.mark.parametrize("seed", [0, 1, 2**48 - 1, 0x5DEECE66D, *SEEDS_32[:8]])
def test_java_lcg_is_java_random_unscrambled(seed):
    assert take(JavaLcg(), seed, 200) == take(JavaRandom(), seed ^ 0x5DEECE66D, 200)
    assert JavaLcg().seed(seed) == seed & (2**48 - 1)


# ------------------------------------------------------------------------------------------------
# minstd

MINSTD_SEEDS = [*SEEDS_32, 2147483647, 2 * 2147483647, 2147483648]


@pytest.mark.parametrize("family", [MinstdRand(), MinstdRand0()], ids=lambda f: f.name)
def test_minstd_matches_gxx(family):
    got = runtimes.cpp_engines([(family.name, s, 0, WORDS) for s in MINSTD_SEEDS])
    for seed, words in zip(MINSTD_SEEDS, got, strict=True):
        assert take(family, seed) == words, f"seed {seed}"


@pytest.mark.parametrize("family", [MinstdRand(), MinstdRand0()], ids=lambda f: f.name)
def test_minstd_state_mode(family):
    assert family.candidate_space("state") == (1, 2**31 - 2)
    assert family.seed(0) == family.seed(2147483647) == 1
    for value in (1, 2, 2**31 - 2):
        assert family.state_from_int(value) == value


# ------------------------------------------------------------------------------------------------
# MSVC (published vectors: Microsoft's documented default sequence, and srand(0), the sequence
# of the Windows FreeCell deals)


def test_msvc_rand_published_vectors():
    family = MsvcRand()
    srand1 = [41, 18467, 6334, 26500, 19169, 15724, 11478, 29358, 26962, 24464]
    srand0 = [38, 7719, 21238, 2437, 8855, 11797, 8365, 32285, 10450, 30612]
    assert take(family, 1, 10) == srand1
    assert take(family, 0, 10) == srand0
    assert family.state_from_int(12345) == family.seed(12345) == 12345


# ------------------------------------------------------------------------------------------------
# Family attributes


ALL_MINE = [
    MT19937(),
    PythonRandom(),
    PhpMt(),
    GlibcRand(),
    Lcg32(),
    JavaRandom(),
    JavaLcg(),
    MinstdRand(),
    MinstdRand0(),
    MsvcRand(),
    V8MathRandom(),
]


@pytest.mark.parametrize("family", ALL_MINE, ids=lambda f: f.name)
def test_declared_attributes(family):
    assert family.has_prev
    assert family.verified_against
    assert family.numba is not None
    assert (family.numba.set_state is not None) == family.state_search
    first = take(family, 12345, 500)
    assert all(0 <= w < 1 << family.word_bits for w in first)
    assert max(first) >= 1 << (family.word_bits - 2)  # the top bits are used


# ------------------------------------------------------------------------------------------------
# Inverse steps: prev∘next and next∘prev are the identity on random states.

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)


def _mt_state(data: bytes, index: int, oldest: int = 0x80000000) -> tuple:
    words = [int.from_bytes(data[4 * i : 4 * i + 4], "little") for i in range(624)]
    words[index] &= oldest  # the oldest word keeps only the bits a later step reads
    return (tuple(words), index)


MT_STATES = st.builds(_mt_state, st.binary(min_size=2496, max_size=2496), st.integers(0, 623))
PHP_MT_STATES = st.builds(
    _mt_state,
    st.binary(min_size=2496, max_size=2496),
    st.integers(0, 623),
    st.just(0x80000001),
)

STATES = {
    "mt19937": MT_STATES,
    "python_random": MT_STATES,
    "php5_mt": PHP_MT_STATES,
    "glibc_rand": st.tuples(*[U32] * 31),
    "lcg32": st.integers(0, 2**31 - 1),
    "java_random": st.integers(0, 2**48 - 1),
    "java_lcg": st.integers(0, 2**48 - 1),
    "minstd_rand": st.integers(1, 2**31 - 2),
    "minstd_rand0": st.integers(1, 2**31 - 2),
    "msvc_rand": U32,
    # Any xorshift state but (0, 0), at any place in its cache.
    "v8": st.tuples(U64, U64.filter(bool), st.integers(0, 63)),
}


@pytest.mark.parametrize("family", ALL_MINE, ids=lambda f: f.name)
def test_prev_inverts_next(family):
    @settings(max_examples=60, deadline=None)
    @given(STATES[family.name])
    def check(state):
        after, _ = family.next(state)
        assert family.prev(after) == state
        assert family.next(family.prev(state))[0] == state

    check()


@pytest.mark.parametrize("family", ALL_MINE, ids=lambda f: f.name)
def test_backward_walk_returns_to_the_seed(family):
    start = family.seed(987654321)
    state = start
    for _ in range(700):  # past a full MT block, 22 turns of glibc's table
        state, _ = family.next(state)
    for _ in range(700):
        state = family.prev(state)
    assert state == start


def test_prev_recovers_words_before_the_window():
    # Stepping back from mid-stream and forward again reproduces the words the runtime made.
    for family in (MT19937(), PhpMt(), GlibcRand()):
        state = family.seed(4242)
        words = []
        for _ in range(1500):
            state, word = family.next(state)
            words.append(word)
        back = state
        for _ in range(1500):
            back = family.prev(back)
        assert list(islice(family.words(back), 1500)) == words
