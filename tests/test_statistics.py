"""The chance statistics of the sieve (docs/design.md §9), checked three ways.

* Directly: the per-hypothesis chance against scipy's binomial (constant skip) and against a
  brute-force enumeration of the variable-skip search on tiny cases; p-values by their formula.
* Through the engine: every number a result carries is the formula applied to the job.
* Empirically, on null data (uniform draws from numpy's Generator with a fixed seed, unrelated to
  any candidate): the survivor count averages ``expected_false_survivors``, and ``significant``
  comes up no more often than the 1 % it promises.
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
import pytest
from scipy.stats import binom

from gpu_kernels.backends.cpu import CpuBackend
from gpu_kernels.job import SieveJob
from mimicry.search.sieve import run_sieve
from mimicry.search.statistics import (
    SIGNIFICANCE_LEVEL,
    chance_per_hypothesis,
    expected_false_survivors,
    expected_paths_at_least,
    search_p_value,
)
from tests.history import seeded_history

# -- the formulas -------------------------------------------------------------------------------


@pytest.mark.parametrize("modulus", [2, 3, 10, 37, 1000, 2**31])
@pytest.mark.parametrize("draws", [1, 2, 3, 5, 8, 40, 130])
def test_constant_skip_chance_is_the_binomial_tail(modulus, draws):
    for matches in range(0, draws + 2):
        exact = 1.0 if matches <= 0 else float(binom.sf(matches - 1, draws, 1 / modulus))
        # Tails below 1e-280 are compared absolutely: there scipy's own binomial loses
        # precision (0.4 % at 1e-293), and no p-value can tell them apart from 0 anyway.
        assert expected_paths_at_least(draws, matches, modulus) == pytest.approx(
            exact, rel=1e-9, abs=1e-280
        )
        if 1 <= matches <= draws:
            assert chance_per_hypothesis(draws, matches, modulus) == pytest.approx(
                exact, rel=1e-9, abs=1e-280
            )


@pytest.mark.parametrize(("modulus", "window"), [(2, 3), (3, 3), (5, 2), (4, 4)])
def test_constant_skip_chance_by_enumeration(modulus, window):
    """Count the draw sequences that match fixed calls in at least ``m`` places."""
    calls = [i % modulus for i in range(window)]  # any fixed calls: the draws are uniform
    tally = [0] * (window + 1)
    for draws in itertools.product(range(modulus), repeat=window):
        tally[sum(d == c for d, c in zip(draws, calls, strict=True))] += 1
    total = modulus**window
    for matches in range(1, window + 1):
        exact = sum(tally[matches:]) / total
        assert chance_per_hypothesis(window, matches, modulus) == pytest.approx(exact, rel=1e-12)


def _search_paths(calls, draws, kmin, kmax) -> list[int]:
    """Every path of the variable-skip search, by its match count (docs/design.md §9): draw 0 at
    call 0; each later draw branches over every gap in range whose call matches, or, when none
    matches, continues as a miss at the smallest gap."""
    found: list[int] = []

    def walk(i: int, position: int, matches: int) -> None:
        if i == len(draws):
            found.append(matches)
            return
        matched = False
        for gap in range(kmin, kmax + 1):
            if calls[position + 1 + gap] == draws[i]:
                matched = True
                walk(i + 1, position + 1 + gap, matches + 1)
        if not matched:
            walk(i + 1, position + 1 + kmin, matches)

    walk(1, 0, int(calls[0] == draws[0]))
    return found


@cache
def _enumerate_variable(modulus: int, window: int, kmin: int, kmax: int):
    """Over all draws and all calls (both uniform): (expected paths with >= m matches,
    probability that some path has >= m matches), for m = 0..W."""
    span = (window - 1) * (kmax + 1) + 1
    paths = [0] * (window + 1)
    survive = [0] * (window + 1)
    cases = 0
    for calls in itertools.product(range(modulus), repeat=span):
        for draws in itertools.product(range(modulus), repeat=window):
            counts = _search_paths(calls, draws, kmin, kmax)
            best = max(counts)
            cases += 1
            for m in range(window + 1):
                paths[m] += sum(c >= m for c in counts)
                survive[m] += best >= m
    return [p / cases for p in paths], [s / cases for s in survive]


@pytest.mark.parametrize(
    ("modulus", "window", "kmin", "kmax"),
    [
        (2, 3, 0, 1),
        (3, 3, 0, 1),
        (2, 4, 0, 1),
        (3, 3, 0, 2),
        (4, 2, 0, 2),
        (2, 3, 1, 2),
        (3, 2, 1, 3),
        (4, 3, 0, 1),
    ],
)
def test_variable_skip_chance_bounds_the_search_by_enumeration(modulus, window, kmin, kmax):
    branching = kmax - kmin + 1
    paths, survive = _enumerate_variable(modulus, window, kmin, kmax)
    for matches in range(1, window + 1):
        formula = expected_paths_at_least(window, matches, modulus, branching)
        # It is the expected number of search paths (capped at 1, as it bounds a probability)…
        assert formula == pytest.approx(min(1.0, paths[matches]), rel=1e-9)
        # …so it bounds the chance that a hypothesis survives with that many matches.
        assert survive[matches] <= formula + 1e-12
        assert chance_per_hypothesis(window, matches, modulus, branching) == formula


def test_one_skip_choice_is_the_constant_skip():
    for draws, matches, modulus in [(3, 3, 10), (8, 5, 7), (40, 3, 1000), (1, 1, 2)]:
        assert expected_paths_at_least(draws, matches, modulus, 1) == pytest.approx(
            float(binom.sf(matches - 1, draws, 1 / modulus)), rel=1e-9
        )
        # More skip choices can only make a chance pass likelier.
        assert expected_paths_at_least(draws, matches, modulus, 3) >= expected_paths_at_least(
            draws, matches, modulus, 1
        )


@pytest.mark.parametrize("hypotheses", [1, 1000, 2**32, 2**64])
def test_search_p_value_formula(hypotheses):
    for draws, matches, modulus, choices in [
        (3, 3, 1000, 1),
        (40, 40, 1000, 1),
        (10, 4, 10, 1),
        (30, 12, 100, 3),
        (5, 5, 1000, 2),
    ]:
        tail = expected_paths_at_least(draws, matches, modulus, choices)
        p = search_p_value(hypotheses, draws, matches, modulus, choices)
        assert p == pytest.approx(-math.expm1(-hypotheses * tail), rel=1e-9, abs=1e-300)
        assert 0.0 <= p <= 1.0
        assert p == pytest.approx(min(1.0, hypotheses * tail), rel=0.01) or hypotheses * tail > 0.01
        if choices == 1 and hypotheses * tail < 1e-3:
            # The Poisson form agrees with the exact 1 - (1 - tail)^H where both are small.
            assert p == pytest.approx(-math.expm1(hypotheses * math.log1p(-tail)), rel=1e-3)
    # Monotone: more evidence is rarer, a bigger search makes luck likelier.
    assert search_p_value(hypotheses, 20, 6, 1000) <= search_p_value(hypotheses, 20, 5, 1000)
    assert search_p_value(hypotheses, 20, 5, 1000) <= search_p_value(2 * hypotheses, 20, 5, 1000)


def test_the_design_example_has_four_chance_survivors():
    # docs/design.md §9: a sieve over 2^32 seeds with a 3-draw window has ~4 chance survivors.
    chance = chance_per_hypothesis(3, 3, 1000)
    assert expected_false_survivors(2**32, chance) == pytest.approx(2**32 / 1e9, rel=1e-12)


@pytest.mark.parametrize("modulus", [2**32, 2**52, 2**53, 2**64])
def test_the_projections_own_moduli_up_to_2_64(modulus):
    """Raw words, Java longs and the doubles: M up to 2^64 as a Python int, no overflow, and
    the figures are the binomial's (1/M is a float like any other)."""
    assert chance_per_hypothesis(1, 1, modulus) == 1 / modulus
    assert chance_per_hypothesis(4, 4, modulus) == pytest.approx(modulus**-4.0, rel=1e-9)
    assert chance_per_hypothesis(4, 3, modulus) == pytest.approx(4 * modulus**-3.0, rel=1e-6)
    # Variable skip over three gaps: each later draw may sit on three calls.
    assert chance_per_hypothesis(4, 4, modulus, 3) == pytest.approx(27 * modulus**-4.0, rel=1e-6)
    assert expected_false_survivors(modulus, chance_per_hypothesis(1, 1, modulus)) == 1.0
    assert 0.0 <= search_p_value(2**40, 12, 12, modulus) < 1e-100


# -- the numbers a result carries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "min_matches", "max_misses"),
    [(False, None, None), (False, 3, None), (True, None, None), (True, 3, None), (True, 4, 0)],
)
def test_result_statistics_are_the_formulas(variable, min_matches, max_misses):
    history = seeded_history("mt19937", 4242, 30, modulus=50, offset=3)
    job = SieveJob(
        family="mt19937",
        modulus=50,
        window=tuple(history[5:9]),
        window_start=5,
        candidate_range=(4000, 4999),
        offsets=(0, 12),
        skips=(0, 2),
        variable_skip=variable,
        min_matches=min_matches,
        max_misses=max_misses,
    )
    result = run_sieve(history, job, backend="reference", top=None)
    stats = result.stats
    choices = 3 if variable else 1
    threshold = 4 if max_misses == 0 else (min_matches or 4)
    assert job.threshold == threshold
    # Constant skip: offsets × skips. Variable skip: every call the window's first draw may sit
    # at, from 0 + 5·(0 + 1) to 12 + 5·(2 + 1).
    hypotheses = 1000 * (23 if variable else 13 * 3)
    assert stats.hypotheses == job.hypotheses == hypotheses
    chance = expected_paths_at_least(4, threshold, 50, choices)
    if not variable:
        assert chance == pytest.approx(float(binom.sf(threshold - 1, 4, 1 / 50)), rel=1e-9)
    assert stats.chance_per_hypothesis == pytest.approx(chance, rel=1e-12)
    assert stats.expected_false_survivors == pytest.approx(hypotheses * chance, rel=1e-12)
    assert stats.survivor_count == len(result.survivors) >= 1
    for s in result.survivors:
        checked = 4 + s.checked_before + s.checked_after
        assert s.p_value == pytest.approx(
            search_p_value(hypotheses, checked, s.evidence, 50, choices), rel=1e-12, abs=1e-300
        )
    # The truth (seed 4242, offset 3, its window at call 3 + 5) is there, with the smallest
    # p-value of all.
    best = result.survivors[0]
    assert (best.seed, best.offset, best.first_call) == (4242, 3, 8)
    assert stats.significant == (best.p_value < SIGNIFICANCE_LEVEL) is True
    assert all(s.p_value >= best.p_value for s in result.survivors)


# -- null data ----------------------------------------------------------------------------------

#: (id, M, W, min_matches, max_misses, offsets, skips, variable, candidates): short windows and
#: small M, where chance survivors are common.
NULL_CASES = [
    ("exact", 10, 3, None, None, (0, 0), (0, 0), False, 3000),
    ("offsets-and-skips", 30, 2, None, None, (0, 4), (0, 1), False, 2000),
    ("partial", 10, 4, 3, None, (0, 1), (0, 0), False, 2000),
    ("variable", 20, 3, None, None, (0, 2), (0, 2), True, 3000),
    ("variable-partial", 10, 4, None, 1, (0, 1), (1, 2), True, 2000),
]
HISTORIES = 300
HISTORY_LENGTH = 30
CPU = CpuBackend(few_hypotheses=0)  # the kernels check every kept candidate


@cache
def null_searches(case: str) -> tuple[np.ndarray, float, int, np.ndarray]:
    """(survivor counts, mean expected_false_survivors, searches called significant, each
    search's smallest p-value) over ``HISTORIES`` null histories, each with its window at a
    random place and its own candidate range (a variable skip's search grows with the window's
    start: the draws before it may sit at any gaps)."""
    _, modulus, window, min_matches, max_misses, offsets, skips, variable, count = next(
        c for c in NULL_CASES if c[0] == case
    )
    rng = np.random.default_rng([2024, sum(map(ord, case))])
    counts, significant, expected, smallest = [], 0, [], []
    for _ in range(HISTORIES):
        history = rng.integers(0, modulus, size=HISTORY_LENGTH).tolist()
        start = int(rng.integers(0, HISTORY_LENGTH - window + 1))
        lo = int(rng.integers(0, 2**32 - count))
        job = SieveJob(
            family="mt19937",
            modulus=modulus,
            window=tuple(history[start:][:window]),
            window_start=start,
            candidate_range=(lo, lo + count - 1),
            offsets=offsets,
            skips=skips,
            variable_skip=variable,
            min_matches=min_matches,
            max_misses=max_misses,
        )
        result = run_sieve(history, job, backend=CPU, top=None)
        assert result.stats.complete
        assert result.stats.survivor_count == len(result.survivors)
        best = min((s.p_value for s in result.survivors), default=1.0)
        # `significant` means exactly: some survivor has p < 1 %.
        assert result.stats.significant == (best < SIGNIFICANCE_LEVEL)
        counts.append(result.stats.survivor_count)
        significant += result.stats.significant
        smallest.append(best)
        expected.append(result.stats.expected_false_survivors)
    return np.array(counts), float(np.mean(expected)), significant, np.array(smallest)


@pytest.mark.parametrize("case", [c[0] for c in NULL_CASES if not c[7]])
def test_chance_survivors_average_the_expected_count(case):
    counts, expected, _, _ = null_searches(case)
    assert expected > 1  # chance survivors are common here: the test has power
    # Histories are independent, so the total count is a sum of HISTORIES i.i.d. counts and is
    # normal to a good approximation (CLT; each count is itself Poisson-like, a sum of many rare
    # indicators). Under the null E[count] = H·P[Binomial(W, 1/M) >= min_matches] exactly, by
    # linearity, whatever the dependence between hypotheses; that dependence (overlapping
    # offsets of one seed) only changes the variance, so we use the sample variance rather than
    # assume Poisson. |z| < 4 fails by chance with probability ~6e-5 (and the seeds are fixed).
    z = (counts.sum() - HISTORIES * expected) / math.sqrt(HISTORIES * counts.var(ddof=1))
    assert abs(z) < 4, (counts.mean(), expected, z)


@pytest.mark.parametrize("case", [c[0] for c in NULL_CASES if c[7]])
def test_variable_skip_chance_survivors_stay_under_the_bound(case):
    counts, bound, _, _ = null_searches(case)
    assert bound > 1
    # For variable skip, expected_false_survivors is the expected number of surviving search
    # paths, an upper bound on surviving hypotheses (a hypothesis counts once however many of
    # its paths pass): one-sided z-test at 4 sigma, as above.
    z = (counts.sum() - HISTORIES * bound) / math.sqrt(HISTORIES * counts.var(ddof=1))
    assert z < 4, (counts.mean(), bound, z)
    # The bound is not vacuous: by Bonferroni, P(survive) >= E[paths] - E[pairs of paths], and
    # a second passing path needs another of B calls to match at some later draw (~(W-1)·B/M,
    # at most 0.45 here), so the true mean is well above half the bound.
    assert counts.mean() > 0.5 * bound, (counts.mean(), bound)


def _upper_limit(searches: int, level: float) -> int:
    """The smallest count that ``Binomial(searches, level)`` reaches with probability < 1e-4."""
    limit = int(binom.isf(1e-4, searches, level)) + 1
    assert binom.sf(limit - 1, searches, level) < 1e-4
    return limit


def test_null_data_is_significant_at_most_one_percent_of_the_time():
    searches = significant = 0
    for case, *_ in NULL_CASES:
        counts, _expected, hits, _smallest = null_searches(case)
        searches += len(counts)
        significant += hits
    # Each search promises P(significant) <= 1 %. Reject only when the count is beyond the
    # binomial upper tail at 1e-4: P[Binomial(1500, 0.01) >= limit] < 1e-4.
    assert significant < _upper_limit(searches, SIGNIFICANCE_LEVEL), (significant, searches)


@pytest.mark.parametrize("level", [0.05, 0.2, 0.5])
def test_null_p_values_are_valid_at_every_level(level):
    # A search's smallest p-value is a valid p-value: under the null it falls below any level
    # at most that often (the Poisson form of a union bound over the search's hypotheses).
    smallest = np.concatenate([null_searches(case)[3] for case, *_ in NULL_CASES])
    below = int((smallest < level).sum())
    assert below < _upper_limit(len(smallest), level), (below, len(smallest))


def test_a_real_generator_is_significant_where_chance_is_not():
    # The same kind of search, on draws that a candidate in range really made: significant.
    history = seeded_history("mt19937", 123_456, HISTORY_LENGTH, modulus=10, offset=1)
    job = SieveJob(
        family="mt19937",
        modulus=10,
        window=tuple(history[4:7]),
        window_start=4,
        candidate_range=(122_000, 124_999),
        offsets=(0, 8),
    )
    result = run_sieve(history, job, backend=CPU, top=3)
    assert result.stats.expected_false_survivors == pytest.approx(3000 * 9 / 1000)
    assert result.stats.significant
    assert result.survivors[0].seed == 123_456
    assert result.survivors[0].p_value < 1e-10
    assert all(s.p_value > SIGNIFICANCE_LEVEL for s in result.survivors[1:])


def test_p_values_read_as_people_expect():
    from mimicry.search.statistics import p_value_text

    assert p_value_text(0.0123456) == "= 0.0123"
    assert p_value_text(1.34e-208) == "= 1.34e-208"
    assert p_value_text(5e-324) == "= 4.94e-324"  # the smallest subnormal is still a number
    assert p_value_text(0.0) == "< 1e-300"  # underflow: never "= 0"


def test_families_searched_together_price_every_familys_hypotheses():
    """A survivor of one family, judged among every family searched with it (the same window,
    modulus and candidates): its p-value is the one of the summed hypotheses, larger than its
    own, and a search of k families costs it about k times its own where that is small."""
    from mimicry.answers import SieveAnswer, SieveAnswers
    from mimicry.search.statistics import across_jobs_p_value

    history = seeded_history("mt19937", 4321, 6, modulus=1000)
    job = SieveJob(family="mt19937", window=tuple(history[:4]), candidate_range=(4000, 4999))
    result = run_sieve(history, job, backend=CpuBackend(), extension_limit=2)
    (best,) = [s for s in result.survivors if s.seed == 4321]
    others = [job.model_copy(update={"family": name}) for name in ("php5_mt", "python_random")]
    checked = job.window_size + best.checked_before + best.checked_after
    for jobs in ([job, others[0]], [job, *others]):
        together = across_jobs_p_value(jobs, best)
        hypotheses = sum(j.hypotheses for j in jobs)
        assert together == search_p_value(hypotheses, checked, best.evidence, 1000)
        assert together == pytest.approx(len(jobs) * best.p_value, rel=1e-6)
    # The answer of several families says so, and judges the best on the summed hypotheses.
    answers = [
        SieveAnswer(job=j, survivors=[best] if j is job else [], stats=result.stats)
        for j in [job, *others]
    ]
    together = SieveAnswers(answers=answers)
    assert together.best == best
    assert together.best_p_value_across_families == pytest.approx(3 * best.p_value, rel=1e-6)
    assert together.verdict.startswith("**Significant** across the families searched together")
