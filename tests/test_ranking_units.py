"""Steps 2.5–6 and the evaluation loop, one function at a time, on a small stream with a known
truth (one Mersenne Twister seed among decoy seeds) or on numbers worked out by hand.

Covered: the signal gate and its reasons; walk-forward scoring (time-ordered folds, labels of a
later cut never trained on, labels actually used); model selection (winner, its folds, its
studies); the permutation-null training report; the scorer meta-optimisation (never worse than
the defaults, resumed rather than repeated); ``predict_next`` without signal (uniform, P(hit) =
K/M) and with it (the true next draw first in the pool); the evaluation's ``rank_of``,
``score_prediction`` and ``rolling_metrics`` (hit rate, binomial p, consecutive misses).
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from mimicry.binomial import clopper_pearson, p_value_above_chance
from mimicry.loop.evaluation import rank_of, rolling_metrics, score_prediction
from mimicry.ranking.features import ScorerConfig, categorical_columns
from mimicry.ranking.forecast import pool
from mimicry.ranking.models import get_model_type
from mimicry.ranking.next_draw import Calibration
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.prediction import predict_next
from mimicry.ranking.scorer_search import optimize_scorer, validation_gain
from mimicry.ranking.scoring import TrackBook, score_population
from mimicry.ranking.selection import (
    Selection,
    TypeResult,
    folds_of,
    select_model,
    stack,
    walk_forward_scores,
)
from mimicry.ranking.splits import Cut, walk_forward_cuts
from mimicry.ranking.training import (
    HIT_LEVEL,
    NULL_LEVEL,
    NullComparison,
    SpanReport,
    signal_gate,
    train_and_test,
)
from mimicry.render.ranking import signal_gate_markdown
from mimicry.store.models import Evaluation, Prediction
from tests.history import make_history, truth_and_decoys

MODULUS = 1000
POOL = 10
SEED = 4242
WINDOW = 8
TRAINING = 300  # history indices [0, 300) train; [300, 340) are held out
TOTAL = 340
DECOY_SEEDS = tuple(range(1, 31))
#: LightGBM parameters small enough for a handful of rows (the suggested ranges need more data).
LIGHTGBM = {
    "rounds": 30,
    "num_leaves": 4,
    "learning_rate": 0.3,
    "min_data_in_leaf": 2,
    "bagging_fraction": 1.0,
    "lambda_l2": 0.001,
}


# -- fixtures: one real generator among decoys -------------------------------------------------


@pytest.fixture(scope="module")
def stream() -> list[int]:
    """TOTAL + 1 draws of mt19937 seed SEED mod 1000; the last is the "next" draw."""
    return make_history("mt19937", "mod", MODULUS, SEED, range(TOTAL + 1))


@pytest.fixture(scope="module")
def population(stream) -> list[Hypothesis]:
    """The truth (index 0, all window draws matched) and 30 decoy seeds (one match each)."""
    return truth_and_decoys(stream, SEED, DECOY_SEEDS, window=WINDOW)


@pytest.fixture(scope="module")
def cuts() -> list[Cut]:
    return walk_forward_cuts(training=TRAINING, earliest=WINDOW, count=4, span=40)


@pytest.fixture(scope="module")
def scored(population, stream, cuts):
    return score_population(population, stream[:TRAINING], cuts, ScorerConfig(), MODULUS)


def _scores(population, tables, draws, labels=None, params=LIGHTGBM):
    book = TrackBook(population, draws, tables[-1].cut.stop)
    return walk_forward_scores(
        "lightgbm", params, tables, book, draws, ScorerConfig(), MODULUS, POOL, 0, labels=labels
    )


# -- the signal gate -------------------------------------------------------------------------


def _validation(hits: int, draws: int = 100) -> SpanReport:
    return SpanReport(draws=draws, hits=hits, pool_size=POOL, modulus=MODULUS, gain_per_draw=0.0)


def test_signal_gate_passes_when_gain_beats_the_null_is_positive_and_hits_beat_chance():
    # 19 permutations, none as good: p = 1/20 = 0.05, exactly the level (<= passes).
    null = NullComparison(real_gain=0.5, null_gains=[0.0] * 19, permutations=19)
    assert null.p_value == NULL_LEVEL
    # 50 hits of 100 pools against a chance of 10/1000: far below HIT_LEVEL.
    signal, reason = signal_gate(0.5, null, _validation(50))
    assert signal is True
    assert reason.startswith("signal: ")
    assert "vs the permutation null: p = 0.05 (needs <= 0.05)" in reason
    assert "gain over uniform 0.5000 nats/draw (needs > 0)" in reason
    assert "validation pools hit 50/100 vs chance 0.01" in reason


def test_signal_gate_says_no_signal_when_the_null_does_as_well():
    # Every shuffled-label run reaches the real gain: p = (1 + 19) / 20 = 1.
    null = NullComparison(real_gain=0.5, null_gains=[0.6] * 19, permutations=19)
    signal, reason = signal_gate(0.5, null, _validation(50))
    assert signal is False
    # Only the failed check is named, nothing that passed.
    assert reason == (
        "no signal: validation gain 0.5000 nats/draw vs the permutation null: p = 1 (needs <= 0.05)"
    )


def test_signal_gate_cannot_say_signal_with_fewer_than_nineteen_permutations():
    # With 9 permutations the smallest possible p is 1/10 > 0.05: never signal.
    null = NullComparison(real_gain=5.0, null_gains=[-1.0] * 9, permutations=9)
    assert null.p_value == pytest.approx(0.1)
    assert signal_gate(5.0, null, _validation(100))[0] is False


def test_signal_gate_refuses_a_gain_below_uniform_and_hits_at_chance():
    null = NullComparison(real_gain=-0.1, null_gains=[-1.0] * 19, permutations=19)
    signal, reason = signal_gate(-0.1, null, _validation(50))
    assert signal is False
    assert reason == "no signal: gain over uniform -0.1000 nats/draw (needs > 0)"

    # One hit in 100 pools is exactly the chance rate: P(X >= 1) = 1 - 0.99^100.
    at_chance = _validation(1)
    assert at_chance.p_value == pytest.approx(1 - 0.99**100)
    assert at_chance.p_value > HIT_LEVEL
    null = NullComparison(real_gain=0.5, null_gains=[0.0] * 19, permutations=19)
    signal, reason = signal_gate(0.5, null, at_chance)
    assert signal is False
    assert reason.startswith("no signal: validation pools hit 1/100 vs chance 0.01")
    assert "permutation null" not in reason and "gain over uniform" not in reason


# -- walk-forward scoring ----------------------------------------------------------------------


def test_walk_forward_folds_train_only_on_cuts_whose_labels_end_before_validation(cuts, scored):
    assert [(c.index, c.stop) for c in cuts] == [(140, 180), (180, 220), (220, 260), (260, 300)]
    folds = folds_of(scored.tables)
    # min_train=2: the first two cuts only ever train.
    assert [f.valid.index for f in folds] == [220, 260]
    assert [[c.index for c in f.train] for f in folds] == [[140, 180], [140, 180, 220]]
    for fold in folds:
        assert all(c.stop <= fold.valid.index for c in fold.train)


def test_walk_forward_scores_rank_the_truth_first_on_every_validation_draw(stream, scored):
    draws = stream[:TRAINING]
    scores = _scores(scored.population, scored.tables, draws)
    assert [s.valid_cut for s in scores] == [220, 260]
    for s in scores:
        # The truth predicts every draw and alone has a label far above 0 (a decoy hits by
        # chance, 1 in 1000), so its value leads the distribution: every pool hits.
        assert (s.valid_hits, s.valid_draws) == (40, 40)
        # Gain per draw: log(M · p(actual)) with p(actual) at most 1, and far above uniform.
        assert 3.0 < s.valid_gain <= math.log(MODULUS)
        assert 3.0 < s.train_gain <= math.log(MODULUS)


def test_walk_forward_scores_never_train_on_the_validation_cut_labels(stream, scored):
    draws = stream[:TRAINING]
    tables = scored.tables
    real = _scores(scored.population, tables, draws)
    # The last cut only validates: any labels there change nothing.
    garbage = [t.y for t in tables[:-1]] + [1.0 - tables[-1].y]
    assert _scores(scored.population, tables, draws, labels=garbage) == real
    # Labels the folds do train on matter: inverted, the truth loses its lead and pools miss.
    inverted = [1.0 - t.y for t in tables]
    flipped = _scores(scored.population, tables, draws, labels=inverted)
    for before, after in zip(real, flipped, strict=True):
        assert after.valid_cut == before.valid_cut
        assert after.valid_gain < before.valid_gain
        assert after.valid_hits < before.valid_hits


# -- model selection ----------------------------------------------------------------------------


def test_select_model_picks_the_best_validated_type_among_those_given(stream, scored, tmp_path):
    draws = stream[:TRAINING]
    types = ("lightgbm", "xgboost")
    storage = f"sqlite:///{tmp_path}/study.db"
    selection = select_model(
        scored.population,
        scored.tables,
        draws,
        ScorerConfig(),
        MODULUS,
        POOL,
        trials_per_type=1,
        storage_url=storage,
        seed=0,
        model_types=types,
    )
    assert selection.winner in types
    assert [r.model_type for r in selection.results] == list(types)
    assert all(r.trials == 1 for r in selection.results)
    winner = selection.result(selection.winner)
    assert selection.params == winner.params
    assert all(winner.valid_mean >= r.valid_mean for r in selection.results)
    # Each type's folds are the walk-forward folds of its chosen parameters, as recomputed.
    book = TrackBook(scored.population, draws, scored.tables[-1].cut.stop)
    for result in selection.results:
        assert [f.valid_cut for f in result.folds] == [220, 260]
        again = walk_forward_scores(
            result.model_type,
            result.params,
            scored.tables,
            book,
            draws,
            ScorerConfig(),
            MODULUS,
            POOL,
            0,
        )
        assert [f.valid_gain for f in again] == pytest.approx([f.valid_gain for f in result.folds])
        assert result.gap == pytest.approx(result.train_mean - result.valid_mean)
    # Run again on the same store: the studies resume, no trial is added.
    again = select_model(
        scored.population,
        scored.tables,
        draws,
        ScorerConfig(),
        MODULUS,
        POOL,
        trials_per_type=1,
        storage_url=storage,
        seed=0,
        model_types=types,
    )
    assert again == selection


def test_select_model_refuses_fewer_than_three_cuts(stream, scored, tmp_path):
    draws = stream[:TRAINING]
    with pytest.raises(ValueError, match="at least three walk-forward cuts"):
        select_model(
            scored.population,
            scored.tables[:2],
            draws,
            ScorerConfig(),
            MODULUS,
            POOL,
            trials_per_type=1,
            storage_url=f"sqlite:///{tmp_path}/study.db",
            model_types=("lightgbm",),
        )


# -- training: the permutation null and the test split --------------------------------------------


def trained_on(folds, stream, scored):
    """Step 5 for a LightGBM selection with ``folds``: its report and model bytes."""
    selection = Selection(
        winner="lightgbm",
        params=LIGHTGBM,
        results=[TypeResult(model_type="lightgbm", params=LIGHTGBM, folds=folds, trials=1)],
    )
    return train_and_test(
        scored.population,
        selection,
        scored.tables,
        ScorerConfig(),
        stream[:TOTAL],
        TRAINING,
        MODULUS,
        POOL,
        permutations=19,
        seed=0,
    )


def test_training_finds_signal_beyond_the_null_and_hits_every_held_out_draw(stream, scored):
    folds = _scores(scored.population, scored.tables, stream[:TRAINING])
    report, artifact = trained_on(folds, stream, scored)
    assert report.null.permutations == 19 and len(report.null.null_gains) == 19
    assert report.null.real_gain == pytest.approx(np.mean([f.valid_gain for f in folds]))
    # Shuffled labels move the truth's 1.0 onto decoys: no null reaches the real gain.
    assert max(report.null.null_gains) < report.null.real_gain
    assert report.null.p_value == pytest.approx(1 / 20)
    assert report.signal is True and report.signal_reason.startswith("signal: ")
    assert (report.validation.hits, report.validation.draws) == (80, 80)
    assert (report.test.draws, report.test.hits) == (TOTAL - TRAINING, TOTAL - TRAINING)
    assert report.ranking[0][0] == 0  # the truth, index 0, ranks first on the test cut
    assert sorted(h for h, _ in report.ranking) == list(range(len(scored.population)))
    assert artifact


def test_a_model_no_better_than_its_first_shuffle_stops_the_null_there(stream, scored):
    """The gate is decided by the first null as good as the model: one refit, not 19."""
    # The same folds, claimed far worse than uniform: any shuffle does at least as well.
    folds = _scores(scored.population, scored.tables, stream[:TRAINING])
    worse = [fold.model_copy(update={"valid_gain": -1e6}) for fold in folds]
    report, _ = trained_on(worse, stream, scored)
    assert len(report.null.null_gains) == 1 and report.null.stopped_early
    assert report.null.p_value == 1.0 and report.signal is False
    assert "p = 1 (needs <= 0.05)" in report.signal_reason
    assert "1 of 19 label shuffles (stopped: 1 did as well" in signal_gate_markdown(report)


# -- the scorer meta-optimisation --------------------------------------------------------------


def test_scorer_optimisation_never_does_worse_than_the_default_config(
    population, stream, cuts, tmp_path
):
    draws = stream[:TRAINING]
    book = TrackBook(population, draws, cuts[-1].stop)
    default = validation_gain(ScorerConfig(), population, book, draws, cuts, MODULUS, POOL)
    # The truth predicts every validation draw: a real gain, at most log M per draw.
    assert 0 < default <= math.log(MODULUS)
    storage = f"sqlite:///{tmp_path}/study.db"
    choice = optimize_scorer(population, draws, cuts, MODULUS, POOL, trials=2, storage_url=storage)
    assert choice.trials == 2
    assert choice.validation_gain >= default
    # That holds by construction: trial 0 of the study is the default configuration.
    study = optuna.load_study(study_name=choice.study_name, storage=storage)
    first = study.trials[0]
    assert ScorerConfig.model_validate(first.user_attrs["config"]) == ScorerConfig()
    assert first.value == pytest.approx(default)
    # The reported gain is the chosen config's own, recomputed.
    assert validation_gain(
        choice.config, population, book, draws, cuts, MODULUS, POOL
    ) == pytest.approx(choice.validation_gain)
    # Asked again with the same inputs, the study resumes: same answer, no new trial.
    again = optimize_scorer(population, draws, cuts, MODULUS, POOL, trials=2, storage_url=storage)
    assert again == choice


def test_scorer_optimisation_refuses_a_single_cut(population, stream, cuts, tmp_path):
    with pytest.raises(ValueError, match="at least two walk-forward cuts"):
        optimize_scorer(
            population,
            stream[:TRAINING],
            cuts[-1:],
            MODULUS,
            POOL,
            trials=1,
            storage_url=f"sqlite:///{tmp_path}/study.db",
        )


# -- predict_next ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["calibrated no signal", "signal but no model", "signal but no population"]
)
def test_predict_next_without_signal_is_uniform_at_chance(case, population, stream):
    history = stream[:TOTAL]
    signal = case != "calibrated no signal"
    calibration = Calibration(signal=signal, test_hits=3, test_draws=40, reason="p = 0.4")
    chosen = [] if case == "signal but no population" else population
    # No model in every case: a model would be needed only with signal and a population.
    prediction = predict_next(
        "s", "run-1", chosen, None, ScorerConfig(), history, MODULUS, POOL, calibration
    )
    assert prediction.signal == "no_signal"
    assert prediction.position == TOTAL
    assert prediction.distribution == [1 / MODULUS] * MODULUS
    assert prediction.p_hit == POOL / MODULUS == prediction.chance
    assert prediction.p_hit_interval == (0.01, 0.01)
    assert prediction.pool == list(range(POOL))
    assert prediction.top_hypotheses == []
    assert "No signal (p = 0.4). These are chance-level numbers" in prediction.statement


def test_predict_next_with_signal_puts_the_true_next_draw_first(population, stream, scored):
    config = ScorerConfig()
    model = get_model_type("lightgbm")(LIGHTGBM, 0).fit(
        *stack(scored.tables), categorical=categorical_columns(config.features)
    )
    history = stream[:TOTAL]
    actual = stream[TOTAL]
    calibration = Calibration(signal=True, test_hits=36, test_draws=40, reason="p < 1e-50")
    prediction = predict_next(
        "s", "run-1", population, model, config, history, MODULUS, POOL, calibration, top=3
    )
    assert prediction.signal == "signal"
    assert prediction.position == TOTAL
    assert len(prediction.pool) == POOL and len(set(prediction.pool)) == POOL
    assert prediction.pool[0] == actual
    probabilities = np.asarray(prediction.distribution)
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities.argmax() == actual
    assert prediction.pool == pool(probabilities, POOL)
    # Every value keeps at least the uniform share.
    assert probabilities.min() >= config.uniform_mix / MODULUS - 1e-15
    # P(hit) is the held-out test's rate, with its exact interval, beside chance.
    assert prediction.p_hit == 36 / 40
    assert prediction.p_hit_interval == pytest.approx(clopper_pearson(36, 40))
    assert prediction.chance == POOL / MODULUS
    assert len(prediction.top_hypotheses) == 3
    best = prediction.top_hypotheses[0]
    assert best["predicts"] == actual
    assert best["hypothesis"] == f"mt19937 seed {SEED} offset 0 skip 0"
    assert [h["score"] for h in prediction.top_hypotheses] == sorted(
        (h["score"] for h in prediction.top_hypotheses), reverse=True
    )


# -- evaluation: rank, score, rolling metrics ---------------------------------------------------


def test_rank_of_orders_values_as_pools_do():
    distribution = [0.1, 0.3, 0.1, 0.4, 0.1]
    assert rank_of(distribution, 3) == 1  # the most probable value
    assert rank_of(distribution, 1) == 2
    # Ties: the smaller value first, so 0, 2, 4 rank 3, 4, 5.
    assert [rank_of(distribution, v) for v in (0, 2, 4)] == [3, 4, 5]
    # The rank is the value's place in a pool of all M values.
    rng = np.random.default_rng(7)
    tied = rng.integers(1, 5, 50).astype(float)
    tied /= tied.sum()
    order = pool(tied, 50)
    assert [rank_of(tied.tolist(), v) for v in range(50)] == [order.index(v) + 1 for v in range(50)]


def _evaluation(hit: bool, gain: float) -> Evaluation:
    return Evaluation(hit=hit, log_loss_gain=gain)


def test_rolling_metrics_count_misses_since_the_last_hit():
    previous = [_evaluation(True, 1.0), _evaluation(False, -0.5), _evaluation(False, -0.25)]
    rolling = rolling_metrics(previous, False, -0.25, 0.1)
    assert rolling["consecutive_misses"] == 3
    assert rolling["evaluated"] == 4
    assert rolling["hits"] == 1
    assert rolling["hit_rate"] == 0.25
    assert rolling["chance"] == 0.1
    # P(Binomial(4, 0.1) >= 1) = 1 - 0.9^4.
    assert rolling["binomial_p"] == pytest.approx(1 - 0.9**4)
    assert rolling["cumulative_log_loss_gain"] == pytest.approx(0.0)

    after_hit = rolling_metrics(previous, True, 2.0, 0.1)
    assert after_hit["consecutive_misses"] == 0
    assert (after_hit["hits"], after_hit["hit_rate"]) == (2, 0.5)
    # P(X >= 2) = 1 - 0.9^4 - 4 · 0.1 · 0.9^3.
    assert after_hit["binomial_p"] == pytest.approx(1 - 0.9**4 - 4 * 0.1 * 0.9**3)
    assert after_hit["cumulative_log_loss_gain"] == pytest.approx(2.25)


def test_rolling_metrics_of_a_first_evaluation():
    miss = rolling_metrics([], False, -1.0, 0.2)
    assert (miss["evaluated"], miss["hits"], miss["hit_rate"]) == (1, 0, 0.0)
    assert miss["consecutive_misses"] == 1
    assert miss["binomial_p"] == 1.0  # P(X >= 0)
    hit = rolling_metrics([], True, 1.0, 0.2)
    assert (hit["hits"], hit["hit_rate"], hit["consecutive_misses"]) == (1, 1.0, 0)
    assert hit["binomial_p"] == pytest.approx(0.2)


def test_score_prediction_records_hit_rank_gain_and_the_rolling_metrics():
    prediction = Prediction(
        position=7, pool=[3, 1], distribution=[0.1, 0.3, 0.1, 0.4, 0.1], chance=0.4
    )
    previous = [_evaluation(False, -0.5)]
    scored = score_prediction(prediction, 1, previous)
    assert (scored.position, scored.actual, scored.hit, scored.rank) == (7, 1, True, 2)
    assert scored.log_loss_gain == pytest.approx(math.log(0.3 * 5))
    assert scored.rolling["consecutive_misses"] == 0
    assert scored.rolling["hits"] == 1 and scored.rolling["evaluated"] == 2
    assert scored.rolling["cumulative_log_loss_gain"] == pytest.approx(math.log(1.5) - 0.5)

    missed = score_prediction(prediction, 4, previous)
    assert (missed.hit, missed.rank) == (False, 5)
    assert missed.log_loss_gain == pytest.approx(math.log(0.5))
    assert missed.rolling["consecutive_misses"] == 2
    assert missed.rolling["binomial_p"] == pytest.approx(p_value_above_chance(0, 2, 0.4))
