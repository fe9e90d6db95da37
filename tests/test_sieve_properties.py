"""Property tests of the sieve engine (docs/design.md §8).

1. A history made by a known generator (random family, projection, seed or state, offset,
   constant or variable skip, window anywhere inside a longer history) is recovered: a sieve over
   a small candidate range around the truth ranks the truth first, with the right offset, skip,
   extensions and continuation, on the ``reference`` and the ``cpu`` backend alike.
2. Chunking, coverage and the overflow flag: any chunking gives the same result, and a missing
   chunk or a full survivor buffer makes it incomplete.

That every backend returns exactly the reference backend's window matches for every family,
projection and mode, whole or cut into chunks, is tests/test_backend_conformance.py's job.

numba compiles the cpu kernel once per (family, projection, mode), some 6 s each on two cores
(then cached on disk), so every combination is one parametrized test whose hypothesis examples
all reuse it. The default run takes the combinations of tests/test_backend_conformance.py's
representative matrix (every family in each of its modes, every projection on every word width
it takes, state mode over rejected and two-word attempts), whose kernels that suite compiles
anyway; the other combinations below (every family with ``mod``, each projection in state mode)
carry the ``full_matrix`` marker: ``python -m pytest -m full_matrix``.
Examples are derandomized: the suite is deterministic and each run tests the same cases.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gpu_kernels.backends.cpu import CpuBackend
from gpu_kernels.backends.reference import ReferenceBackend
from gpu_kernels.job import ChunkResult, Mode, SieveJob
from gpu_kernels.projections import PROJECTIONS
from gpu_kernels.registry import FAMILIES, get_family
from mimicry.search.sieve import (
    assemble,
    chunk_bounds,
    default_chunk_size,
    missing_ranges,
    run_sieve,
)
from tests.history import Stream, variable_positions
from tests.test_backend_conformance import REPRESENTATIVE, Case

#: The families whose whole state can be enumerated (state mode).
STATE_FAMILIES = [name for name, family in FAMILIES.items() if family.state_search]


def _combos(families: list[str]) -> list[tuple[str, str]]:
    """Every family with ``mod``, and each other projection once, on the families whose word
    width it accepts taken in turn, so that each projection's kernel is exercised on a family
    that can make it (CPython's, Java's and PHP's projections need 32-bit words)."""
    combos = [(name, "mod") for name in families]
    others = [projection for projection in PROJECTIONS.values() if projection.name != "mod"]
    for turn, projection in enumerate(others):
        accepting = [
            name
            for name in families
            if projection.check(
                FAMILIES[name].word_bits, moduli_of(projection.name, FAMILIES[name].word_bits)[0]
            )
            is None
        ]
        if accepting:  # v8_math_random needs 64-bit words, which no state-mode family makes
            combos.append((accepting[turn % len(accepting)], projection.name))
    return combos


#: Moduli per projection: small ones (chance matches common), Pick-3's 1000, a prime, and large
#: ones that make the rejection projections reject often (2**30 + 1: about every other attempt).
#: No powers of two with ``mod``: the low bits of a power-of-two LCG repeat with a short period,
#: which makes distinct hypotheses genuinely indistinguishable.
MODULI = {
    "mod": (1000, 10, 997, 10007, 2**31 - 1),
    "python_randrange": (1000, 10, 2**30 + 1),
    "python_getrandbits": (1024, 8, 2**31),
    "python_float": (1000, 10, 2**31),
    "java_nextint": (1000, 1024, 2**30 + 1),
    "php_mt_rand_range": (1000, 1024, 2**30 + 1),
    "php_mt_rand": (2**31,),
    "php5_mt_rand_range": (1000, 57, 2**31),
}


def moduli_of(projection: str, word_bits: int) -> tuple[int, ...]:
    """The moduli a scenario draws for ``projection``: :data:`MODULI`, or for a projection of
    a program's own form (``raw``, ``java_nextlong``, the doubles) the one M it fixes."""
    fixed = PROJECTIONS[projection].modulus_for(word_bits)
    return MODULI[projection] if fixed is None else (fixed,)


def _with_representative(combos: list[tuple[str, str]], mode: Mode) -> list:
    """``combos`` and the representative matrix's pairs in ``mode``, as parameters: those outside
    the representative matrix marked ``full_matrix``."""
    chosen = sorted((case.family, case.projection) for case in REPRESENTATIVE if case.mode is mode)
    return [
        pytest.param(
            *pair, marks=() if Case(*pair, mode) in REPRESENTATIVE else pytest.mark.full_matrix
        )
        for pair in [*chosen, *(pair for pair in combos if pair not in chosen)]
    ]


SEED_COMBOS = _with_representative(_combos(list(FAMILIES)), Mode.SEED)
#: State mode: the families with ``state_search``, and each other projection (rejection ones
#: too, whose backward walk (matches_before) must skip the rejected attempts).
STATE_COMBOS = _with_representative(_combos(STATE_FAMILIES), Mode.STATE)

PREDICT = 3

PROPERTY_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

REFERENCE = ReferenceBackend()
CPU = CpuBackend(few_hypotheses=0)  # the kernels check every kept candidate


@dataclass(frozen=True)
class Scenario:
    """A history with a known truth, and the job that should find it."""

    history: list[int]
    job: SieveJob
    #: The true seed (seed mode) or the state at the first window draw (state mode).
    candidate: int
    #: Calls before the stream's first draw (0 in state mode).
    offset: int
    #: Call index of the window's first draw.
    first_call: int
    skip: int | list[int]
    #: The draws that follow the newest history draw.
    future: list[int]
    #: Whether every draw before the window must match (false for variable skip, whose backward
    #: walk is greedy through random gaps).
    before_exact: bool


def _candidate_range(draw, truth: int, space: tuple[int, int]) -> tuple[int, int]:
    below = draw(st.integers(0, 300), label="below")
    above = draw(st.integers(0, 300), label="above")
    return max(space[0], truth - below), min(space[1], truth + above)


def _needed_after(
    *,
    before: int,
    window: int,
    after: int,
    hypotheses: int,
    modulus: int,
    word_bits: int,
    branching: int,
    before_counts: bool,
) -> int | None:
    """Draws after the window that make the truth's evidence unreachable by chance.

    A wrong hypothesis compares at most ``before + window + after`` draws; each matches with
    probability about ``branching / min(M, 2**word_bits)``. Grow ``after`` until the union bound
    ``H · C(n, E) · (branching/M)^E`` that any wrong hypothesis reaches the truth's guaranteed
    evidence E is below 1e-6, so "the truth ranks first" is a well-defined claim.
    """
    per_draw = math.log10(min(modulus, 2**word_bits) / branching)
    for extra in range(after, 61):
        compared = before + window + extra
        evidence = window + extra + (before if before_counts else 0)
        log_bound = (
            math.log10(hypotheses) + math.log10(math.comb(compared, evidence)) - evidence * per_draw
        )
        if log_bound <= -6:
            return extra
    return None


def _first_match_is_true(stream: Stream, positions: list[int], kmin: int, steps: range) -> bool:
    """No gap smaller than the true one matches at these steps (so the search's lexicographic
    and greedy choices land on the true calls)."""
    for i in steps:
        for gap in range(kmin, positions[i] - positions[i - 1] - 1):
            if stream[positions[i - 1] + 1 + gap] == stream[positions[i]]:
                return False
    return True


@st.composite
def scenarios(draw, family_name: str, projection: str, mode: Mode) -> Scenario:
    family = get_family(family_name)
    state_mode = mode is Mode.STATE
    variable = draw(st.booleans(), label="variable skip")
    moduli = [m for m in moduli_of(projection, family.word_bits) if not variable or m >= 997]
    modulus = draw(st.sampled_from(moduli), label="modulus")
    low_seed = 1 if family.name.startswith("xorshift") else 0  # 0 is xorshift's fixed point
    top = (1 << family.seed_bits) - 1
    # Anywhere in the seed space, with the top end (ranges clipped there) drawn on purpose.
    seed = draw(st.one_of(st.integers(low_seed, top), st.integers(top - 500, top)), label="seed")
    size = draw(st.integers(3, 6), label="window size")
    start = draw(st.integers(0, 5), label="window start")
    # Calls before the first history draw: the offset in seed mode, unseen calls in state mode.
    first = draw(st.one_of(st.integers(0, 12), st.integers(200, 330)), label="first call")

    if variable:
        kmin = draw(st.integers(0, 2), label="kmin")
        kmax = kmin + draw(st.integers(1, 2), label="kmax - kmin")
        common = draw(st.integers(kmin, kmax), label="commonest gap")
        majority = (size - 1) // 2 + 1  # a strict majority: the commonest gap is unique
        others = draw(
            st.lists(
                st.integers(kmin, kmax), min_size=size - 1 - majority, max_size=size - 1 - majority
            ),
            label="other gaps",
        )
        window_gaps = draw(st.permutations([common] * majority + others), label="window gaps")
        before_gaps = draw(
            st.lists(st.integers(kmin, kmax), min_size=start, max_size=start),
            label="gaps before the window",
        )
        skips, step, true_skip = (kmin, kmax), common + 1, list(window_gaps)
    else:
        skip = draw(st.integers(0, 3), label="skip")
        kmin = skip - draw(st.integers(0, min(skip, 2)), label="skips below")
        kmax = skip + draw(st.integers(0, 2), label="skips above")
        window_gaps, before_gaps = [skip] * (size - 1), [skip] * start
        skips, step, true_skip = (kmin, kmax), skip + 1, skip
    branching = kmax - kmin + 1 if variable else 1

    stream = Stream.seeded(family.name, projection, modulus, seed)
    window_positions = variable_positions(first, before_gaps + window_gaps)
    window_call = window_positions[start]
    if state_mode:
        candidate = stream.state_before(window_call)
        space = family.candidate_space("state")
        offsets, true_offset = (0, 0), 0
    else:
        candidate = seed
        space = (0, (1 << family.seed_bits) - 1)
        low = draw(st.integers(0, 4), label="offsets below")
        high = draw(st.integers(0, 4), label="offsets above")
        # Offsets count the calls before the stream's first draw, wherever the window is.
        offsets, true_offset = (max(0, first - low), first + high), first
    candidate_range = _candidate_range(draw, candidate, space)

    lead = 0 if state_mode else start
    per_candidate = (
        (offsets[1] + lead * (kmax + 1)) - (offsets[0] + lead * (kmin + 1)) + 1
        if variable  # every call the window's first draw may sit at
        else (offsets[1] - offsets[0] + 1) * (kmax - kmin + 1)
    )
    hypotheses = (candidate_range[1] - candidate_range[0] + 1) * per_candidate
    after = _needed_after(
        before=start,
        window=size,
        after=draw(st.integers(0, 12), label="draws after"),
        hypotheses=hypotheses,
        modulus=modulus,
        word_bits=family.word_bits,
        branching=branching,
        before_counts=not variable,
    )
    assume(after is not None)
    positions = variable_positions(first, before_gaps + window_gaps + [step - 1] * after)
    if variable:
        # The history is well defined for the search: no smaller gap matches by chance inside
        # the window (depth-first, smallest gaps first) or after it (greedy smallest gap).
        assume(_first_match_is_true(stream, positions, kmin, range(start + 1, len(positions))))
    history = stream.at(positions)
    future = stream.at([positions[-1] + step * (j + 1) for j in range(PREDICT)])

    job = SieveJob(
        family=family.name,
        projection=projection,
        modulus=modulus,
        window=tuple(history[start : start + size]),
        window_start=start,
        mode=mode,
        candidate_range=candidate_range,
        offsets=offsets,
        skips=skips,
        variable_skip=variable,
    )
    assert job.hypotheses == hypotheses
    return Scenario(
        history,
        job,
        candidate,
        true_offset,
        0 if state_mode else window_call,  # state mode: the state is the window's
        true_skip,
        future,
        before_exact=not variable,
    )


def _stats_without_timing(result) -> dict:
    return result.stats.model_dump(exclude={"seconds", "candidates_per_second"})


def _check_truth_first(scenario: Scenario, chunk_sizes: tuple[int, int]) -> None:
    job, history = scenario.job, scenario.history
    results = [
        run_sieve(history, job, backend=backend, chunk_size=chunk, predict=PREDICT, top=None)
        for backend, chunk in zip((REFERENCE, CPU), chunk_sizes, strict=True)
    ]
    reference, cpu = results
    # Both backends (and both chunkings) give the same survivors, in the same order.
    assert [s.model_dump() for s in cpu.survivors] == [s.model_dump() for s in reference.survivors]
    assert _stats_without_timing(cpu) == _stats_without_timing(reference)

    stats = reference.stats
    assert stats.candidates_tested == job.candidate_count
    assert stats.hypotheses == job.hypotheses
    assert stats.complete and not stats.missing_ranges and not stats.overflow
    assert stats.survivor_count == len(reference.survivors) >= 1
    assert stats.significant

    best = reference.survivors[0]
    family = get_family(job.family)
    after = len(history) - job.window_start - job.window_size
    if job.mode is Mode.STATE:
        assert best.seed is None
        assert best.state == scenario.candidate
    else:
        assert best.state is None
        # Seeds that seed the same state are the same hypothesis (glibc's srand(0) is srand(1)).
        assert family.seed(best.seed) == family.seed(scenario.candidate)
    assert best.first_call == scenario.first_call
    if scenario.before_exact:
        assert best.offset == scenario.offset
    else:  # a variable skip's offset comes from a greedy walk back to the first draw
        assert best.offset is None or 0 <= best.offset <= scenario.first_call
    assert best.skip == scenario.skip
    assert best.window == {"start": job.window_start, "size": job.window_size}
    assert best.matches == job.window_size
    assert best.matches_after == best.checked_after == after
    if scenario.before_exact:
        assert best.matches_before == best.checked_before == job.window_start
    else:
        assert best.matches_before <= best.checked_before <= job.window_start
        if job.mode is Mode.STATE:  # the inverse step reaches every earlier draw
            assert best.checked_before == job.window_start
    assert best.next == scenario.future
    assert best.p_value < 0.01
    # Every other hypothesis has strictly less evidence (the history was made long enough).
    others = [s for s in reference.survivors[1:] if not _same_hypothesis(s, best, family)]
    assert all(s.evidence < best.evidence for s in others)


def _same_hypothesis(survivor, best, family) -> bool:
    return (survivor.first_call, survivor.skip) == (best.first_call, best.skip) and (
        survivor.state == best.state
        if survivor.seed is None
        else family.seed(survivor.seed) == family.seed(best.seed)
    )


CHUNKS = st.tuples(st.integers(1, 700), st.integers(1, 700))


@pytest.mark.parametrize(("family", "projection"), SEED_COMBOS)
@settings(PROPERTY_SETTINGS, max_examples=6)
@given(data=st.data(), chunk_sizes=CHUNKS)
def test_seed_mode_ranks_the_truth_first(family, projection, data, chunk_sizes):
    scenario = data.draw(scenarios(family, projection, Mode.SEED))
    _check_truth_first(scenario, chunk_sizes)


@pytest.mark.parametrize(("family", "projection"), STATE_COMBOS)
@settings(PROPERTY_SETTINGS, max_examples=6)
@given(data=st.data(), chunk_sizes=CHUNKS)
def test_state_mode_ranks_the_truth_first(family, projection, data, chunk_sizes):
    scenario = data.draw(scenarios(family, projection, Mode.STATE))
    _check_truth_first(scenario, chunk_sizes)


# -- chunking, coverage and the overflow flag ---------------------------------------------------


def _chance_job(**update) -> tuple[list[int], SieveJob]:
    """A job on a short window of small draws: a couple of hundred chance survivors (fewer than
    one cpu block holds, so no chunking overflows)."""
    history = [3, 1, 4, 1, 5, 2, 6, 5, 3, 5]
    fields = dict(
        family="lcg32",
        modulus=13,
        window=tuple(history[2:5]),
        window_start=2,
        candidate_range=(1000, 1999),
        offsets=(0, 3),
        skips=(0, 1),
        min_matches=2,
    )
    fields.update(update)
    return history, SieveJob(**fields)


@pytest.mark.parametrize("variable", [False, True])
def test_chunk_sizes_do_not_change_the_result(variable):
    history, job = _chance_job(variable_skip=variable)
    results = [
        run_sieve(history, job, backend=backend, chunk_size=size, predict=2, top=None)
        for backend in ("reference", "cpu")
        for size in (1, 7, 333, 2000, 10**6)
    ]
    first = [s.model_dump() for s in results[0].survivors]
    assert len(first) > 100  # chance survivors aplenty: order and ties matter
    assert results[0].stats.complete
    for result in results[1:]:
        assert [s.model_dump() for s in result.survivors] == first
        assert _stats_without_timing(result) == _stats_without_timing(results[0])


def test_chunk_bounds_cover_the_range_exactly():
    _, job = _chance_job()
    for size in (1, 3, 999, 1000, 1001, 10**9):
        bounds = list(chunk_bounds(job, size))
        assert bounds[0][0] == 1000 and bounds[-1][1] == 2000
        assert all(b[0] == a[1] for a, b in itertools.pairwise(bounds))
        assert all(0 < hi - lo <= size for lo, hi in bounds)
    with pytest.raises(ValueError, match="chunk_size"):
        chunk_bounds(job, 0)


@pytest.mark.parametrize("variable", [False, True])
def test_a_chunk_sieved_slice_by_slice_matches_one_pass(variable, monkeypatch):
    import gpu_kernels.backends.cpu as cpu

    _, job = _chance_job(variable_skip=variable)
    whole = CpuBackend().sieve_chunk(job, 1000, 2000)
    monkeypatch.setattr(cpu, "SLICE", 97)  # 11 slices, the last one short
    sliced = CpuBackend().sieve_chunk(job, 1000, 2000)
    assert len(whole.matches) > 100
    assert sliced.matches == whole.matches
    assert (sliced.lo, sliced.hi, sliced.candidates_tested) == (1000, 2000, 1000)
    assert sliced.overflow is whole.overflow is False


class RecordingBackend(CpuBackend):
    """The cpu backend, noting each range it is asked to sieve."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple[int, int]] = []

    def sieve_chunks(self, jobs, lo, hi):
        self.ranges.append((lo, hi))
        return super().sieve_chunks(jobs, lo, hi)


def test_a_search_goes_on_where_its_size_probe_stopped(monkeypatch):
    """``mimicry sieve`` sizes a big search with probe chunks at its start: the search takes them
    as its first chunks and sieves no candidate twice, and its answer is the one without a
    probe."""
    import mimicry.search.estimate as estimate
    from mimicry.search.sieve import run_sieves

    monkeypatch.setattr(estimate, "_PROBE_SECONDS", 0.0)  # the probe stops after two chunks
    history, job = _chance_job(candidate_range=(1000, 20_999))
    backend = RecordingBackend()
    probe = estimate.measure([job], backend)
    assert backend.ranges == [(1000, 2024), (2024, 6120)]
    assert probe.estimate.candidates == 20_000 and probe.estimate.rate > 0
    [kept] = run_sieves(
        history, [job], backend=backend, chunk_size=5000, top=None, sieved=probe.chunks
    )
    assert backend.ranges[2:] == [(6120, 11120), (11120, 16120), (16120, 20999 + 1)]
    [plain] = run_sieves(history, [job], backend=CpuBackend(), chunk_size=5000, top=None)
    assert kept.stats.complete and kept.stats.candidates_tested == 20_000
    assert len(plain.survivors) > 20
    assert [s.model_dump() for s in kept.survivors] == [s.model_dump() for s in plain.survivors]
    assert _stats_without_timing(kept) == _stats_without_timing(plain)
    with pytest.raises(ValueError, match="follow one another from the first candidate"):
        run_sieves(history, [job], backend=backend, sieved=[probe.chunks[0][1:]])
    with pytest.raises(ValueError, match="a list of chunks for each job"):
        run_sieves(history, [job], backend=backend, sieved=[*probe.chunks, *probe.chunks])


def test_default_chunks_hold_a_backend_sized_amount_of_work():
    def size(backend, **job):
        return default_chunk_size(_chance_job(**job)[1], backend)

    # cpu: 2^32 hypotheses a chunk, as a power of two of candidates within [2^24, 2^30].
    assert size(CpuBackend, offsets=(0, 0), skips=(0, 0)) == 1 << 30
    assert size(CpuBackend, offsets=(0, 63), skips=(0, 0)) == 1 << 26
    assert size(CpuBackend, offsets=(0, 99), skips=(0, 0)) == 1 << 25  # 2^32 / 100, rounded down
    assert size(CpuBackend, offsets=(0, 4095), skips=(0, 1023)) == 1 << 24
    assert size(CpuBackend(), offsets=(0, 63), skips=(0, 0)) == 1 << 26  # an instance reads alike
    # variable skip searches its gaps: only the window's positions multiply the work, which
    # are the offsets for a window at the first draw, and wider after draws of unknown gaps.
    variable = dict(offsets=(0, 63), skips=(0, 1023), variable_skip=True)
    assert size(CpuBackend, **variable, window_start=0) == 1 << 26
    assert size(CpuBackend, **variable, window_start=2) == 1 << 24  # 2^32 / 2110 positions
    assert size(ReferenceBackend, offsets=(0, 0), skips=(0, 0)) == 1 << 12
    assert size(ReferenceBackend, offsets=(0, 63), skips=(0, 63)) == 1 << 6


def test_a_missing_chunk_makes_the_result_incomplete():
    history, job = _chance_job()
    chunks = [REFERENCE.sieve_chunk(job, lo, hi) for lo, hi in list(chunk_bounds(job, 250))]
    full = assemble(history, job, chunks, top=None)
    assert full.stats.complete and full.stats.missing_ranges == []
    partial = assemble(history, job, [chunks[0], chunks[2]], top=None)
    assert not partial.stats.complete
    assert partial.stats.missing_ranges == [(1250, 1499), (1750, 1999)]
    assert partial.stats.candidates_tested == 500
    kept = {s.seed for s in partial.survivors}
    assert kept and all(1000 <= seed < 1250 or 1500 <= seed < 1750 for seed in kept)
    assert kept < {s.seed for s in full.survivors}
    # Coverage accounting on its own: overlaps and out-of-order chunks.
    pieces = [
        ChunkResult(lo=lo, hi=hi, matches=[], candidates_tested=hi - lo, seconds=0.0)
        for lo, hi in ((1500, 1600), (1000, 1100), (1050, 1200), (1900, 2000))
    ]
    assert missing_ranges(job, pieces) == [(1200, 1499), (1600, 1899)]
    assert missing_ranges(job, []) == [(1000, 1999)]


def test_a_retried_or_overlapping_chunk_counts_once():
    # Chunks are retried and re-split (docs/design.md §14.2; missing_ranges accepts overlaps), so
    # a chunk may reach assemble twice, or two chunkings may overlap. Each hypothesis is still one
    # survivor: duplicates would inflate survivor_count against expected_false_survivors.
    history, job = _chance_job()
    chunks = [REFERENCE.sieve_chunk(job, lo, hi) for lo, hi in list(chunk_bounds(job, 500))]
    clean = assemble(history, job, chunks, top=None)
    retried = assemble(history, job, [*chunks, chunks[0]], top=None)
    overlapping = assemble(
        history, job, [*chunks, REFERENCE.sieve_chunk(job, 1400, 1600)], top=None
    )
    expected = [s.model_dump() for s in clean.survivors]
    for result in (retried, overlapping):
        assert result.stats.complete
        assert result.stats.survivor_count == clean.stats.survivor_count
        assert [s.model_dump() for s in result.survivors] == expected


def test_survivor_buffer_overflow_is_reported():
    # A weak generator matches far more often than chance: lcg32's low bit alternates, so with
    # M = 2 every even seed reproduces the window 1, 0, 1, 0, … (chance: 2**-20 per seed). Half
    # of every cpu block matches, more than its bounded buffer holds; the chunk must say so
    # instead of silently dropping matches, and the result must not claim to be complete.
    window = (1, 0) * 10
    history = [*window, 1, 0]
    job = SieveJob(family="lcg32", modulus=2, window=window, candidate_range=(2, 20_001))
    reference = REFERENCE.sieve_chunk(job, 2, 20_002)
    assert len(reference.matches) == 10_000
    chunk = CPU.sieve_chunk(job, 2, 20_002)
    assert chunk.overflow
    assert set(chunk.matches) < set(reference.matches)
    result = assemble(history, job, [chunk], top=5)
    assert result.stats.overflow and not result.stats.complete
    assert result.stats.missing_ranges == []
    assert result.stats.expected_false_survivors == pytest.approx(20_000 / 2**20)


def test_survivors_are_ranked_by_evidence_then_p_value():
    history, job = _chance_job()
    result = run_sieve(history, job, backend="cpu", top=None)
    keys = [(-s.evidence, s.p_value) for s in result.survivors]
    assert keys == sorted(keys)
    assert len(set(keys)) > 1
    shown = run_sieve(history, job, backend="cpu", top=5)
    assert [s.model_dump() for s in shown.survivors] == [
        s.model_dump() for s in result.survivors[:5]
    ]
    assert shown.stats.survivor_count == len(result.survivors)


def test_variable_skip_gaps_are_the_commonest_for_the_continuation():
    # A hand-made variable-skip history: window gaps (1, 0, 1, 1), so the continuation steps 2.
    stream = Stream.seeded("pcg32", "mod", 1000, 77)
    positions = variable_positions(5, [1, 0, 1, 1, 1, 1])
    history = stream.at(positions)
    job = SieveJob(
        family="pcg32",
        window=tuple(history[:5]),
        candidate_range=(70, 80),
        offsets=(0, 8),
        skips=(0, 1),
        variable_skip=True,
    )
    best = run_sieve(history, job, backend="reference", predict=4).survivors[0]
    assert (best.seed, best.offset, best.skip) == (77, 5, [1, 0, 1, 1])
    assert best.next == stream.at([positions[-1] + 2 * (j + 1) for j in range(4)])
    assert Counter(best.skip).most_common(1)[0][0] == 1
