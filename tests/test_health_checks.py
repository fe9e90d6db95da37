"""Training health checks, table-driven: each check's ok, warning and critical, from diagnostics
shaped like the ones the four model types record."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import binom

from mimicry.ranking.health import (
    CALIBRATION_BETS,
    Finding,
    FitHealth,
    FitRecord,
    HealthThresholds,
    Severity,
    by_check,
    calibration,
    check_fit,
    constant_loss,
    judged_without_signal,
    poisson_binomial_at_most,
    promotion_refusal,
    sequential_calibration_p_values,
    worst,
)

#: Binary entropy of a mean label of 0.2: the constant predictor's log loss.
ENTROPY = constant_loss("log_loss", 0.2, 0.4)


def curve(train, valid=None, grad=None) -> tuple[dict[str, float], ...]:
    rows = []
    for step, loss in enumerate(train):
        row = {"step": step, "train_loss": loss}
        if valid is not None:
            row["valid_loss"] = valid[step]
        if grad is not None:
            row["grad_norm"] = grad[step]
        rows.append(row)
    return tuple(rows)


def fit(**changes) -> FitRecord:
    """A healthy MLP fit: the loss falls well below the constant predictor's, validation
    follows, gradients shrink smoothly, predictions spread, importance is shared."""
    steps = 50
    train = [ENTROPY * (1 - 0.5 * s / steps) for s in range(steps)]
    valid = [ENTROPY * (1 - 0.4 * s / steps) for s in range(steps)]
    grad = [1.0 / (1 + s) for s in range(steps)]
    base = {
        "model_type": "mlp",
        "loss": "log_loss",
        "diagnostics": curve(train, valid, grad),
        "label_mean": 0.2,
        "label_std": 0.4,
        "prediction_spread": 0.15,
        "importance": {"window_matches": 0.5, "matches_after": 0.3, "offset": 0.2},
    }
    return FitRecord(**(base | changes))


def falling(n=50, start=ENTROPY, to=0.5):
    return [start * (1 - (1 - to) * s / n) for s in range(n)]


CASES = [
    # (check, the fit's changes, expected severity)
    ("diverged", {}, Severity.OK),
    ("diverged", {"diagnostics": curve([0.5, math.nan, 0.4])}, Severity.CRITICAL),
    ("diverged", {"diagnostics": curve([0.3, 0.2], valid=[0.3, math.inf])}, Severity.CRITICAL),
    ("diverged", {"diagnostics": curve([0.3, 0.5, 0.9])}, Severity.CRITICAL),
    ("diverged", {"diagnostics": curve([0.3, 0.31])}, Severity.OK),  # within 5 %
    ("did_not_learn", {}, Severity.OK),
    ("did_not_learn", {"diagnostics": curve([ENTROPY * 1.1, ENTROPY])}, Severity.CRITICAL),
    ("did_not_learn", {"diagnostics": curve([ENTROPY, ENTROPY * 0.995])}, Severity.WARNING),
    ("did_not_learn", {"label_std": 0.0, "label_mean": 0.0, "loss": "rmse"}, Severity.OK),
    (
        "did_not_learn",  # CatBoost's RMSE against the labels' standard deviation
        {"loss": "rmse", "model_type": "catboost", "diagnostics": curve([0.41, 0.40])},
        Severity.CRITICAL,
    ),
    ("overfit", {}, Severity.OK),
    (
        "overfit",  # lowest at step 1 of 50, ending 20 % above it
        {"diagnostics": curve(falling(), [0.5, 0.4] + [0.48] * 48)},
        Severity.WARNING,
    ),
    (
        "overfit",  # ... ending 100 % above it
        {"diagnostics": curve(falling(), [0.5, 0.4] + [0.8] * 48)},
        Severity.CRITICAL,
    ),
    (
        "overfit",  # a late minimum is early stopping's business, not overfitting
        {"diagnostics": curve(falling(), [0.5] * 40 + [0.3] + [0.6] * 9)},
        Severity.OK,
    ),
    (
        "overfit",  # validation 4× the train loss at the end
        {"diagnostics": curve([0.4, 0.1], [0.41, 0.4])},
        Severity.WARNING,
    ),
    ("gradients", {}, Severity.OK),
    (
        "gradients",
        {"diagnostics": curve(falling(), falling(), [1.0] * 25 + [5e3] + [1.0] * 24)},
        Severity.CRITICAL,
    ),
    (
        "gradients",  # gradients gone while the loss sits at the constant predictor's
        {"diagnostics": curve([ENTROPY] * 50, [ENTROPY] * 50, [1.0] + [1e-7] * 49)},
        Severity.WARNING,
    ),
    (
        "gradients",  # small final gradients after learning: converged, not vanished
        {"diagnostics": curve(falling(), falling(), [1.0] + [1e-7] * 49)},
        Severity.OK,
    ),
    ("gradients", {"model_type": "xgboost", "diagnostics": curve(falling())}, Severity.OK),
    ("stopped_at_once", {}, Severity.OK),
    ("stopped_at_once", {"diagnostics": curve([0.5, 0.4])}, Severity.WARNING),
    ("constant_predictions", {}, Severity.OK),
    ("constant_predictions", {"prediction_spread": 0.0}, Severity.CRITICAL),
    ("constant_predictions", {"prediction_spread": math.nan}, Severity.CRITICAL),
    ("constant_predictions", {"prediction_spread": 5e-6}, Severity.WARNING),
    ("constant_predictions", {"prediction_spread": 0.0, "label_std": 0.0}, Severity.OK),
    ("importance_collapse", {}, Severity.OK),
    ("importance_collapse", {"importance": {"a": 0.97, "b": 0.03}}, Severity.WARNING),
    ("importance_collapse", {"importance": {"a": 1.0}}, Severity.OK),  # one feature only
]


@pytest.mark.parametrize(("check", "changes", "expected"), CASES)
def test_each_check(check, changes, expected):
    finding = by_check(check_fit(fit(**changes)))[check]
    assert finding.severity is expected, finding
    assert finding.sentence.endswith(".") and "\n" not in finding.sentence


def test_every_check_has_every_severity_it_can_give_in_the_table():
    seen = {(check, expected) for check, _, expected in CASES}
    for check in {check for check, _, _ in CASES}:
        assert (check, Severity.OK) in seen
        assert {(check, Severity.WARNING), (check, Severity.CRITICAL)} & seen, check


def test_a_healthy_fit_is_ok_throughout_and_says_what_it_saw():
    findings = check_fit(fit())
    assert worst(findings) is Severity.OK
    assert [f.check for f in findings] == [
        "diverged",
        "did_not_learn",
        "overfit",
        "gradients",
        "stopped_at_once",
        "constant_predictions",
        "importance_collapse",
    ]
    assert by_check(findings)["did_not_learn"].numbers["constant"] == pytest.approx(ENTROPY)


def test_the_thresholds_move_the_lines():
    # 20 % above the minimum: a warning by default, fine with a looser bound.
    record = fit(diagnostics=curve(falling(), [0.5, 0.4] + [0.48] * 48))
    assert by_check(check_fit(record))["overfit"].severity is Severity.WARNING
    loose = HealthThresholds(overfit_rise=0.3)
    assert by_check(check_fit(record, loose))["overfit"].severity is Severity.OK
    with pytest.raises(ValidationError):
        HealthThresholds(learn_margin=1.5)


def test_the_constant_predictor_losses():
    assert constant_loss("log_loss", 0.5, 0.5) == pytest.approx(math.log(2))
    assert constant_loss("rmse", 0.3, 0.25) == 0.25
    assert constant_loss("log_loss", 0.0, 0.0) < 1e-9  # all labels 0: nothing to learn


def test_the_poisson_binomial_tail_is_exact():
    rng = np.random.default_rng(7)
    promised = rng.uniform(0.05, 0.6, size=12)
    outcomes = rng.random((200_000, 12)) < promised
    simulated = np.mean(outcomes.sum(axis=1) <= 2)
    assert poisson_binomial_at_most(2, promised) == pytest.approx(simulated, abs=0.003)
    # Equal promises: the binomial's own tail.
    assert poisson_binomial_at_most(3, [0.5] * 10) == pytest.approx(176 / 1024)


def test_the_sequential_calibration_test_keeps_its_level_however_often_it_is_read():
    # 400 streams whose promises (0.5 to 0.95) are kept, read after every one of 400 draws: the
    # anytime-valid p-value falls below alpha on at most about alpha of them (Ville), where the
    # fixed-sample tail read every 10 draws fires on several times that.
    rng = np.random.default_rng(20)
    alpha, streams, draws = 0.01, 400, 400
    looks = np.arange(20, draws + 1, 10)
    sequential = fixed = 0
    for promise in rng.uniform(0.5, 0.95, streams):
        hits = rng.random(draws) < promise
        sequential += sequential_calibration_p_values([promise] * draws, hits)[-1] < alpha
        fixed += bool((binom.cdf(np.cumsum(hits)[looks - 1], looks, promise) < alpha).any())
    assert sequential <= 8  # alpha x 400 = 4, with room for chance
    assert fixed > 3 * max(sequential, 4)
    # It reads the draws in order, and a drift shows: kept at 0.6 where 0.9 was promised.
    drifting = rng.random(60) < 0.6
    path = sequential_calibration_p_values([0.9] * 60, drifting)
    assert path[-1] < alpha and len(path) == 60 and (np.diff(path) <= 0).all()
    # A miss at a promise of 0.9 after a hit: a bet of 80 % grows to (1 - 0.8)(1 + 7.2) = 1.64.
    first_two = sequential_calibration_p_values([0.9, 0.9], [True, False])
    wealth = np.mean([(1 - c) * (1 + 9 * c) for c in CALIBRATION_BETS])
    assert first_two.tolist() == pytest.approx([1.0, 1 / wealth])
    assert len(sequential_calibration_p_values([], [])) == 0
    with pytest.raises(ValueError, match="one promise per scored draw"):
        sequential_calibration_p_values([0.9], [True, False])


@pytest.mark.parametrize(
    ("hits", "promise", "expected"),
    [
        ([True] * 5 + [False] * 5, 0.9, Severity.OK),  # too few scored to judge
        ([True] * 36 + [False] * 4, 0.9, Severity.OK),  # what was promised
        ([True] * 29 + [False] * 11, 0.9, Severity.WARNING),  # p 0.0015
        ([True] * 20 + [False] * 20, 0.9, Severity.CRITICAL),
        ([True] * 40, 0.9, Severity.OK),  # more hits than promised is no broken promise
    ],
)
def test_calibration_is_a_test_not_a_threshold(hits, promise, expected):
    finding = calibration([promise] * len(hits), hits)
    assert finding.severity is expected, finding
    assert finding.numbers["scored"] == len(hits)


def test_calibration_needs_one_promise_per_draw():
    with pytest.raises(ValueError, match="one promise per scored draw"):
        calibration([0.5], [True, False])


def test_a_model_with_a_critical_finding_on_any_fit_is_not_promoted():
    ok = Finding(check="diverged", severity=Severity.OK, sentence="fine", numbers={})
    warning = Finding(check="overfit", severity=Severity.WARNING, sentence="rises", numbers={})
    critical = Finding(check="diverged", severity=Severity.CRITICAL, sentence="NaN", numbers={})
    assert promotion_refusal("mlp", [FitHealth.of("final", [ok, warning])]) is None
    assert promotion_refusal("mlp", []) is None
    # A fold's critical finding judges the selection's evidence, not the model that predicts.
    assert promotion_refusal("mlp", [FitHealth.of("fold 3", [critical])]) is None
    refusal = promotion_refusal(
        "mlp", [FitHealth.of("fold 3", [ok]), FitHealth.of("final", [warning, critical])]
    )
    assert refusal == (
        "not promoted: the mlp model's training health is critical (final fit: diverged); the "
        "stream keeps its earlier model and predictions"
    )
    # Without signal the pool is uniform whatever the model: promoted, the stream still scored.
    assert promotion_refusal("mlp", [FitHealth.of("final", [critical])], signal=False) is None


def test_a_run_not_promoted_points_at_the_prediction_that_stands():
    from types import SimpleNamespace

    from mimicry.render.health import not_promoted_sentence

    shown = not_promoted_sentence(
        "not promoted: the mlp model's training health is critical (final fit: diverged)",
        SimpleNamespace(position=80, stream="my stream\x1b[2J"),
        "r1",
    )
    assert shown.startswith("Not promoted: the mlp model's training health is critical")
    assert "Its pool for draw 80 is not the stream's prediction. Run r1's prediction" in shown
    # The stream's name quoted for the shell, its control characters made visible.
    assert "mimicry predict --stream 'my stream\\x1b[2J' shows it." in shown
    # A stream's first run: no earlier prediction to point at.
    first = not_promoted_sentence("not promoted: …", SimpleNamespace(position=80, stream="s"), None)
    assert "The stream has no promoted model yet, so no prediction" in first
    assert "(mimicry run DRAWS --stream s, or a WATCHER retrain)" in first  # DRAWS is required
    assert "mimicry predict" not in first


def test_a_model_that_learned_nothing_is_ok_on_a_run_without_signal():
    flat = Finding(
        check="constant_predictions", severity=Severity.CRITICAL, numbers={"spread": 1e-12},
        sentence="Its predictions differ by 1e-12 (standard deviation).",
    )  # fmt: skip
    broken = Finding(
        check="diverged", severity=Severity.CRITICAL, numbers={}, sentence="The loss is nan."
    )
    fits = [FitHealth.of("fold 1", [flat]), FitHealth.of("final", [flat, broken])]
    fold, final = judged_without_signal(fits)
    # Learning nothing from draws with nothing behind them is the honest fit, and says so ...
    assert fold.severity == Severity.OK and fold.findings[0].numbers == {"spread": 1e-12}
    assert fold.findings[0].sentence.endswith("Expected: the run has no signal, so there was "
                                              "nothing to learn.")  # fmt: skip
    # ... a training fault is still one.
    assert final.severity == Severity.CRITICAL
    assert [f.severity for f in final.findings] == [Severity.OK, Severity.CRITICAL]
