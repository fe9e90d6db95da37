"""The cpu backend's vectorised first-draw prefilters against the reference families.

A prefilter must keep exactly the candidates whose first window draw ``d_0`` equals some call
``o`` in the offset range (projection ``mod``, so call ``o`` is word ``o``): the set it returns is
compared with the reference generator's words, candidate by candidate.
"""

from __future__ import annotations

import platform

import numba as nb
import numpy as np
import pytest

from gpu_kernels.backends.cpu_prefilters import _equals_mod, prefilter_for
from gpu_kernels.backends.prefilter_tests import Divisor
from gpu_kernels.job import Mode, SieveJob
from gpu_kernels.projections import PROJECTIONS
from gpu_kernels.registry import get_family, get_projection
from tests.history import make_history

PROJECTION_NAMES = set(PROJECTIONS)


@nb.njit
def _equals_mod_all(words, draws, divisor, out):
    for i in range(words.shape[0]):
        out[i] = _equals_mod(words[i], draws[i], divisor)


@pytest.mark.parametrize(
    "modulus", [2, 3, 7, 10, 1000, 1024, 4096, 999_983, 2**31 - 1, 2**31, 3 * 2**29]
)
def test_divisibility_test_equals_the_remainder(modulus):
    rng = np.random.default_rng(modulus)
    words = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    words[:6] = [0, 1, modulus - 1, modulus, 2**32 - 1, (2**32 - 1) - (2**32 - 1) % modulus]
    # Half the draws are the true remainder, half random (mostly wrong).
    truth = (words.astype(np.uint64) % modulus).astype(np.uint32)
    draws = np.where(
        rng.random(words.size) < 0.5,
        truth,
        rng.integers(0, modulus, words.size, dtype=np.uint64).astype(np.uint32),
    )
    draws[:6] = truth[:6]
    # Words below the draw, where ``word - draw`` wraps to a multiple of M.
    words[6], draws[6] = 0, 2**32 % modulus
    words[7], draws[7] = 3, (2**32 + 3) % modulus
    truth = (words.astype(np.uint64) % modulus).astype(np.uint32)
    out = np.empty(words.size, np.bool_)
    _equals_mod_all(words, draws, Divisor.of(modulus), out)
    np.testing.assert_array_equal(out, truth == draws)


# (family, mode, first candidate, offsets, modulus): the candidate ranges start away from 0 and
# python_random's includes its 2^32 - 1 edge.
CASES = [
    ("mt19937", Mode.SEED, 123_456, (0, 0), 1000),
    ("mt19937", Mode.SEED, 2**32 - 3000, (0, 5), 1000),
    ("mt19937", Mode.SEED, 77, (3, 9), 64),
    ("python_random", Mode.SEED, 2**32 - 2000, (0, 2), 1000),
    ("python_random", Mode.SEED, 5_000, (1, 1), 37),
    ("glibc_rand", Mode.SEED, 0, (0, 3), 1000),
    ("glibc_rand", Mode.SEED, 10_000_000, (2, 2), 2**31),
    ("java_random", Mode.SEED, 1_700_000_000_000, (0, 4), 1000),
    ("java_random", Mode.SEED, 42, (0, 0), 999_983),
    ("xorshift32", Mode.STATE, 1, (0, 0), 1000),
    ("xorshift32", Mode.STATE, 2**32 - 3000, (0, 0), 10),
]


@pytest.mark.parametrize(("family_name", "mode", "lo", "offsets", "modulus"), CASES)
def test_prefilter_keeps_exactly_the_first_draw_matches(family_name, mode, lo, offsets, modulus):
    family = get_family(family_name)
    count = 2000
    # Choose d_0 as the first candidate's own word at the last offset, so the set is never empty.
    state = family.state_from_int(lo) if mode is Mode.STATE else family.seed(lo)
    words = family.words(state)
    draw = [next(words) for _ in range(offsets[1] + 1)][-1] % modulus
    job = SieveJob(
        family=family_name,
        window=(draw, 0, 0),
        modulus=modulus,
        mode=mode,
        candidate_range=(lo, min(lo + count - 1, family.candidate_space("state")[1]))
        if mode is Mode.STATE
        else (lo, lo + count - 1),
        offsets=offsets if mode is Mode.SEED else (0, 0),
    )
    prefilter = prefilter_for(family_name, job, compiled=False)
    assert prefilter is not None
    first, last = job.candidate_range
    kept = [int(c) for c in prefilter(first, last - first + 1)]
    expected = []
    for candidate in range(first, last + 1):
        state = family.state_from_int(candidate) if mode is Mode.STATE else family.seed(candidate)
        words = family.words(state)
        calls = [next(words) % modulus for _ in range(job.offsets[1] + 1)]
        if draw in calls[job.offsets[0] :]:
            expected.append(candidate)
    assert lo in kept
    assert kept == expected


# PHP's draws on PHP's generators (family, projection, modulus, offsets). 2**30 + 1 rejects
# about every other word: the prefilter keeps every lane that met a rejection.
PHP_CASES = [
    ("mt19937", "php_mt_rand_range", 62, (0, 0)),
    ("mt19937", "php_mt_rand_range", 62, (2, 6)),
    ("mt19937", "php_mt_rand_range", 1024, (0, 3)),
    ("mt19937", "php_mt_rand_range", 2**30 + 1, (0, 2)),
    ("mt19937", "php_mt_rand", 2**31, (0, 4)),
    ("php5_mt", "php_mt_rand", 2**31, (1, 3)),
    ("php5_mt", "php5_mt_rand_range", 57, (0, 5)),
    ("php5_mt", "php5_mt_rand_range", 2**31, (0, 0)),
    ("php5_mt", "mod", 1000, (0, 2)),
]


@pytest.mark.parametrize(("family_name", "projection_name", "modulus", "offsets"), PHP_CASES)
def test_php_prefilter_keeps_every_first_draw_match(family_name, projection_name, modulus, offsets):
    family, projection = get_family(family_name), get_projection(projection_name)
    lo, count = 2**31 - 700, 1500
    words = family.words(family.seed(lo))
    calls = [projection.draw(words, modulus, 32) for _ in range(offsets[1] + 1)]
    job = SieveJob(
        family=family_name,
        projection=projection_name,
        window=(calls[-1], 0, 0),
        modulus=modulus,
        candidate_range=(lo, lo + count - 1),
        offsets=offsets,
    )
    prefilter = prefilter_for(family_name, job, compiled=False)
    assert prefilter is not None
    kept = {int(c) for c in prefilter(lo, count)}
    expected = set()
    for candidate in range(lo, lo + count):
        words = family.words(family.seed(candidate))
        calls = [projection.draw(words, modulus, 32) for _ in range(offsets[1] + 1)]
        if job.window[0] in calls[offsets[0] :]:
            expected.add(candidate)
    assert lo in expected and expected <= kept
    if not projection.rejects or modulus & (modulus - 1) == 0:
        assert kept == expected
    else:  # kept beyond the matches only for a rejected word, and those are rare below 2**30
        assert len(kept - expected) <= (count if modulus > 2**29 else count // 100)


def test_php5_range_interval_is_the_exact_preimage():
    from gpu_kernels.backends.prefilter_tests import php5_range_interval

    projection = get_projection("php5_mt_rand_range")
    for modulus in (57, 62, 1000, 2**31 - 1, 3):
        for draw in (0, 1, modulus // 2, modulus - 1):
            low, high = php5_range_interval(modulus, draw)
            for n in (low, high - 1):
                assert projection.value((n << 1,), modulus, 32) == draw
            if low > 0:
                assert projection.value(((low - 1) << 1,), modulus, 32) == draw - 1
            if high < 2**31:
                assert projection.value((high << 1,), modulus, 32) == draw + 1


def test_prefilters_stand_aside_where_they_would_not_be_exact():
    window = (1, 2, 3)
    assert (
        prefilter_for(
            "mt19937",
            SieveJob(family="mt19937", window=window, candidate_range=(0, 9), min_matches=2),
        )
        is None
    )
    assert (
        prefilter_for(
            "mt19937",
            SieveJob(
                family="mt19937",
                window=window,
                candidate_range=(0, 9),
                projection="java_nextint",
            ),
        )
        is None
    )
    # Past word 225 MT19937's first twist needs more than init_genrand's words.
    assert (
        prefilter_for(
            "mt19937",
            SieveJob(family="mt19937", window=window, candidate_range=(0, 9), offsets=(0, 300)),
        )
        is None
    )


# The compiled MT19937 seed prefilter (gpu_kernels/backends/native): it tests the first `depth`
# window draws at calls p, p + stride, ... (family, projection, modulus, offsets, skip, window
# size). M = 2 and M = 3 keep many chance survivors, so the depth logic is exercised on lanes
# that pass some draws and fail others.
COMPILED_CASES = [
    ("mt19937", "mod", 1000, (0, 0), 0, 8),
    ("mt19937", "mod", 2, (0, 5), 0, 6),
    ("mt19937", "mod", 3, (1, 4), 2, 5),
    ("mt19937", "raw", 2**32, (0, 3), 0, 3),
    ("mt19937", "php_mt_rand_range", 62, (0, 0), 0, 10),
    ("mt19937", "php_mt_rand_range", 2**30 + 1, (0, 2), 1, 4),
    ("mt19937", "php_mt_rand_range", 4, (2, 6), 0, 4),
    ("mt19937", "php_mt_rand", 2**31, (0, 2), 0, 3),
    ("php5_mt", "php_mt_rand", 2**31, (1, 3), 0, 3),
    ("php5_mt", "php5_mt_rand_range", 3, (0, 5), 0, 6),
    ("php5_mt", "php5_mt_rand_range", 62, (0, 0), 3, 9),
    ("php5_mt", "mod", 2, (0, 2), 1, 12),
    ("mt19937", "mod", 2, (200, 223), 0, 3),  # the depth the room before the first twist allows
]


@pytest.mark.parametrize(
    ("family_name", "projection_name", "modulus", "offsets", "skip", "size"), COMPILED_CASES
)
def test_compiled_mt_seed_prefilter_keeps_exactly_the_prefix_matches(
    family_name, projection_name, modulus, offsets, skip, size
):
    from gpu_kernels.backends import native

    if projection_name not in PROJECTION_NAMES:
        pytest.fail(f"projection {projection_name} is not registered")
    assert native.native_available() is None, native.native_available()
    family, projection = get_family(family_name), get_projection(projection_name)
    lo, count = 2**32 - 1200, 1200  # the top of the seed space: the last block is partial
    truth = lo + 17
    stride = skip + 1
    last_call = offsets[1] + (size - 1) * stride

    def calls_and_words(seed):
        words = family.words(family.seed(seed))
        seen = []

        def counted():
            for word in words:
                seen.append(word)
                yield word

        stream = counted()
        calls = [projection.draw(stream, modulus, 32) for _ in range(last_call + 1)]
        return calls, seen

    truth_calls, _ = calls_and_words(truth)
    window = tuple(truth_calls[offsets[1] + j * stride] for j in range(size))
    job = mt_job(family_name, projection_name, modulus, window, (lo, count), offsets, skip)
    prefilter = prefilter_for(family_name, job)
    assert prefilter is not None and prefilter.depth > 1
    depth = prefilter.depth
    kept = {int(c) for c in prefilter(lo, count)}
    limit = projection.numba_param(modulus, 32) if projection.rejects else None
    last_word = offsets[1] + (depth - 1) * stride
    expected, rejected = set(), set()
    for candidate in range(lo, lo + count):
        calls, words = calls_and_words(candidate)
        if any(
            all(calls[p + j * stride] == window[j] for j in range(depth))
            for p in range(offsets[0], offsets[1] + 1)
        ):
            expected.add(candidate)
        if limit is not None and any(word > limit for word in words[: last_word + 1]):
            rejected.add(candidate)
    assert truth in expected and expected <= kept
    assert kept - expected <= rejected
    if modulus > 4 and not rejected:
        assert len(kept) < count // 50  # the prefix really filters


def test_compiled_prefilter_stands_aside_when_switched_off(monkeypatch):
    from mimicry.settings import get_settings, sieve_backend

    job = SieveJob(family="mt19937", window=(1, 2, 3), candidate_range=(0, 9))
    assert prefilter_for("mt19937", job).depth == 3
    assert not hasattr(prefilter_for("mt19937", job, compiled=False), "depth")
    # The setting reaches the backend a process builds from its settings, and the backend
    # finds the truth with numba's prefilter.
    monkeypatch.setenv("MIMICRY_NATIVE_KERNELS", "0")
    get_settings.cache_clear()
    backend = sieve_backend("cpu")
    assert backend.native_kernels is False
    truth = 1234
    window = tuple(make_history("mt19937", "mod", 10, truth, range(8)))
    found = backend.sieve_chunk(
        SieveJob(family="mt19937", modulus=10, window=window, candidate_range=(0, 4096)), 0, 4096
    )
    assert truth in {match.candidate for match in found.matches}


def mt_job(
    family_name: str,
    projection_name: str,
    modulus: int,
    window: tuple[int, ...],
    seeds: tuple[int, int],
    offsets: tuple[int, int],
    skip: int = 0,
) -> SieveJob:
    """A seed job over ``count`` seeds from ``lo`` (``seeds``), with a constant skip."""
    lo, count = seeds
    return SieveJob(
        family=family_name,
        projection=projection_name,
        window=window,
        modulus=modulus,
        candidate_range=(lo, lo + count - 1),
        offsets=offsets,
        skips=(skip, skip),
    )


def both_php_flavours(*job_fields) -> list[SieveJob]:
    """:func:`mt_job` for ``mt19937`` (PHP 7.1+) and ``php5_mt`` (PHP 5.2.1-7.0)."""
    return [mt_job(family_name, *job_fields) for family_name in ("mt19937", "php5_mt")]


@pytest.mark.parametrize(
    ("projection_name", "modulus", "offsets", "skip"),
    [
        ("mod", 10, (0, 3), 0),
        ("php_mt_rand_range", 7, (0, 1), 1),
        ("php_mt_rand", 2**31, (0, 0), 0),
        ("php5_mt_rand_range", 5, (2, 4), 0),
    ],
)
def test_one_pass_for_both_php_flavours_keeps_what_each_keeps_alone(
    projection_name, modulus, offsets, skip
):
    """The shared pass over ``mt19937`` and ``php5_mt`` keeps, for each, exactly the seeds its
    own compiled pass keeps, on windows of either flavour (a small M keeps many)."""
    from gpu_kernels.backends.cpu_prefilters import shared_prefilter

    lo, count = 2**32 - 40_000, 40_000  # across the top of the seed space
    for truth_family in ("mt19937", "php5_mt"):
        size = 2 if projection_name == "php_mt_rand" else 6
        positions = [offsets[1] + j * (skip + 1) for j in range(size)]
        window = tuple(make_history(truth_family, projection_name, modulus, lo + 123, positions))
        jobs = both_php_flavours(projection_name, modulus, window, (lo, count), offsets, skip)
        shared = shared_prefilter(jobs)
        assert shared is not None
        together = shared(lo, count)
        for job, kept in zip(jobs, together, strict=True):
            alone = prefilter_for(job.family, job)(lo, count)
            np.testing.assert_array_equal(kept, alone)
        assert lo + 123 in together[("mt19937", "php5_mt").index(truth_family)]


def test_no_shared_pass_for_jobs_that_differ_beyond_their_family():
    from gpu_kernels.backends.cpu_prefilters import shared_prefilter

    job = SieveJob(family="mt19937", window=(1, 2, 3), candidate_range=(0, 99))
    php5 = job.model_copy(update={"family": "php5_mt"})
    assert shared_prefilter([job, php5]) is not None
    assert shared_prefilter([job]) is None
    assert shared_prefilter([job, job]) is None
    assert shared_prefilter([job, php5.model_copy(update={"offsets": (0, 1)})]) is None
    xorshift = SieveJob(family="xorshift32", window=(1, 2, 3), candidate_range=(0, 99))
    assert shared_prefilter([job, xorshift]) is None


def test_the_compiled_prefilter_says_whether_it_kept_any_seed():
    """``kept`` spares the caller a scan of a slice's 2^24 bytes where nothing was kept: it must
    be set exactly where a byte is (the truth's block, and only there)."""
    from gpu_kernels.backends import native
    from gpu_kernels.backends.prefilter_tests import mt_seed_test

    truth = 3_000_017
    window = tuple(make_history("mt19937", "php_mt_rand", 2**31, truth, [0]))
    job = SieveJob(
        family="mt19937",
        projection="php_mt_rand",
        window=window,
        modulus=2**31,
        candidate_range=(0, 2**32 - 1),
    )
    test = mt_seed_test("mt19937", job)
    for lo, count, holds_truth in ((truth - 5000, 10_000, True), (truth + 1, 1 << 20, False)):
        run = native.MtSeedJob.from_buffer_copy(test)
        run.lo, run.count, run.kept = lo, count, 7  # a stale value must be overwritten
        keep = native.mt_seed_prefilter(run)
        assert bool(run.kept) == bool(keep.any()) == holds_truth
        if holds_truth:
            assert keep[truth - lo]


@pytest.mark.parametrize(
    ("projection_name", "modulus", "offsets", "in_python"),
    [
        ("php_mt_rand", 2**31, (0, 0), True),  # php_mt_seed's case: a seed or two kept
        ("mod", 1000, (0, 3), True),
        ("php5_mt_rand_range", 5, (2, 4), False),  # a small M keeps thousands: the kernel
    ],
)
def test_a_few_kept_seeds_are_checked_in_python_as_the_kernel_checks_them(
    projection_name, modulus, offsets, in_python
):
    """Where the prefilter keeps a handful of seeds, plain Python checks them instead of numba's
    kernel (whose loading costs a process half a second): the same matches, and the kernel is
    not asked for."""
    from gpu_kernels.backends.cpu import CpuBackend
    from gpu_kernels.backends.cpu_specialise import specialised_sieve

    lo, count = 2**32 - 40_000, 40_000
    positions = [offsets[1] + j for j in range(3)]
    window = tuple(make_history("php5_mt", projection_name, modulus, lo + 123, positions))
    jobs = both_php_flavours(projection_name, modulus, window, (lo, count), offsets)
    kernel = CpuBackend(few_hypotheses=0).sieve_chunks(jobs, lo, lo + count)
    asked = specialised_sieve.cache_info()
    default = CpuBackend().sieve_chunks(jobs, lo, lo + count)
    kernel_asked = specialised_sieve.cache_info() != asked
    assert kernel_asked is not in_python
    assert [chunk.matches for chunk in default] == [chunk.matches for chunk in kernel]
    assert lo + 123 in [match.candidate for match in default[1].matches]
    assert [chunk.overflow for chunk in default] == [chunk.overflow for chunk in kernel]


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 vector flags")
@pytest.mark.parametrize(
    "flags",
    [
        ("-mno-avx512f",),  # AVX2: 8 lanes, twelve chains
        ("-mno-avx512f", "-mno-avx2", "-mno-avx"),  # SSE2: 4 lanes, twelve chains
        ("-DVECTORS=8",),  # php_mt_seed's eight chains at the host's width
    ],
)
def test_every_vector_width_and_chain_count_keeps_what_the_host_build_keeps(flags, tmp_path):
    """The kernel's block is lanes × chains seeds (96 on AVX2): built for the narrower vectors of
    other machines, it keeps byte for byte what this host's build keeps, on a job that keeps
    many (a small M, a skip, four offsets) over a count that ends inside a block."""
    import ctypes

    from gpu_kernels.backends import native
    from gpu_kernels.backends.prefilter_tests import mt_seed_test

    lo, count, truth = 2**32 - 40_001, 40_001, 2**32 - 40_001 + 777
    window = tuple(make_history("mt19937", "mod", 10, truth, [3 + 2 * j for j in range(6)]))
    job = mt_job("mt19937", "mod", 10, window, (lo, count), (0, 3), 1)
    test = mt_seed_test("mt19937", job)
    test.twists = 3  # both flavours' bits
    built = native.build_library(native.SOURCE, [native.SOURCE], (*native.FLAGS, *flags), tmp_path)
    library = ctypes.CDLL(str(built))
    library.mt_seed_prefilter.argtypes = [ctypes.POINTER(native.MtSeedJob), ctypes.c_void_p]
    for threads in (1, 2):
        run = native.MtSeedJob.from_buffer_copy(test)
        run.lo, run.count, run.threads = lo, count, threads
        keep = np.full(count + 64, 0xEE, np.uint8)  # bytes past the count must stay untouched
        assert library.mt_seed_prefilter(ctypes.byref(run), keep.ctypes.data) == 0
        host = native.MtSeedJob.from_buffer_copy(test)
        host.lo, host.count = lo, count
        expected = native.mt_seed_prefilter(host).copy()
        np.testing.assert_array_equal(keep[:count], expected)
        assert (keep[count:] == 0xEE).all()
        assert keep[truth - lo] & 1 and 50 < np.count_nonzero(keep) < count // 10
