"""The CUDA C families (gpu_kernels/cuda/families/*.cuh) agree with the Python families.

The headers are compiled for the host (g++ -DMIMICRY_HOST, through host_shim.h) into a small
library driven with ctypes: every family's words after seeding (and, for the state-search
families, after set_state) must be the reference twin's, its state array the numba twin's, and
its state must stay inside ``NAME_STATE_WORDS``. A second check compiles the same headers to PTX
for sm_80 and sm_90 with nvcc (the ``test`` extra installs it; no GPU needed).
"""

from __future__ import annotations

import ctypes
import importlib.util
import random
import subprocess
from itertools import islice
from pathlib import Path

import numba as nb
import numpy as np
import pytest

from gpu_kernels.registry import FAMILIES

CUDA_DIR = Path(__file__).resolve().parent.parent / "gpu_kernels" / "cuda"
WORDS = 700  # past MT19937's first twist (624) and V8's first cache refill (64)
MASK64 = (1 << 64) - 1
# What the driver fills a state array with before seeding: two fills must give the same words
# (seed defines every word a family reads) and leave the words past NAME_STATE_WORDS alone.
FILLS = (0, 0x5A5A5A5A5A5A5A5A)
_rng = random.Random(14)

DRIVER = r"""
#include "families.cuh"

enum {
#define MIMICRY_INDEX(name, words, has_set_state) INDEX_##name,
    MIMICRY_FAMILIES(MIMICRY_INDEX)
    FAMILY_COUNT
};

#define MIMICRY_NAME(name, words, has_set_state) #name,
static const char *const names[] = {MIMICRY_FAMILIES(MIMICRY_NAME)};
#define MIMICRY_LISTED(name, words, has_set_state) words,
static const int listed_words[] = {MIMICRY_FAMILIES(MIMICRY_LISTED)};
#define MIMICRY_OWN(name, words, has_set_state) name##_STATE_WORDS,
static const int own_words[] = {MIMICRY_FAMILIES(MIMICRY_OWN)};
#define MIMICRY_HAS_SET(name, words, has_set_state) has_set_state,
static const int has_set[] = {MIMICRY_FAMILIES(MIMICRY_HAS_SET)};

#define GUARD (MIMICRY_MAX_STATE_WORDS + 8)

extern "C" int family_count(void) { return FAMILY_COUNT; }
extern "C" const char *family_name(int f) { return names[f]; }
extern "C" int family_listed_words(int f) { return listed_words[f]; }
extern "C" int family_state_words(int f) { return own_words[f]; }
extern "C" int family_has_set_state(int f) { return has_set[f]; }

// Start the family f: seed it (set_state == 0) or set its state (set_state == 1) from value,
// in a state array filled with fill. 0, or -1 for a family without set_state.
static int start(int f, int set_state, u64 value, u64 *state)
{
    switch (f) {
#define MIMICRY_SEED_CASE(name, words, has_set_state)                                           \
    case INDEX_##name:                                                                          \
        if (set_state)                                                                          \
            return SET_STATE_##has_set_state(name);                                             \
        name##_seed(value, state);                                                              \
        return 0;
#define SET_STATE_0(name) -1
#define SET_STATE_1(name) (name##_set_state(value, state), 0)
        MIMICRY_FAMILIES(MIMICRY_SEED_CASE)
    }
    return -1;
}

static u64 step(int f, u64 *state)
{
    switch (f) {
#define MIMICRY_NEXT_CASE(name, words, has_set_state)                                           \
    case INDEX_##name:                                                                          \
        return name##_next(state);
        MIMICRY_FAMILIES(MIMICRY_NEXT_CASE)
    }
    return 0;
}

// n words of family f from its start at value into out, and the state after them into
// state_out (own_words[f] words). 0; -1: no such start; -2: a word past the state was written.
extern "C" int family_words(int f, int set_state, u64 value, u64 fill, u64 *out, int n,
                            u64 *state_out)
{
    u64 state[GUARD];
    for (int i = 0; i < GUARD; i++)
        state[i] = fill;
    if (start(f, set_state, value, state) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        out[i] = step(f, state);
    for (int i = own_words[f]; i < GUARD; i++)
        if (state[i] != fill)
            return -2;
    for (int i = 0; i < own_words[f]; i++)
        state_out[i] = state[i];
    return 0;
}
"""

KERNEL = r"""
#include "families.cuh"

// One seed (or set_state) and one word of every family, so every device function is compiled.
extern "C" __global__ void every_family(const u64 *seeds, u64 *out)
{
    unsigned int t = blockIdx.x * blockDim.x + threadIdx.x;
    u64 acc = 0;
#define MIMICRY_SET_0(name) name##_seed(seeds[t], state)
#define MIMICRY_SET_1(name) name##_set_state(seeds[t], state)
#define MIMICRY_CALL(name, words, has_set_state)                                                \
    {                                                                                           \
        u64 state[name##_STATE_WORDS];                                                          \
        name##_seed(seeds[t], state);                                                           \
        acc ^= name##_next(state);                                                              \
        MIMICRY_SET_##has_set_state(name);                                                      \
        acc += name##_next(state);                                                              \
    }
    MIMICRY_FAMILIES(MIMICRY_CALL)
    out[t] = acc;
}
"""


def _compile(tmp: Path, source: str) -> ctypes.CDLL:
    src = tmp / "families_driver.cpp"
    lib = tmp / "families_driver.so"
    src.write_text(source)
    command = [
        "g++",
        "-std=c++17",
        "-O1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-DMIMICRY_HOST",
        "-shared",
        "-fPIC",
        f"-I{CUDA_DIR}",
        str(src),
        "-o",
        str(lib),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"g++ failed:\n{result.stderr}"
    return ctypes.CDLL(str(lib))


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    lib = _compile(tmp_path_factory.mktemp("cuda_families"), DRIVER)
    lib.family_name.restype = ctypes.c_char_p
    lib.family_words.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_uint64,
        ctypes.c_uint64,
        np.ctypeslib.ndpointer(np.uint64, flags="C_CONTIGUOUS"),
        ctypes.c_int,
        np.ctypeslib.ndpointer(np.uint64, flags="C_CONTIGUOUS"),
    ]
    return lib


def _names(driver) -> list[str]:
    return [driver.family_name(f).decode() for f in range(driver.family_count())]


def _cuda_run(
    driver, name: str, value: int, *, set_state: bool = False, count: int = WORDS, fill: int = 0
):
    """The words and the final state of family ``name`` from ``value`` (state array filled with
    ``fill`` first); the words must be the same for every fill."""
    f = _names(driver).index(name)
    runs = []
    for each in (fill, *(other for other in FILLS if other != fill)):
        out = np.zeros(count, dtype=np.uint64)
        state = np.zeros(driver.family_state_words(f), dtype=np.uint64)
        rc = driver.family_words(f, int(set_state), value, each, out, count, state)
        assert rc != -2, f"{name} wrote past its {driver.family_state_words(f)} state words"
        assert rc == 0, f"{name} has no {'set_state' if set_state else 'seed'}"
        runs.append((out.tolist(), state.tolist()))
    assert all(words == runs[0][0] for words, _ in runs), (
        f"{name}'s words depend on state words it never set"
    )
    return runs[0]


def _seeds(family) -> list[int]:
    top = 1 << family.seed_bits
    return [0, 1, top - 1, top // 2 + 1, *(_rng.randrange(top) for _ in range(4))]


def _states(family) -> list[int]:
    lo, hi = family.candidate_space("state")
    return [lo, lo + 1, hi, *(_rng.randint(lo, hi) for _ in range(4))]


@nb.njit
def _numba_run(start_fn, next_fn, value, state_words, count, fill):
    state = np.full(state_words, fill, dtype=np.uint64)
    start_fn(value, state)
    out = np.empty(count, dtype=np.uint64)
    for i in range(count):
        out[i] = next_fn(state)
    return out, state


def test_the_list_names_every_family_once_in_registry_order(driver):
    names = _names(driver)
    assert len(names) == len(set(names))
    assert names == list(FAMILIES)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_state_words_and_set_state_match_the_numba_twin(driver, name):
    family = FAMILIES[name]
    f = _names(driver).index(name)
    assert driver.family_state_words(f) == family.numba.state_words
    assert driver.family_listed_words(f) == family.numba.state_words
    assert bool(driver.family_has_set_state(f)) == (family.numba.set_state is not None)
    assert bool(driver.family_has_set_state(f)) == family.state_search


@pytest.mark.parametrize("name", list(FAMILIES))
def test_seeded_words_match_the_reference(driver, name):
    family = FAMILIES[name]
    for seed in _seeds(family):
        words, _ = _cuda_run(driver, name, seed)
        expected = list(islice(family.words(family.seed(seed)), WORDS))
        assert words == expected, f"{name} seed {seed}"


@pytest.mark.parametrize("name", [n for n, f in FAMILIES.items() if f.state_search])
def test_set_state_words_match_the_reference(driver, name):
    family = FAMILIES[name]
    for value in _states(family):
        words, _ = _cuda_run(driver, name, value, set_state=True)
        expected = list(islice(family.words(family.state_from_int(value)), WORDS))
        assert words == expected, f"{name} state {value}"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_state_array_is_the_numba_twins(driver, name):
    """Element i of the numba state array is state[i], right after seeding and after steps
    (both arrays filled alike first: V8's cache words are not set until the first word)."""
    family = FAMILIES[name]
    kernels = family.numba
    seed = _rng.randrange(1 << family.seed_bits)
    for count in (0, 1, WORDS):
        for fill in FILLS:
            words, state = _cuda_run(driver, name, seed, count=count, fill=fill)
            nb_words, nb_state = _numba_run(
                kernels.seed,
                kernels.next,
                np.uint64(seed),
                kernels.state_words,
                count,
                np.uint64(fill),
            )
            where = f"{name} seed {seed}, fill {fill:#x}, after {count} words"
            assert words == nb_words.tolist(), where
            assert state == nb_state.tolist(), where


# -- nvcc: the same headers compile for the GPU ---------------------------------------------------


def _nvcc() -> Path:
    """nvcc from the ``nvidia-cuda-nvcc`` wheel (CUDA 13: site-packages/nvidia/cu13/bin)."""
    spec = importlib.util.find_spec("nvidia")
    roots = list(spec.submodule_search_locations) if spec is not None else []
    for root in roots:
        for candidate in ("cu13/bin/nvcc", "cuda_nvcc/bin/nvcc"):
            path = Path(root) / candidate
            if path.is_file():
                return path
    pytest.fail(
        "nvcc not found under site-packages/nvidia (looked in "
        f"{roots or 'no nvidia package'}): install the test extra, pip install -e '.[test]' "
        "(it brings nvidia-cuda-nvcc)"
    )


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_families_compile_to_ptx(tmp_path, arch):
    nvcc = _nvcc()
    src = tmp_path / "every_family.cu"
    ptx = tmp_path / f"every_family_{arch}.ptx"
    src.write_text(KERNEL)
    command = [
        str(nvcc),
        "--ptx",
        f"-arch={arch}",
        "-Werror",
        "all-warnings",
        f"-I{CUDA_DIR}",
        str(src),
        "-o",
        str(ptx),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"nvcc failed:\n{result.stdout}\n{result.stderr}"
    text = ptx.read_text()
    assert f".target {arch}" in text
    assert ".entry every_family(" in text
