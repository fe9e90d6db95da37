"""The numba twins of the xorshift, SplitMix64, pcg32, xoshiro256, SFC64 and Philox families.

Each twin (``family.numba``) must give, word for word, what the reference twin gives: from
``seed`` for many seeds, from ``set_state`` in state mode, and with its ``next`` typed
``uint64`` (numba turns a uint64 mixed with a Python int into float64, which would lose bits).
The twins are called the way the CPU backend calls them: inlined into an ``@njit`` loop.
"""

from __future__ import annotations

import random
from itertools import islice

import numba as nb
import numpy as np
import pytest

from gpu_kernels.families.pcg import Pcg32
from gpu_kernels.families.philox import Philox4x32
from gpu_kernels.families.sfc import Sfc64
from gpu_kernels.families.splitmix import SplitMix64
from gpu_kernels.families.xorshift import Xorshift32, Xorshift64, Xorshift128, Xorshift128Plus
from gpu_kernels.families.xoshiro import Xoshiro256pp, Xoshiro256ss
from gpu_kernels.family import Family, NumbaKernels

MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1
WORDS = 2000
#: What a fresh state array holds before seeding: the CPU backend allocates it with np.empty, so
#: seed and set_state must write every word.
GARBAGE = np.uint64(0xA5A5A5A5DEADBEEF)

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Xorshift32(),
        Xorshift64(),
        Xorshift128(),
        Xorshift128Plus(),
        SplitMix64(),
        Pcg32(),
        Xoshiro256pp(),
        Xoshiro256ss(),
        Sfc64(),
        Philox4x32(),
    )
}

_rng = random.Random(7402)


def seeds_for(family: Family) -> list[int]:
    top = (1 << family.seed_bits) - 1
    fixed = [0, 1, 2, 42, MASK32, top] + ([1 << 32, 1 << 63] if family.seed_bits == 64 else [])
    return fixed + [_rng.getrandbits(family.seed_bits) for _ in range(8)]


def reference_words(family: Family, state, count: int) -> list[int]:
    return list(islice(family.words(state), count))


class Drivers:
    """Small @njit loops over one family's twin (compiled lazily, once per family)."""

    def __init__(self, kernels: NumbaKernels):
        seed_fn = kernels.seed
        next_fn = kernels.next
        set_state_fn = kernels.set_state
        state_words = kernels.state_words

        @nb.njit
        def seeded(seeds, count):
            out = np.empty((seeds.size, count), dtype=np.uint64)
            state = np.empty(state_words, dtype=np.uint64)
            for i in range(seeds.size):
                state[:] = GARBAGE
                seed_fn(seeds[i], state)
                for j in range(count):
                    out[i, j] = next_fn(state)
            return out

        @nb.njit
        def walk(state, count):
            out = np.empty(count, dtype=np.uint64)
            for j in range(count):
                out[j] = next_fn(state)
            return out

        self.seeded = seeded
        self.walk = walk
        if set_state_fn is not None:

            @nb.njit
            def from_states(values, count):
                out = np.empty((values.size, count), dtype=np.uint64)
                state = np.empty(state_words, dtype=np.uint64)
                for i in range(values.size):
                    state[:] = GARBAGE
                    set_state_fn(values[i], state)
                    for j in range(count):
                        out[i, j] = next_fn(state)
                return out

            self.from_states = from_states


_DRIVERS: dict[str, Drivers] = {}


def drivers(name: str) -> Drivers:
    if name not in _DRIVERS:
        _DRIVERS[name] = Drivers(FAMILIES[name].numba)
    return _DRIVERS[name]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_twin_matches_reference_from_seeds(name):
    family = FAMILIES[name]
    seeds = seeds_for(family)
    out = drivers(name).seeded(np.array(seeds, dtype=np.uint64), WORDS)
    for seed, row in zip(seeds, out, strict=True):
        expected = reference_words(family, family.seed(seed), WORDS)
        assert row.tolist() == expected, f"{name} seed {seed}"


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_twin_accepts_int64_seeds(name):
    # A sieve loop over `range(lo, hi)` hands the twin int64 seeds, not uint64.
    family = FAMILIES[name]
    seeds = [0, 1, 12345, MASK32 >> 1, (MASK64 >> 1) & ((1 << family.seed_bits) - 1)]
    out = drivers(name).seeded(np.array(seeds, dtype=np.int64), 50)
    for seed, row in zip(seeds, out, strict=True):
        assert row.tolist() == reference_words(family, family.seed(seed), 50), seed


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_twin_next_is_typed_uint64(name):
    kernels = FAMILIES[name].numba
    state = np.zeros(kernels.state_words, dtype=np.uint64)
    kernels.seed(np.uint64(5), state)
    kernels.next(state)
    signatures = kernels.next.nopython_signatures
    assert signatures
    assert all(sig.return_type == nb.types.uint64 for sig in signatures), signatures


def test_xorshift32_set_state_matches_state_from_int():
    family = FAMILIES["xorshift32"]
    values = [1, 2, 0x80000000, MASK32] + [_rng.randrange(1, MASK32 + 1) for _ in range(12)]
    out = drivers("xorshift32").from_states(np.array(values, dtype=np.uint64), WORDS)
    for value, row in zip(values, out, strict=True):
        expected = reference_words(family, family.state_from_int(value), WORDS)
        assert row.tolist() == expected, value


#: Random123 kat_vectors, philox4x32 10: counter words, key words, output.
PHILOX4X32_10_KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]  # fmt: skip


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX4X32_10_KAT)
def test_philox_twin_known_answers_and_counter_carry(counter, key, expected):
    # State array layout: [key0, key1, ctr0..ctr3, index, out0..out3].
    family = FAMILIES["philox4x32"]
    state = np.zeros(11, dtype=np.uint64)
    state[0:2] = key
    state[2:6] = counter
    words = drivers("philox4x32").walk(state, 12).tolist()
    assert tuple(words[:4]) == expected
    # The next blocks follow the 128-bit counter (the all-ones counter wraps to zero).
    value = counter[0] | counter[1] << 32 | counter[2] << 64 | counter[3] << 96
    assert words == reference_words(family, (key[0], key[1], value, 0), 12)
