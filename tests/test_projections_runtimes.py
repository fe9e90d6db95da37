"""The projections, driven by the reference words of the families, against the runtimes' own
bounded draws: CPython randrange/randint/random, Java nextInt(bound), PHP mt_rand(min, max),
C++ and C ``% M``; and against the draws programs print: raw words (g++ ``std::mt19937``,
CPython ``getrandbits(32)``, glibc ``rand()``), Java ``nextInt()`` and ``nextLong()``, CPython
``random()``, Node's ``Math.random()``, each also found by ``mimicry sieve`` from the runtime's
output.

Every expected draw is made by the runtime inside the test. Cases with rejection sampling also
check that rejection really happened (more words read than draws made), so the rejection path
is exercised, not just the fast path.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest

from gpu_kernels.families.glibc import GlibcRand
from gpu_kernels.families.lcg import JavaRandom
from gpu_kernels.families.mersenne import MT19937, PhpMt, PythonRandom
from gpu_kernels.families.v8 import V8MathRandom
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


# ------------------------------------------------------------------------------------------------
# The program's own output forms: raw words, Java's nextInt() and nextLong(), the doubles of
# random.random() and Math.random(). A projection makes codes in [0, M); decode() gives the draw
# the program printed and encode() takes it back.


def project_forms(family, seed: int, projection_name: str, count: int = DRAWS):
    """``count`` draws in the program's form, after checking that each one encodes back to its
    code; and the number of words they read."""
    projection = PROJECTIONS[projection_name]
    modulus = projection.modulus_for(family.word_bits)
    codes, read = project(family, seed, projection_name, modulus, count)
    draws = [projection.decode(code) for code in codes]
    assert [projection.encode(draw) for draw in draws] == codes
    assert all(0 <= code < modulus for code in codes)
    return draws, read


def test_raw_is_gxx_mt19937():
    got = runtimes.cpp_engines([("mt19937", s, 0, DRAWS) for s in SEEDS_32])
    for seed, expected in zip(SEEDS_32, got, strict=True):
        assert project_forms(MT19937(), seed, "raw") == (expected, DRAWS), f"seed {seed}"


def test_raw_is_cpython_getrandbits_32():
    for seed in SEEDS_32[:8]:
        generator = random.Random(seed)
        expected = [generator.getrandbits(32) for _ in range(DRAWS)]
        assert project_forms(PythonRandom(), seed, "raw")[0] == expected, f"seed {seed}"


def test_raw_is_glibc_rand_31_bit_words():
    family, libc = GlibcRand(), runtimes.glibc()
    assert PROJECTIONS["raw"].modulus_for(family.word_bits) == 2**31
    for seed in SEEDS_32[:8]:
        assert project_forms(family, seed, "raw")[0] == libc.rand_words(seed, DRAWS)


def test_java_nextint32_and_nextlong_are_the_jdk():
    family = JavaRandom()
    requests = [(s, bound, DRAWS) for bound in (0, -1) for s in JAVA_SEEDS]
    got = runtimes.java_random(requests)
    negative = 0
    for (seed, bound, _), expected in zip(requests, got, strict=True):
        name = "java_nextint32" if bound == 0 else "java_nextlong"
        draws, read = project_forms(family, seed & (2**64 - 1), name)
        assert draws == expected, f"{name} seed {seed}"
        assert read == DRAWS * (1 if bound == 0 else 2)
        negative += sum(draw < 0 for draw in draws)
    assert negative > 0  # the signed reading was exercised


def test_python_random_float_is_cpython_random():
    for seed in SEEDS_32:
        generator = random.Random(seed)
        expected = [generator.random() for _ in range(DRAWS)]
        assert project_forms(PythonRandom(), seed, "python_random_float") == (
            expected,
            2 * DRAWS,
        ), f"seed {seed}"


@pytest.mark.parametrize("seed", [1337, 2**31 - 1, -5])
def test_v8_math_random_is_node(seed):
    script = f"console.log(JSON.stringify(Array.from(Array({DRAWS}), Math.random)))"
    expected = json.loads(runtimes.run_node(script, f"--random-seed={seed}"))
    assert project_forms(V8MathRandom(), seed % 2**64, "v8_math_random")[0] == expected


# -- the sieve finds the seed behind each form, from the runtime's own output ------------------

_SCRIPT = Path(sys.executable).with_name("mimicry")
MIMICRY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "mimicry_cli"]


def sieve(cwd: Path, draws: list, *args: str) -> subprocess.CompletedProcess[str]:
    """``mimicry sieve draws.txt ARGS`` on ``draws`` written as the program printed them."""
    (cwd / "draws.txt").write_text("".join(f"{draw!r}\n" for draw in draws))
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
    env.update(MIMICRY_HOME=str(cwd / "home"), COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [*MIMICRY, "sieve", "draws.txt", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def found(
    cwd: Path, draws: list, family: str, projection: str, truth: int, predict: int, seeds: str
) -> list:
    """Sieve ``draws`` (offset 0) over ``seeds`` and return the best survivor's predictions,
    after checking that it is ``truth`` and significant."""
    proc = sieve(
        cwd,
        draws,
        "--family",
        family,
        "--projection",
        projection,
        "--seeds",
        seeds,
        "--predict",
        str(predict),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    best = answer["survivors"][0]
    assert (best["seed"], best["offset"], best["matches"]) == (truth, 0, len(draws))
    assert answer["stats"]["significant"] is True
    return best["next"]


def test_sieve_finds_java_random_from_nextint(tmp_path):
    truth = 1_718_000_002_024
    (ints,) = runtimes.java_random([(truth, 0, 8)])
    seeds = f"{truth - 2500}..{truth + 2500}"
    assert found(tmp_path, ints[:5], "java_random", "java_nextint32", truth, 3, seeds) == ints[5:]


def test_sieve_finds_java_random_from_nextlong(tmp_path):
    truth = 31_337
    (longs,) = runtimes.java_random([(truth, -1, 5)])
    assert any(value < 0 for value in longs)
    nxt = found(tmp_path, longs[:3], "java_random", "java_nextlong", truth, 2, "30000..35000")
    assert nxt == longs[3:]


def test_sieve_finds_python_random_from_random_and_getrandbits(tmp_path):
    truth = 4_242
    generator = random.Random(truth)
    doubles = [generator.random() for _ in range(6)]
    nxt = found(tmp_path, doubles[:4], "python_random", "python_random_float", truth, 2, "0..5000")
    assert nxt == doubles[4:]
    generator = random.Random(truth)
    words = [generator.getrandbits(32) for _ in range(6)]
    assert found(tmp_path, words[:4], "python_random", "raw", truth, 2, "0..5000") == words[4:]


def test_sieve_finds_gxx_mt19937_from_raw_words(tmp_path):
    truth = 123_456_789
    (words,) = runtimes.cpp_engines([("mt19937", truth, 0, 6)])
    seeds = f"{truth - 3000}..{truth + 2000}"
    assert found(tmp_path, words[:4], "mt19937", "raw", truth, 2, seeds) == words[4:]


def test_sieve_finds_node_from_math_random(tmp_path):
    truth = 20_261
    script = "console.log(JSON.stringify(Array.from(Array(7), Math.random)))"
    doubles = json.loads(runtimes.run_node(script, f"--random-seed={truth}"))
    nxt = found(tmp_path, doubles[:4], "v8", "v8_math_random", truth, 3, "18000..23000")
    assert nxt == doubles[4:]


def test_sieve_on_64_bit_words_past_2_63(tmp_path):
    """Raw 64-bit words (no runtime prints V8's words: the family's reference, checked against
    Node above): codes of 2^63 and more travel through the int64 kernels and come back whole."""
    family, truth = V8MathRandom(), 777
    words = list(islice(family.words(family.seed(truth)), 8))
    assert any(word >= 2**63 for word in words[:4]) and any(word >= 2**63 for word in words[4:])
    assert found(tmp_path, words[:4], "v8", "raw", truth, 4, "0..1000") == words[4:]
