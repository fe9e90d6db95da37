"""The parts Steps 2.5–6 are built from, each against values worked out by hand or by the
reference generators: splits, tracks, features and labels, distributions and pools, and the
permutation null's p-value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpu_kernels.calls import Calls
from gpu_kernels.job import SieveJob, WindowMatch
from mimicry.binomial import clopper_pearson, p_value_above_chance
from mimicry.ranking.features import (
    FEATURE_NAMES,
    ScorerConfig,
    coarse_divisors,
    feature_matrix,
    labels,
    schema_hash,
)
from mimicry.ranking.forecast import (
    distribution,
    pool,
    score_span,
)
from mimicry.ranking.population import Hypothesis, Source, decoy_job, merge, relaxed_threshold
from mimicry.ranking.scoring import TrackBook, deduplicate
from mimicry.ranking.splits import (
    HistoryTooShort,
    held_out_count,
    split_history,
    walk_forward_cuts,
    walk_forward_folds,
)
from mimicry.ranking.training import NullComparison, shuffled_labels
from mimicry.search.hypothesis import NO_CALL, track
from tests.history import constant_positions, make_history, truth_and_decoys, variable_positions

# -- splits ------------------------------------------------------------------------------------


def test_the_newest_draws_are_held_out():
    assert held_out_count(100, 0.1, 20) == 20
    assert held_out_count(2000, 0.1, 20) == 200
    assert held_out_count(2001, 0.1, 20) == 201
    split = split_history(list(range(300)), 0.1, 20)
    assert split.training == tuple(range(270)) and split.held_out == tuple(range(270, 300))
    assert split.cut == 270


def test_a_history_too_short_to_hold_out_is_refused():
    with pytest.raises(HistoryTooShort) as error:
        split_history(list(range(50)), 0.1, 20)
    assert str(error.value) == (
        "the stream has 50 draws; holding out the newest 20 leaves 30 to train on, fewer than "
        "40: it needs at least 60 draws"
    )
    split_history(list(range(60)), 0.1, 20)  # the number it names is enough


def test_walk_forward_cuts_follow_time_and_never_overlap():
    cuts = walk_forward_cuts(training=1000, earliest=100, count=6, span=100)
    assert [(c.index, c.stop) for c in cuts] == [
        (400, 500),
        (500, 600),
        (600, 700),
        (700, 800),
        (800, 900),
        (900, 1000),
    ]
    folds = walk_forward_folds(cuts, min_train=2)
    assert len(folds) == 4
    for fold in folds:
        assert all(c.stop <= fold.valid.index for c in fold.train)  # labels end before it
    # Too few draws: shorter spans, never a cut before the windows end.
    short = walk_forward_cuts(training=160, earliest=100, count=6, span=100)
    assert short[0].index >= 100 and short[-1].stop == 160
    with pytest.raises(HistoryTooShort):
        walk_forward_cuts(training=100, earliest=100, count=3, span=10)


# -- tracks -------------------------------------------------------------------------------------


def _job(**update) -> SieveJob:
    base = {"family": "mt19937", "window": (0,), "candidate_range": (0, 9)}
    return SieveJob(**(base | update))


def test_a_constant_skip_track_is_the_generator_at_its_positions():
    seed, offset, skip, start = 7, 5, 2, 10
    positions = constant_positions(offset - start * (skip + 1), skip, 60)
    assert positions[start] == offset
    history = make_history("mt19937", "mod", 1000, seed, [max(p, 0) for p in positions])
    job = _job(
        window=tuple(history[start : start + 8]),
        window_start=start,
        offsets=(offset, offset),
        skips=(skip, skip),
    )
    match = WindowMatch(candidate=seed, first_call=offset, skip=skip, matches=8)
    values = track(job, match, Calls.for_candidate(job, seed), history, 60)
    for i, position in enumerate(positions):
        assert values[i] == (NO_CALL if position < 0 else history[i])


def test_a_variable_skip_track_walks_known_draws_then_keeps_its_commonest_gap():
    seed, gaps = 11, [1, 0, 1, 1, 2, 1, 1]
    positions = variable_positions(0, gaps + [1] * 30)
    history = make_history("glibc_rand", "mod", 1000, seed, positions)
    job = SieveJob(
        family="glibc_rand",
        window=tuple(history[:8]),
        candidate_range=(0, 99),
        skips=(0, 2),
        variable_skip=True,
    )
    match = WindowMatch(candidate=seed, first_call=0, skip=tuple(gaps), matches=8)
    calls = Calls.for_candidate(job, seed)
    known = history[:20]
    values = track(job, match, calls, known, 38)
    assert values[:20] == history[:20]  # the walk follows the known draws
    assert values[20:] == history[20:38]  # then the commonest gap (1) continues the stream


# -- features and labels --------------------------------------------------------------------------


def test_features_tell_the_truth_from_decoys_and_read_nothing_after_the_cut():
    history = make_history("mt19937", "mod", 1000, 4242, range(300))
    population = truth_and_decoys(history, 4242, [1, 2, 3])
    book = TrackBook(population, history, 300)
    config = ScorerConfig()
    cut = 200
    rows = feature_matrix(population, book.at(cut), history, cut, config, 1000)
    column = {name: rows[:, i] for i, name in enumerate(config.features)}
    assert column["match_rate"][0] == 1.0 and all(column["match_rate"][1:] < 0.05)
    assert column["longest_run"][0] == cut
    assert column["matches_after"][0] == min(64, cut - 8)
    assert column["window_matches"].tolist() == [8, 1, 1, 1]
    assert column["log_window_chance"][0] == pytest.approx(24.0)
    assert column["family"].tolist() == [column["family"][0]] * 4
    # Changing every draw from the cut on changes no feature.
    altered = history[:cut] + [(v + 1) % 1000 for v in history[cut:]]
    again = feature_matrix(population, book.at(cut), altered, cut, config, 1000)
    np.testing.assert_array_equal(rows, again)
    # The label is the hit rate after the cut.
    assert labels(book.at(cut), history, cut, 300)[0] == 1.0
    assert labels(book.at(cut), altered, cut, 300)[0] == 0.0


def test_agreement_counts_the_others_that_predict_the_same_value():
    history = make_history("mt19937", "mod", 1000, 9, range(100))
    population = truth_and_decoys(history, 9, [9, 9, 123])  # two copies of the truth, one decoy
    book = TrackBook(population, history, 100)
    config = ScorerConfig(features=("agreement",))
    rows = feature_matrix(population, book.at(50), history, 50, config, 1000)
    assert rows[:, 0].tolist()[:3] == [2 / 3, 2 / 3, 2 / 3]
    assert deduplicate(population, book, 50) == [0, 3]


def test_the_schema_hash_names_the_features():
    assert schema_hash(FEATURE_NAMES) == ScorerConfig().schema_hash
    assert schema_hash(("match_rate",)) != schema_hash(("match_rate", "agreement"))
    assert ScorerConfig(features=("agreement", "match_rate")).features == (
        "match_rate",
        "agreement",
    )
    with pytest.raises(ValueError, match="unknown"):
        ScorerConfig(features=("nope",))


def test_coarse_divisors():
    assert coarse_divisors(1000) == (10, 100)
    assert coarse_divisors(997) == (997, 997)  # a prime has no coarser modulus


# -- distributions, pools, scores -------------------------------------------------------------


def test_distribution_pool_and_scores():
    predicted = np.array([5, 5, 7, NO_CALL])
    weights = np.array([1.0, 1.0, 2.0, 5.0])
    probabilities = distribution(predicted, weights, 10, 0.1)
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities[5] == pytest.approx(0.01 + 0.9 * 0.5)
    assert probabilities[7] == pytest.approx(probabilities[5])
    assert pool(probabilities, 3) == [5, 7, 0]  # ties: the smaller value first
    uniform = distribution(predicted, np.zeros(4), 10, 0.1)
    np.testing.assert_array_equal(uniform, np.full(10, 0.1))

    tracks = np.array([[1, 2, 3, 4], [9, 9, 9, 9]])
    span = score_span(tracks, np.array([1.0, 0.0]), [1, 2, 3, 0], 0, 4, 10, 1, 0.2)
    assert (span.draws, span.hits) == (4, 3)
    assert span.log_loss_gain == pytest.approx(3 * math.log(0.82 * 10) + math.log(0.02 * 10))
    assert span.chance == 0.1
    assert span.p_value == pytest.approx(p_value_above_chance(3, 4, 0.1))


def test_binomial_tail_and_interval():
    assert p_value_above_chance(0, 100, 0.01) == 1.0
    assert p_value_above_chance(100, 100, 0.01) == pytest.approx(1e-200)
    low, high = clopper_pearson(50, 100)
    assert low == pytest.approx(0.3983, abs=1e-4) and high == pytest.approx(0.6017, abs=1e-4)


def test_the_permutation_p_value_counts_ties_against_the_model():
    assert NullComparison(real_gain=1.0, null_gains=[0.0] * 19, permutations=19).p_value == 0.05
    assert NullComparison(real_gain=0.0, null_gains=[0.0] * 19, permutations=19).p_value == 1.0
    tables_like = [type("T", (), {"y": np.arange(5.0)})()]
    shuffled = shuffled_labels(tables_like, np.random.default_rng(1))
    assert sorted(shuffled[0].tolist()) == [0, 1, 2, 3, 4]


# -- decoys ---------------------------------------------------------------------------------------


def test_decoys_come_from_a_relaxed_sieve_of_the_same_window():
    job = _job(window=tuple(range(8)), candidate_range=(0, 2**32 - 1))
    at_least_1 = 1 - 0.999**8
    at_least_2 = at_least_1 - 8 * 0.001 * 0.999**7
    # 2^20 seeds give 2^20 · P(>= 2 of 8) = 29.2 chance matches at 2 matches: enough for 20
    # decoys, all the sample needed; 100 decoys need the 1-match threshold, on fewer seeds.
    assert (1 << 20) * at_least_2 == pytest.approx(29.2, abs=0.1)
    assert relaxed_threshold(job, 1 << 20, 20) == (2, 1 << 20)
    assert relaxed_threshold(job, 1 << 20, 100) == (1, math.ceil(200 / at_least_1))
    relaxed = decoy_job(job, 1 << 20, 20)
    assert relaxed.min_matches == 2 and relaxed.window == job.window
    assert relaxed.candidate_range == (0, (1 << 20) - 1)
    truth = Hypothesis(
        job=job,
        match=WindowMatch(candidate=5, first_call=0, skip=0, matches=8),
        source=Source.SURVIVOR,
    )
    twin = Hypothesis(
        job=relaxed,
        match=WindowMatch(candidate=5, first_call=0, skip=0, matches=8),
        source=Source.DECOY,
    )
    assert merge([truth], [twin]) == [truth]


def test_the_sequential_null_stops_once_the_gate_cannot_pass_and_its_p_value_stays_valid():
    # 19 planned: the p-value can reach 0.05 only if no null does as well as the model.
    null = NullComparison(real_gain=1.0, null_gains=[0.0] * 7, permutations=19)
    assert not null.decided(0.05) and null.stopped_early
    null.null_gains.append(1.0)  # a tie counts against the model
    assert null.decided(0.05)
    # Over the 8 shuffles done: (1 + 1) / (1 + 8), never below Besag and Clifford's 1 / 8.
    assert null.p_value == pytest.approx(2 / 9) and null.p_value >= 1 / 8
    # A null run to the end is the ordinary permutation test.
    done = NullComparison(real_gain=1.0, null_gains=[0.0] * 18 + [2.0], permutations=19)
    assert not done.stopped_early and done.p_value == pytest.approx(2 / 20)
    # With 99 planned one null as good leaves the gate open (2 / 100 <= 0.05); six close it.
    wide = NullComparison(real_gain=1.0, null_gains=[1.0] * 4, permutations=99)
    assert not wide.decided(0.05)
    wide.null_gains.append(1.0)
    assert wide.decided(0.05)
