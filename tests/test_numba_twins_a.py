"""The numba twins of mersenne.py, glibc.py and lcg.py agree with the reference word for word."""

from __future__ import annotations

import random
from itertools import islice

import numba as nb
import numpy as np
import pytest

from gpu_kernels.families.glibc import GlibcRand, Lcg32
from gpu_kernels.families.lcg import JavaLcg, JavaRandom, MinstdRand, MinstdRand0, MsvcRand
from gpu_kernels.families.mersenne import MT19937, PythonRandom

FAMILIES = [
    MT19937(),
    PythonRandom(),
    GlibcRand(),
    Lcg32(),
    JavaRandom(),
    JavaLcg(),
    MinstdRand(),
    MinstdRand0(),
    MsvcRand(),
]
WORDS = 2000
_rng = random.Random(7)


@nb.njit
def _seeded(seed_fn, seed, state_words):
    state = np.zeros(state_words, dtype=np.uint64)
    seed_fn(np.uint64(seed), state)
    return state


@nb.njit
def _stream(seed_fn, next_fn, seeds, state_words, count):
    out = np.empty((seeds.size, count), dtype=np.uint64)
    state = np.zeros(state_words, dtype=np.uint64)
    for row in range(seeds.size):
        state[:] = 0
        seed_fn(seeds[row], state)
        for i in range(count):
            out[row, i] = next_fn(state)
    return out


@nb.njit
def _state_stream(set_fn, next_fn, values, count):
    out = np.empty((values.size, count), dtype=np.uint64)
    state = np.zeros(1, dtype=np.uint64)
    for row in range(values.size):
        set_fn(values[row], state)
        for i in range(count):
            out[row, i] = next_fn(state)
    return out


def _seeds(family) -> list[int]:
    top = 1 << min(family.seed_bits, 64)
    edge = [0, 1, 2, 5489, 2**31 - 1, 2**31, 2**32 - 1, top - 1]
    if family.name == "python_random":  # the twin takes any seed below 2**64
        edge += [2**32, 2**32 + 1, 2**63, 2**64 - 1]
        top = 1 << 64
    edge = [s for s in edge if s < top]
    return edge + [_rng.randrange(top) for _ in range(12)]


def _as_array(state) -> list[int]:
    if isinstance(state, int):
        return [state]
    if isinstance(state[0], tuple):  # Mersenne: (words, index)
        return [*state[0], state[1]]
    return [*state, 0]  # glibc: the window, oldest first, with index 0


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_numba_seed_gives_the_reference_state(family):
    kernels = family.numba
    for seed in _seeds(family)[:10]:
        state = _seeded(kernels.seed, np.uint64(seed), kernels.state_words)
        assert state.tolist() == _as_array(family.seed(seed)), f"seed {seed}"
        # Called on its own, next returns an integer (a float would mean uint64/int64 mixing).
        word = kernels.next(state)
        assert isinstance(word, int), type(word)
        assert word == family.next(family.seed(seed))[1]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_numba_words_match_the_reference(family):
    kernels = family.numba
    seeds = _seeds(family)
    got = _stream(
        kernels.seed, kernels.next, np.array(seeds, dtype=np.uint64), kernels.state_words, WORDS
    )
    for seed, row in zip(seeds, got, strict=True):
        expected = list(islice(family.words(family.seed(seed)), WORDS))
        assert row.tolist() == expected, f"seed {seed}"


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.state_search], ids=lambda f: f.name)
def test_numba_set_state_matches_state_from_int(family):
    kernels = family.numba
    lo, hi = family.candidate_space("state")
    values = [lo, lo + 1, hi - 1, hi, *(_rng.randint(lo, hi) for _ in range(12))]
    got = _state_stream(kernels.set_state, kernels.next, np.array(values, dtype=np.uint64), 200)
    for value, row in zip(values, got, strict=True):
        expected = list(islice(family.words(family.state_from_int(value)), 200))
        assert row.tolist() == expected, f"state {value}"
