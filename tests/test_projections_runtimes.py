"""The projections, driven by the reference words of the families, against the runtimes' own
bounded draws: CPython randrange/randint/random, Java nextInt(bound), PHP mt_rand(min, max),
C++ and C ``% M``.

Every expected draw is made by the runtime inside the test. Cases with rejection sampling also
check that rejection really happened (more words read than draws made), so the rejection path
is exercised, not just the fast path.
"""

from __future__ import annotations

import random
from itertools import islice

import pytest

from gpu_kernels.families.glibc import GlibcRand
from gpu_kernels.families.lcg import JavaRandom
from gpu_kernels.families.mersenne import MT19937, PhpMt, PythonRandom
from gpu_kernels.projections import PROJECTIONS
from tests import runtimes

DRAWS = 300
_rng = random.Random(99)
SEEDS_32 = [0, 1, 42, 5489, 2**31 - 1, 2**31, 2**32 - 1, *(_rng.getrandbits(32) for _ in range(17))]


class Counting:
    """An iterator over words that counts how many were read."""

    def __init__(self, words):
        self.words = words
        self.read = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.read += 1
        return next(self.words)


def project(family, seed: int, projection_name: str, modulus: int, count: int = DRAWS):
    """``count`` draws of the projection over the family's reference words, and the number of
    words they read."""
    projection = PROJECTIONS[projection_name]
    assert projection.check(family.word_bits, modulus) is None
    words = Counting(family.words(family.seed(seed)))
    draws = [projection.draw(words, modulus, family.word_bits) for _ in range(count)]
    return draws, words.read


# ------------------------------------------------------------------------------------------------
# CPython


@pytest.mark.parametrize("bits", [1, 8, 16, 31])
def test_python_getrandbits(bits):
    for seed in SEEDS_32[:6]:
        generator = random.Random(seed)
        expected = [generator.getrandbits(bits) for _ in range(DRAWS)]
        assert project(PythonRandom(), seed, "python_getrandbits", 2**bits)[0] == expected


@pytest.mark.parametrize("modulus", [1000, 1024, 10, 37, 10**6])
def test_python_randrange_and_randint(modulus):
    family, words_read = PythonRandom(), 0
    for seed in SEEDS_32:
        draws, read = project(family, seed, "python_randrange", modulus)
        words_read += read
        r = random.Random(seed)
        assert draws == [r.randrange(modulus) for _ in range(DRAWS)], f"seed {seed}"
        r = random.Random(seed)
        assert draws == [r.randint(0, modulus - 1) for _ in range(DRAWS)], f"seed {seed}"
    # Every one of these moduli rejects part of getrandbits(k)'s range but 1024 (k = 11 reads
    # 0..2047, so half is rejected) is no exception: rejection happened.
    assert words_read > len(SEEDS_32) * DRAWS


@pytest.mark.parametrize("modulus", [1000, 1024, 10, 37, 10**6, 2**31])
def test_python_float(modulus):
    family = PythonRandom()
    for seed in SEEDS_32:
        draws, read = project(family, seed, "python_float", modulus)
        assert read == 2 * DRAWS
        r = random.Random(seed)
        assert draws == [int(r.random() * modulus) for _ in range(DRAWS)], f"seed {seed}"


# ------------------------------------------------------------------------------------------------
# Java

JAVA_SEEDS = [
    0,
    1,
    -1,
    42,
    -(2**63),
    2**63 - 1,
    1718000000000,
    *(1718000000000 + _rng.randrange(10**8) for _ in range(8)),
    *(_rng.randrange(-(2**63), 2**63) for _ in range(10)),
]
# 10**9 rejects ~7% of attempts, 2**30 + 1 about half; 1024 takes the power-of-two path.
JAVA_BOUNDS = [1000, 1024, 7, 10**9, 2**30 + 1, 2**30]


def test_java_nextint():
    family = JavaRandom()
    requests = [(s, b, DRAWS) for b in JAVA_BOUNDS for s in JAVA_SEEDS]
    got = runtimes.java_random(requests)
    rejected = dict.fromkeys(JAVA_BOUNDS, 0)
    for (seed, bound, _), expected in zip(requests, got, strict=True):
        draws, read = project(family, seed & (2**64 - 1), "java_nextint", bound)
        assert draws == expected, f"seed {seed} bound {bound}"
        rejected[bound] += read - DRAWS
    assert rejected[10**9] > 0 and rejected[2**30 + 1] > 0
    assert rejected[1024] == rejected[2**30] == 0


# ------------------------------------------------------------------------------------------------
# PHP

# 10**9 and 1.5e9 reject above PHP's limit (~7% and ~30% of words); 1024 is the mask path.
PHP_MODULI = [1000, 1024, 10**9, 1_500_000_000, 2**31]


def test_php_mt_rand_range():
    family = MT19937()
    requests = [(s, m - 1, DRAWS) for m in PHP_MODULI for s in SEEDS_32]
    got = runtimes.php_mt_rand(requests)
    rejected = dict.fromkeys(PHP_MODULI, 0)
    for (seed, top, _), expected in zip(requests, got, strict=True):
        draws, read = project(family, seed, "php_mt_rand_range", top + 1)
        assert draws == expected, f"seed {seed} M {top + 1}"
        rejected[top + 1] += read - DRAWS
    assert rejected[10**9] > 0 and rejected[1_500_000_000] > 0
    assert rejected[1024] == rejected[2**31] == 0


def test_php5_mt_rand_range():
    """PHP 5.2.1-7.0's scaling, as PHP 8 runs it under MT_RAND_PHP (with that twist)."""
    family = PhpMt()
    moduli = [62, 1000, 1024, 10**9, 2**31]
    requests = [(s, m - 1, DRAWS, "php") for m in moduli for s in SEEDS_32]
    got = runtimes.php_mt_rand(requests)
    for (seed, top, _, _), expected in zip(requests, got, strict=True):
        draws, read = project(family, seed, "php5_mt_rand_range", top + 1)
        assert draws == expected, f"seed {seed} M {top + 1}"
        assert read == DRAWS


@pytest.mark.parametrize("family", [MT19937(), PhpMt()], ids=lambda f: f.name)
def test_php_mt_rand_without_arguments(family):
    mode = ("php",) if family.name == "php5_mt" else ()
    requests = [(s, -1, DRAWS, *mode) for s in SEEDS_32]
    for (seed, *_), expected in zip(requests, runtimes.php_mt_rand(requests), strict=True):
        assert project(family, seed, "php_mt_rand", 2**31)[0] == expected


# ------------------------------------------------------------------------------------------------
# mod


@pytest.mark.parametrize("modulus", [1000, 7, 2**31 - 1])
def test_mod_gxx_mt19937(modulus):
    family = MT19937()
    got = runtimes.cpp_engines([("mt19937", s, modulus, DRAWS) for s in SEEDS_32])
    for seed, expected in zip(SEEDS_32, got, strict=True):
        draws, read = project(family, seed, "mod", modulus)
        assert read == DRAWS
        assert draws == expected, f"seed {seed}"


@pytest.mark.parametrize("modulus", [1000, 6, 2**31])
def test_mod_glibc_rand(modulus):
    family, libc = GlibcRand(), runtimes.glibc()
    for seed in SEEDS_32:
        expected = [w % modulus for w in libc.rand_words(seed, DRAWS)]
        assert project(family, seed, "mod", modulus)[0] == expected, f"seed {seed}"


def test_runtimes_draws_differ_between_seeds():
    # Guard against a harness that returns the same draws whatever it is asked.
    got = runtimes.cpp_engines([("mt19937", s, 1000, 20) for s in (1, 2)])
    assert got[0] != got[1]
    assert list(islice(GlibcRand().words(GlibcRand().seed(1)), 3)) != [0, 0, 0]
