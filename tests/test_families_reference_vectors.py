"""The xorshift, SplitMix64, pcg32, xoshiro256, SFC64 and Philox families against their authors.

Each family's reference twin is compared word for word with its author's C code (transcribed in
``tests/reference_c``, built with gcc once per session, every seed of a family in one run), and
with the published known answers where the authors give some (pcg32-demo, Random123's
kat_vectors). SFC64's step is also compared with ``numpy.random.SFC64``. The inverse steps are
checked as properties: ``prev`` undoes ``next`` and ``next`` undoes ``prev`` on random states.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpu_kernels.families.pcg import Pcg32
from gpu_kernels.families.philox import Philox4x32, philox4x32_block
from gpu_kernels.families.sfc import Sfc64
from gpu_kernels.families.splitmix import SplitMix64
from gpu_kernels.families.xorshift import Xorshift32, Xorshift64, Xorshift128, Xorshift128Plus
from gpu_kernels.families.xoshiro import Xoshiro256pp, Xoshiro256ss
from gpu_kernels.family import Family

REFERENCE_C = Path(__file__).parent / "reference_c"
MASK32 = (1 << 32) - 1
MASK64 = (1 << 64) - 1
WORDS = 1000

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

#: Family name -> the GEN_<NAME> macro that builds its driver from tests/reference_c/driver.c.
C_BUILDS = {
    "xorshift32": "XORSHIFT32",
    "xorshift64": "XORSHIFT64",
    "xorshift128": "XORSHIFT128",
    "xorshift128plus": "XORSHIFT128PLUS",
    "splitmix64": "SPLITMIX64",
    "pcg32": "PCG32",
    "xoshiro256pp": "XOSHIRO256PP",
    "xoshiro256ss": "XOSHIRO256SS",
    "sfc64": "SFC64",
    "philox4x32": "PHILOX4X32",
}

_rng = random.Random(20030701)
SEEDS_64 = [0, 1, 2, 42, MASK32, 1 << 32, 1 << 63, MASK64] + [
    _rng.getrandbits(64) for _ in range(10)
]
SEEDS_32 = [0, 1, 2, 42, 1 << 31, MASK32] + [_rng.getrandbits(32) for _ in range(10)]


def seeds_for(family: Family) -> list[int]:
    return SEEDS_64 if family.seed_bits == 64 else SEEDS_32


def reference_words(family: Family, seed: int, count: int) -> list[int]:
    state = family.seed(seed)
    words = []
    for _ in range(count):
        state, word = family.next(state)
        words.append(word)
    return words


class ReferenceC:
    """The compiled drivers: one executable per family."""

    def __init__(self, binaries: dict[str, Path]):
        self.binaries = binaries

    def _run(self, name: str, lines: list[str]) -> np.ndarray:
        result = subprocess.run(
            [str(self.binaries[name])],
            input="".join(lines).encode(),
            capture_output=True,
            check=True,
            timeout=60,
        )
        return np.frombuffer(result.stdout, dtype="<u8")

    def words(self, name: str, seeds: list[int], count: int) -> np.ndarray:
        """``count`` words for each seed, one row per seed."""
        out = self._run(name, [f"{seed} {count}\n" for seed in seeds])
        return out.reshape(len(seeds), count)

    def philox_block(self, counter: tuple, key: tuple) -> list[int]:
        line = "kat " + " ".join(f"{v:08x}" for v in (*counter, *key)) + "\n"
        return self._run("philox4x32", [line]).tolist()


@pytest.fixture(scope="session")
def reference_c(tmp_path_factory) -> ReferenceC:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail(
            "no C compiler (gcc) on this machine: install gcc to run the C reference checks"
        )
    build = tmp_path_factory.mktemp("reference_c")
    binaries = {name: build / name for name in C_BUILDS}
    driver = str(REFERENCE_C / "driver.c")
    jobs = [
        subprocess.Popen(
            [
                gcc,
                "-std=gnu99",
                "-O2",
                "-Wall",
                f"-DGEN_{macro}",
                driver,
                "-o",
                str(binaries[name]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name, macro in C_BUILDS.items()
    ]
    for job in jobs:
        output, _ = job.communicate(timeout=120)
        assert job.returncode == 0, output.decode()
    return ReferenceC(binaries)


# -- the families as specified -------------------------------------------------------------------

EXPECTED_ATTRIBUTES = {
    # name: (word_bits, seed_bits, state_bits, state_search)
    "xorshift32": (32, 32, 32, True),
    "xorshift64": (64, 64, 64, False),
    "xorshift128": (32, 32, 128, False),
    "xorshift128plus": (64, 64, 128, False),
    "splitmix64": (64, 64, 64, False),
    "pcg32": (32, 64, 64, False),
    "xoshiro256pp": (64, 64, 256, False),
    "xoshiro256ss": (64, 64, 256, False),
    "sfc64": (64, 64, 256, False),
    "philox4x32": (32, 64, 192, False),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_declared_attributes(name):
    family = FAMILIES[name]
    word_bits, seed_bits, state_bits, state_search = EXPECTED_ATTRIBUTES[name]
    assert family.name == name
    assert (family.word_bits, family.seed_bits, family.state_bits) == (
        word_bits,
        seed_bits,
        state_bits,
    )
    assert family.state_search is state_search
    assert family.has_prev
    assert family.verified_against
    assert family.numba is not None
    assert (family.numba.set_state is not None) is state_search


def test_xorshift32_state_mode():
    family = FAMILIES["xorshift32"]
    assert family.state_range == (1, MASK32)
    assert family.candidate_space("state") == (1, MASK32)
    for value in (1, 0x12345678, MASK32):
        assert family.state_from_int(value) == value
        # In state mode the state *is* the seed: the same words follow.
        assert reference_words(family, value, 5) == list(
            islice(family.words(family.state_from_int(value)), 5)
        )
    with pytest.raises(ValueError, match="xorshift32"):
        family.state_from_int(1 << 32)
    # The other families are not enumerable.
    with pytest.raises(NotImplementedError):
        FAMILIES["pcg32"].state_from_int(1)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_seed_outside_the_seed_space_is_refused(name):
    family = FAMILIES[name]
    with pytest.raises(ValueError, match=name):
        family.seed(1 << family.seed_bits)
    with pytest.raises(ValueError, match=name):
        family.seed(-1)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_words_fit_the_word_width(name):
    family = FAMILIES[name]
    words = reference_words(family, 0x0123456789ABCDEF & ((1 << family.seed_bits) - 1), 200)
    assert all(0 <= w < (1 << family.word_bits) for w in words)
    assert len(set(words)) > 190


# -- the authors' C code -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(C_BUILDS))
def test_matches_the_authors_c_code(reference_c, name):
    family = FAMILIES[name]
    seeds = seeds_for(family)
    expected = reference_c.words(name, seeds, WORDS)
    for seed, row in zip(seeds, expected, strict=True):
        assert reference_words(family, seed, WORDS) == row.tolist(), f"{name} seed {seed}"


# -- published known answers ---------------------------------------------------------------------

#: O'Neill's pcg32-demo, "Round 1: 32bit:" line, for pcg32_srandom_r(&rng, 42u, 54u).
PCG32_DEMO_42_54 = [0xA15C02B7, 0x7B47F409, 0xBA1D3330, 0x83D2F293, 0xBFA4784B, 0xCBED606E]

#: Random123 tests/kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words), output.
PHILOX4X32_10_KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]  # fmt: skip


def test_pcg32_demo_known_answers():
    assert reference_words(FAMILIES["pcg32"], 42, 6) == PCG32_DEMO_42_54


def test_pcg32_demo_known_answers_from_the_c_code(reference_c):
    assert reference_c.words("pcg32", [42], 6)[0].tolist() == PCG32_DEMO_42_54


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX4X32_10_KAT)
def test_philox4x32_10_known_answers(counter, key, expected):
    assert philox4x32_block(counter, key) == expected


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX4X32_10_KAT)
def test_philox4x32_10_known_answers_from_the_c_code(reference_c, counter, key, expected):
    assert reference_c.philox_block(counter, key) == list(expected)


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX4X32_10_KAT)
def test_philox_stream_reads_the_known_answer_blocks(counter, key, expected):
    # The stream state (key0, key1, counter, index) reads block `counter` word by word.
    family = FAMILIES["philox4x32"]
    value = counter[0] | counter[1] << 32 | counter[2] << 64 | counter[3] << 96
    assert tuple(islice(family.words((key[0], key[1], value, 0)), 4)) == expected
    if key == (0, 0) and value == 0:
        assert tuple(reference_words(family, 0, 4)) == expected


# -- numpy's SFC64 -------------------------------------------------------------------------------


def _numpy_sfc64_raw(state: tuple[int, int, int, int], count: int) -> list[int]:
    bit_generator = np.random.SFC64()
    bit_generator.state = {
        "bit_generator": "SFC64",
        "state": {"state": np.array(state, dtype=np.uint64)},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return bit_generator.random_raw(count).tolist()


def test_sfc64_step_matches_numpy():
    family = FAMILIES["sfc64"]
    states = [family.seed(seed) for seed in SEEDS_64[:8]]
    states += [tuple(_rng.getrandbits(64) for _ in range(4)) for _ in range(6)]
    states += [(0, 0, 0, 0), (MASK64, MASK64, MASK64, MASK64)]
    for state in states:
        words = []
        walked = state
        for _ in range(WORDS):
            walked, word = family.next(walked)
            words.append(word)
        assert words == _numpy_sfc64_raw(state, WORDS), state


# -- inverse steps -------------------------------------------------------------------------------

_u32 = st.integers(0, MASK32)
_u64 = st.integers(0, MASK64)
STATES = {
    "xorshift32": _u32,
    "xorshift64": _u64,
    "xorshift128": st.tuples(_u32, _u32, _u32, _u32),
    "xorshift128plus": st.tuples(_u64, _u64),
    "splitmix64": _u64,
    "pcg32": _u64,
    "xoshiro256pp": st.tuples(_u64, _u64, _u64, _u64),
    "xoshiro256ss": st.tuples(_u64, _u64, _u64, _u64),
    "sfc64": st.tuples(_u64, _u64, _u64, _u64),
    "philox4x32": st.tuples(_u32, _u32, st.integers(0, (1 << 128) - 1), st.integers(0, 3)),
}

EDGE_STATES = {
    "xorshift32": [0, 1, MASK32],
    "xorshift64": [0, 1, MASK64],
    "xorshift128": [(0, 0, 0, 0), (MASK32,) * 4],
    "xorshift128plus": [(0, 0), (MASK64, MASK64), (1, 0)],
    "splitmix64": [0, MASK64],
    "pcg32": [0, MASK64],
    "xoshiro256pp": [(0,) * 4, (MASK64,) * 4],
    "xoshiro256ss": [(0,) * 4, (MASK64,) * 4],
    "sfc64": [(0,) * 4, (MASK64,) * 4],
    "philox4x32": [(0, 0, 0, 0), (MASK32, MASK32, (1 << 128) - 1, 3), (1, 2, 1 << 64, 0)],
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_prev_inverts_next(name, data):
    family = FAMILIES[name]
    state = data.draw(STATES[name], label="state")
    assert family.prev(family.next(state)[0]) == state
    assert family.next(family.prev(state))[0] == state


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_prev_inverts_next_on_edge_states(name):
    family = FAMILIES[name]
    for state in EDGE_STATES[name]:
        assert family.prev(family.next(state)[0]) == state
        assert family.next(family.prev(state))[0] == state


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_backward_walk_retraces_the_stream(name):
    family = FAMILIES[name]
    start = family.seed(seeds_for(family)[-1])
    states = [start]
    for _ in range(64):
        states.append(family.next(states[-1])[0])
    state = states[-1]
    for expected in reversed(states[:-1]):
        state = family.prev(state)
        assert state == expected
