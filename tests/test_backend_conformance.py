"""Backend conformance: each backend on each family and projection (docs/design.md §10).

One suite, parametrised over ``BACKEND_NAMES`` × every (family, projection, mode) the registry
allows: a projection applies to a family when ``projection.check(family.word_bits, M)`` finds no
problem, and state mode is added for the families with ``state_search``. Nothing is listed by
hand, so a new family, projection or backend is checked as soon as it is registered.

For each case every job shape of :data:`KINDS` is built from a known truth (a seed, or the state
at the window's first draw) over a small candidate range holding it: full windows, windows with
misses, variable skip, far offsets with frequent rejection, dense chance survivors, a
power-of-two modulus and a one-draw window. Each backend must

1. find the truth at ``job.first_call(offset, skip)`` with every window draw matched;
2. return exactly the reference backend's chunk (the reference itself is checked against a
   brute force over :class:`tests.history.Stream`, which shares no code with
   :mod:`gpu_kernels.calls`);
3. give the same matches, in the same order, when the chunk is cut into pieces.

A backend that cannot run here is skipped with its own reason (the only skip); the cpu backend
must refuse, with ValueError, a family that has no numba kernels.

CI runs the :data:`REPRESENTATIVE` matrix, listed by hand below: every family in each of its
modes, every projection on every word width it takes, and every cpu prefilter, each with every
kind of job on every backend (the cpu backend compiles one kernel per (family, projection, mode),
some 6 s each on two cores, and the whole cross product is 159 of them). The rest of the cross
product carries the ``full_matrix`` marker, which the default run leaves out:
``python -m pytest -m full_matrix`` runs it (``-m 'not slow'`` runs both).
:func:`test_the_representative_matrix_covers_the_registry` fails when a new family, projection,
word width or prefilter is not in the representative matrix, so nothing new goes unchecked.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, replace
from functools import cache

import pytest

from gpu_kernels.backends import (
    BACKEND_NAMES,
    BackendUnavailable,
    SieveBackend,
    backend_type,
    get_backend,
)
from gpu_kernels.backends.cpu_prefilters import prefilter_for
from gpu_kernels.backends.prefilter_tests import mt_seed_test
from gpu_kernels.families import Lcg32
from gpu_kernels.job import ChunkResult, Mode, SieveJob, WindowMatch
from gpu_kernels.projections import MAX_MODULUS, PROJECTIONS
from gpu_kernels.registry import FAMILIES, get_family
from tests.history import Stream, constant_positions, variable_positions

#: The modulus that decides which projections apply to a family (any allowed one would do:
#: ``check`` turns on the word width).
CHECK_MODULUS = 1000
#: Seeds the generator whose stream gives the truth state in state mode.
STATE_MODE_SEED = 20_250_601


@dataclass(frozen=True)
class Kind:
    """The shape of one job: its window, its hypotheses and where its truth sits."""

    modulus: int
    window: int
    window_start: int
    #: Seed mode only: the offsets searched and the truth's (state mode: (0, 0) and 0).
    offsets: tuple[int, int]
    true_offset: int
    skips: tuple[int, int]
    true_skip: int
    variable_skip: bool = False
    min_matches: int | None = None
    max_misses: int | None = None
    #: Candidates per job (a quarter of it for families with a large state, see
    #: :func:`candidate_count`).
    candidates: int = 1000
    #: Seed mode: the range ends at the top of the seed space ("top") or starts at its bottom.
    place: str = "top"
    #: Chance survivors are expected all over the range (checked when cutting chunks).
    dense: bool = False


KINDS = {
    # Every draw must match: only the truth survives (the cpu prefilter's path for `mod`).
    "exact": Kind(1000, 6, 2, (0, 3), 2, (0, 1), 1),
    # Two misses allowed on a small modulus: dozens of chance survivors with misses.
    "partial": Kind(7, 6, 2, (0, 3), 2, (0, 1), 1, min_matches=4, dense=True),
    # Variable skip: the gaps are searched per draw.
    "variable": Kind(13, 6, 2, (0, 3), 2, (0, 2), 1, variable_skip=True, min_matches=5),
    # Some 250 calls into the stream, and a modulus that makes the rejection projections reject
    # about every other attempt; the window starts the history.
    "far": Kind(2**30 + 1, 6, 0, (240, 243), 241, (0, 1), 1, candidates=60, place="bottom"),
    # Variable skip on three draws where max_misses (1) wins over min_matches (1): most
    # hypotheses survive, several per candidate.
    "dense": Kind(
        7,
        3,
        2,
        (0, 3),
        2,
        (0, 2),
        1,
        variable_skip=True,
        min_matches=1,
        max_misses=1,
        candidates=150,
        dense=True,
    ),
    # A power-of-two modulus: the mask paths of java_nextint and php_mt_rand_range.
    "pow2": Kind(1024, 5, 1, (0, 2), 1, (1, 2), 2, candidates=300),
    # A one-draw window: one hypothesis in seven survives.
    "single": Kind(7, 1, 2, (0, 3), 2, (0, 1), 1, candidates=300, place="bottom", dense=True),
}


@dataclass(frozen=True)
class Case:
    family: str
    projection: str
    mode: Mode

    def __str__(self) -> str:
        return f"{self.family}-{self.projection}-{self.mode.value}"


def case_modulus(projection: str, modulus: int, word_bits: int) -> int:
    """The kind's modulus, or the nearest one the projection takes: its own range where it has
    one (``mt_rand()``'s 2^31, a raw word's 2^word_bits, a Java long's 2^64), the next power of
    two for ``getrandbits(k)``."""
    chosen = PROJECTIONS[projection]
    fixed = chosen.modulus_for(word_bits)
    if fixed is not None:
        return fixed
    if chosen.check(32, modulus) is not None and chosen.check(32, 1024) is None:
        return min(1 << (modulus - 1).bit_length(), MAX_MODULUS)
    return modulus


def registry_cases() -> list[Case]:
    cases = []
    for family in FAMILIES.values():
        modes = [Mode.SEED, Mode.STATE] if family.state_search else [Mode.SEED]
        for projection in PROJECTIONS.values():
            modulus = case_modulus(projection.name, CHECK_MODULUS, family.word_bits)
            if projection.check(family.word_bits, modulus) is None:
                cases.extend(Case(family.name, projection.name, mode) for mode in modes)
    return cases


CASES = registry_cases()

#: The cases CI runs: the whole registry in 35 of its 159 cases, chosen so that
#:
#: * every family runs in each of its modes (its numba and CUDA twins: seed, next, set_state),
#:   with ``mod`` where nothing else needs its place;
#: * every projection runs on every word width it takes: ``mod`` and ``raw`` on 15, 31, 32 and
#:   64-bit words (``raw``'s M is 2^word_bits, 2^64 travelling to the kernels as 0), each 32-bit
#:   projection on a 32-bit family, ``v8_math_random`` on v8, mostly on the family whose program
#:   makes it (so the runtime tests' ``mimicry sieve`` runs load the same kernels);
#: * every cpu prefilter runs in front of the kernel, behind the window's lead: ``mod`` on
#:   mt19937, python_random, glibc_rand, java_random and xorshift32's states, PHP's projections
#:   on mt19937 and php5_mt, ``raw`` on mt19937 (the compiled MT19937 prefilter);
#: * state mode also walks a rejecting projection and one of two words an attempt.
#:
#: Each runs every kind of :data:`KINDS` on every backend. The other 124 cases are marked
#: ``full_matrix`` (``python -m pytest -m full_matrix``).
REPRESENTATIVE = frozenset(
    Case(family, projection, Mode(mode))
    for family, projection, mode in (
        ("mt19937", "mod", "seed"),
        ("mt19937", "php_mt_rand_range", "seed"),
        ("mt19937", "raw", "seed"),  # raw on 32-bit words
        ("python_random", "mod", "seed"),
        ("python_random", "python_randrange", "seed"),
        ("python_random", "python_random_float", "seed"),
        ("php5_mt", "php5_mt_rand_range", "seed"),
        ("php5_mt", "php_mt_rand", "seed"),
        ("glibc_rand", "mod", "seed"),
        ("java_random", "mod", "seed"),
        ("java_random", "java_nextint", "seed"),
        ("java_random", "java_nextlong", "seed"),
        ("java_lcg", "java_nextint32", "seed"),
        ("minstd_rand", "raw", "seed"),  # raw on 31-bit words
        ("minstd_rand", "mod", "state"),
        ("minstd_rand0", "mod", "seed"),
        ("minstd_rand0", "mod", "state"),
        ("lcg32", "mod", "seed"),
        ("lcg32", "mod", "state"),
        ("msvc_rand", "mod", "seed"),
        ("msvc_rand", "raw", "state"),  # raw on 15-bit words
        ("xorshift32", "mod", "seed"),
        ("xorshift32", "mod", "state"),
        ("xorshift32", "java_nextint", "state"),
        ("xorshift32", "python_random_float", "state"),
        ("xorshift64", "mod", "seed"),
        ("xorshift128", "python_float", "seed"),
        ("xorshift128plus", "mod", "seed"),
        ("v8", "v8_math_random", "seed"),
        ("splitmix64", "raw", "seed"),  # raw on 64-bit words
        ("pcg32", "mod", "seed"),
        ("xoshiro256pp", "mod", "seed"),
        ("xoshiro256ss", "mod", "seed"),
        ("sfc64", "mod", "seed"),
        ("philox4x32", "python_getrandbits", "seed"),
    )
)


def candidate_count(family_name: str, kind: Kind) -> int:
    """Seeding a large state (MT19937's 624 words) in plain Python costs the reference backend
    some 0.3 ms a candidate, ten times a small state's: those families get a shorter range."""
    return kind.candidates // 4 if get_family(family_name).state_bits > 1024 else kind.candidates


@dataclass(frozen=True)
class Scenario:
    job: SieveJob
    #: The true seed (seed mode) or the state at the window's first draw (state mode).
    truth: int
    #: Call index of the window's first draw for the truth: ``job.first_call(offset, skip)``.
    first_call: int
    true_skip: int

    @property
    def bounds(self) -> tuple[int, int]:
        """The job's whole candidate range as a half-open chunk ``[lo, hi)``."""
        return self.job.candidate_range[0], self.job.candidate_range[1] + 1


@cache
def scenario(case: Case, kind_name: str) -> Scenario:
    """A history made by the reference generator from a known truth, and the job that holds it.

    Seed mode: the range runs up to the last seed of the space (2**64 - 1 for the 64-bit
    families) or from its first, and the truth lies a quarter of the way in from that end.
    State mode: the truth is the state right before the window's first call, and the range lies
    around it inside the state space.
    """
    kind = KINDS[kind_name]
    family = get_family(case.family)
    kind = replace(kind, modulus=case_modulus(case.projection, kind.modulus, family.word_bits))
    count = candidate_count(case.family, kind)
    true_offset = kind.true_offset if case.mode is Mode.SEED else 0
    positions = constant_positions(
        kind.true_offset, kind.true_skip, kind.window_start + kind.window
    )
    if case.mode is Mode.SEED:
        space_lo, space_hi = family.candidate_space("seed")
        if kind.place == "top":
            truth, candidate_range = space_hi - count // 4, (space_hi - count + 1, space_hi)
        else:
            truth, candidate_range = space_lo + count // 4, (space_lo, space_lo + count - 1)
        stream = Stream.seeded(family.name, case.projection, kind.modulus, truth)
        offsets = kind.offsets
    else:
        stream = Stream.seeded(family.name, case.projection, kind.modulus, STATE_MODE_SEED)
        truth = stream.state_before(positions[kind.window_start])
        assert isinstance(truth, int) and family.state_from_int(truth) == truth
        space_lo, space_hi = family.candidate_space("state")
        lo = max(space_lo, min(truth - count // 2, space_hi - count + 1))
        candidate_range = (lo, lo + count - 1)
        offsets = (0, 0)
    history = stream.at(positions)
    job = SieveJob(
        family=family.name,
        projection=case.projection,
        modulus=kind.modulus,
        window=tuple(history[kind.window_start :]),
        window_start=kind.window_start,
        mode=case.mode,
        candidate_range=candidate_range,
        offsets=offsets,
        skips=kind.skips,
        variable_skip=kind.variable_skip,
        min_matches=kind.min_matches,
        max_misses=kind.max_misses,
    )
    assert candidate_range[0] <= truth <= candidate_range[1]
    first_call = job.first_call(true_offset, kind.true_skip)
    assert first_call == (positions[kind.window_start] if case.mode is Mode.SEED else 0)
    return Scenario(job=job, truth=truth, first_call=first_call, true_skip=kind.true_skip)


# -- backends -----------------------------------------------------------------------------------


@cache
def start(name: str) -> SieveBackend:
    """The backend called ``name``; skipped, with the backend's own reason, if it cannot run.
    The gpu backend runs on ``MIMICRY_GPU_TARGET`` (``device`` on a machine with a GPU), else
    on its host target: the CUDA source compiled by g++, so its kernels meet every case here."""
    try:
        if name == "gpu":
            from gpu_kernels.backends.gpu import GpuBackend

            return GpuBackend(target=os.environ.get("MIMICRY_GPU_TARGET") or "host")
        return get_backend(name)
    except BackendUnavailable as error:
        pytest.skip(f"{name} backend unavailable: {error}")


@cache
def reference_chunk(job: SieveJob, lo: int, hi: int) -> ChunkResult:
    """The reference backend's chunk, computed once per job and range for the whole suite."""
    return get_backend("reference").sieve_chunk(job, lo, hi)


def sieve(name: str, job: SieveJob, lo: int, hi: int) -> ChunkResult:
    if name == "reference":
        return reference_chunk(job, lo, hi)
    return start(name).sieve_chunk(job, lo, hi)


def refuses(name: str, case: Case, job: SieveJob) -> bool:
    """True (after checking the refusal) when ``name`` must refuse this family: the cpu backend
    runs only families with numba kernels."""
    if name != "cpu" or get_family(case.family).numba is not None:
        return False
    lo, hi = job.candidate_range[0], job.candidate_range[1] + 1
    with pytest.raises(ValueError, match="numba"):
        start(name).sieve_chunk(job, lo, hi)
    return True


def check_chunk(name: str, job: SieveJob, result: ChunkResult, lo: int, hi: int) -> None:
    """What every chunk of every backend must be, whatever its matches."""
    assert (result.lo, result.hi) == (lo, hi)
    assert result.candidates_tested == hi - lo
    assert result.overflow is False
    assert result.backend == name
    assert result.seconds >= 0
    assert all(lo <= m.candidate < hi for m in result.matches)
    assert all(job.threshold <= m.matches <= job.window_size for m in result.matches)
    keys = [m.sort_key() for m in result.matches]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


# -- brute force over tests/history.Stream: what the reference backend is checked against ----


def stream_of(job: SieveJob, candidate: int) -> Stream:
    family = get_family(job.family)
    if job.mode is Mode.STATE:
        return Stream(family, job.projection, job.modulus, family.state_from_int(candidate))
    return Stream(family, job.projection, job.modulus, family.seed(candidate))


def matched(stream: Stream, window: tuple[int, ...], positions: list[int]) -> int:
    return sum(stream[p] == d for p, d in zip(positions, window, strict=True))


def brute_force_constant(job: SieveJob, lo: int, hi: int) -> list[WindowMatch]:
    """Every (candidate, offset, skip) of a constant-skip job with enough window matches."""
    assert not job.variable_skip
    found = []
    for candidate in range(lo, hi):
        stream = stream_of(job, candidate)
        for offset in range(job.offsets[0], job.offsets[1] + 1):
            for skip in range(job.skips[0], job.skips[1] + 1):
                first_call = job.first_call(offset, skip)
                positions = constant_positions(first_call, skip, job.window_size)
                count = matched(stream, job.window, positions)
                if count >= job.threshold:
                    found.append(
                        WindowMatch(
                            candidate=candidate, first_call=first_call, skip=skip, matches=count
                        )
                    )
    return sorted(found, key=WindowMatch.sort_key)


def check_variable_against_brute_force(job: SieveJob, matches: list[WindowMatch]) -> None:
    """A variable-skip chunk's matches are true (their gaps reproduce their match count) and
    complete for every hypothesis whose constant gaps match the whole window (the search follows
    every matching gap, so such a path is always found)."""
    lo, hi = job.candidate_range[0], job.candidate_range[1] + 1
    reported = {(m.candidate, m.first_call): m for m in matches}
    assert len(reported) == len(matches)
    kmin, kmax = job.skips
    first, last = job.first_calls
    for m in matches:
        assert isinstance(m.skip, tuple) and len(m.skip) == job.window_size - 1
        assert all(kmin <= gap <= kmax for gap in m.skip)
        assert first <= m.first_call <= last
        positions = variable_positions(m.first_call, m.skip)
        assert matched(stream_of(job, m.candidate), job.window, positions) == m.matches
    for candidate in range(lo, hi):
        stream = stream_of(job, candidate)
        for first_call, gap in itertools.product(range(first, last + 1), range(kmin, kmax + 1)):
            positions = constant_positions(first_call, gap, job.window_size)
            if matched(stream, job.window, positions) == job.window_size:
                assert (candidate, first_call) in reported, (candidate, first_call, gap)
                assert reported[candidate, first_call].matches == job.window_size


# -- the suite ----------------------------------------------------------------------------------

#: Outside :data:`REPRESENTATIVE`: run with ``python -m pytest -m full_matrix``.
FULL_MATRIX = pytest.mark.full_matrix

cases = pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=str(case), marks=() if case in REPRESENTATIVE else FULL_MATRIX)
        for case in CASES
    ],
)
kinds = pytest.mark.parametrize("kind", list(KINDS))
backends = pytest.mark.parametrize("name", BACKEND_NAMES)


@cases
@kinds
@backends
def test_the_truth_is_found(name, kind, case):
    s = scenario(case, kind)
    if refuses(name, case, s.job):
        return
    lo, hi = s.bounds
    result = sieve(name, s.job, lo, hi)
    check_chunk(name, s.job, result, lo, hi)
    if not s.job.variable_skip:
        truth = WindowMatch(
            candidate=s.truth, first_call=s.first_call, skip=s.true_skip, matches=s.job.window_size
        )
        assert truth in result.matches
        return
    # Variable skip: one match per (candidate, first call). The truth's constant gaps match every
    # draw; the search keeps the first full path in lexicographic order, so its gaps are the
    # true ones or smaller.
    found = [m for m in result.matches if (m.candidate, m.first_call) == (s.truth, s.first_call)]
    assert len(found) == 1, result.matches
    assert found[0].matches == s.job.window_size
    assert found[0].skip <= (s.true_skip,) * (s.job.window_size - 1)


@cases
@kinds
@backends
def test_the_backend_agrees_with_the_reference(name, kind, case):
    s = scenario(case, kind)
    if refuses(name, case, s.job):
        return
    lo, hi = s.bounds
    if name == "reference":
        # The reference against a brute force that shares none of its code.
        result = start(name).sieve_chunk(s.job, lo, hi)
        check_chunk(name, s.job, result, lo, hi)
        if s.job.variable_skip:
            check_variable_against_brute_force(s.job, result.matches)
        else:
            assert result.matches == brute_force_constant(s.job, lo, hi)
        return
    result = start(name).sieve_chunk(s.job, lo, hi)
    check_chunk(name, s.job, result, lo, hi)
    reference = reference_chunk(s.job, lo, hi)
    assert result.matches == reference.matches
    assert result.candidates_tested == reference.candidates_tested
    assert result.overflow is reference.overflow is False


@cases
@kinds
@backends
def test_chunks_are_independent(name, kind, case):
    s = scenario(case, kind)
    if refuses(name, case, s.job):
        return
    backend = start(name)
    lo, hi = s.bounds
    whole = sieve(name, s.job, lo, hi)
    # A one-candidate chunk, a cut a third of the way in, and one at the truth, which must then
    # open its chunk.
    bounds = sorted({lo, lo + 1, lo + (hi - lo) // 3, s.truth, hi})
    pieces = []
    for a, b in itertools.pairwise(bounds):
        piece = backend.sieve_chunk(s.job, a, b)
        check_chunk(name, s.job, piece, a, b)
        pieces.append(piece)
    assert [m for piece in pieces for m in piece.matches] == whole.matches
    at_truth = pieces[bounds.index(s.truth)]
    assert at_truth.matches and at_truth.matches[0].candidate == s.truth
    # Chance survivors all over (unless the projection fixed a large modulus): the cuts really
    # split the matches.
    if KINDS[kind].dense and s.job.modulus <= 2 * KINDS[kind].modulus:
        assert sum(1 for piece in pieces if piece.matches) >= 2


@backends
def test_the_backend_class_declares_its_scheduling(name):
    backend_class = backend_type(name)  # never started: works where the backend cannot run
    assert backend_class.name == name
    assert isinstance(backend_class.dask_resources, dict)
    assert backend_class.dask_resources == ({"GPU": 1} if name == "gpu" else {})
    assert isinstance(backend_class.chunk_hypotheses, int) and backend_class.chunk_hypotheses > 0
    low, high = backend_class.chunk_candidates
    assert isinstance(low, int) and isinstance(high, int)
    assert 0 < low <= high


class Lcg32WithoutNumba(Lcg32):
    """lcg32 as a family that never got numba kernels: the reference twin alone."""

    name = "lcg32_python_only"
    numba = None


def test_the_cpu_backend_refuses_a_family_without_numba_kernels(monkeypatch):
    family = Lcg32WithoutNumba()
    monkeypatch.setitem(FAMILIES, family.name, family)
    case = Case(family.name, "mod", Mode.SEED)
    s = scenario(case, "exact")
    lo, hi = s.bounds
    # The family is a real one: the reference backend finds its truth...
    found = get_backend("reference").sieve_chunk(s.job, lo, hi).matches
    truth = WindowMatch(candidate=s.truth, first_call=s.first_call, skip=s.true_skip, matches=6)
    assert truth in found
    # ...and the cpu backend says it cannot, instead of returning nothing.
    assert refuses("cpu", case, s.job)


def test_the_cases_come_from_the_registry():
    with_numba = {name for name, family in FAMILIES.items() if family.numba is not None}
    assert with_numba <= {case.family for case in CASES}
    assert {case.projection for case in CASES} == set(PROJECTIONS)
    state = {case.family for case in CASES if case.mode is Mode.STATE}
    assert state == {name for name, family in FAMILIES.items() if family.state_search}


def has_prefilter(case: Case) -> bool:
    """Whether the cpu backend sieves one of this case's jobs behind a prefilter."""
    jobs = [scenario(case, kind).job for kind in KINDS]
    return any(
        prefilter_for(case.family, job, compiled=False) is not None
        or mt_seed_test(case.family, job) is not None
        for job in jobs
    )


def test_the_representative_matrix_covers_the_registry():
    """What CI runs of the cross product (the rest is ``-m full_matrix``): a family, mode,
    projection, word width or prefilter added to the registry and missing here fails this test,
    and is to be added to :data:`REPRESENTATIVE`."""
    assert REPRESENTATIVE.issubset(CASES)  # each one a case the registry allows

    def missing(aspect) -> set:
        return {aspect(case) for case in CASES} - {aspect(case) for case in REPRESENTATIVE}

    assert not missing(lambda case: (case.family, case.mode))
    assert not missing(lambda case: (case.projection, get_family(case.family).word_bits))
    assert not missing(lambda case: (case.family, case.mode) if has_prefilter(case) else None)
    # State mode walks back over rejected attempts, and over attempts of two words.
    state = [PROJECTIONS[case.projection] for case in REPRESENTATIVE if case.mode is Mode.STATE]
    assert any(projection.rejects for projection in state)
    assert any(projection.words_per_attempt == 2 for projection in state)
