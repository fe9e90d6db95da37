"""Training health: whether a fitted model's own training went wrong (docs/design.md §20).

Pure functions over what a fit leaves behind (its per-step diagnostics, its predictions' spread,
its feature importance) and over what a stream's scored draws say about a promise. Each check
answers one :class:`Finding`: ``ok``, ``warning`` or ``critical``, the numbers it saw, and one
sentence. The bounds live in one object, :class:`HealthThresholds`, whose defaults are documented
field by field; nothing here reads a setting, a file or the store.

The losses differ by model type: the MLP, XGBoost and LightGBM report a log loss (binary cross-
entropy against labels in [0, 1]), CatBoost a root mean squared error. "Did not learn" compares
a fit with the constant predictor under the same loss: the binary entropy of the mean label for a
log loss, the labels' standard deviation for an RMSE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ("ok", "warning", "critical").index(self.value)


Loss = Literal["log_loss", "rmse"]

_Frozen = ConfigDict(frozen=True, extra="forbid")


class HealthThresholds(BaseModel):
    """Where each check draws its lines. The defaults are meant for mimicry's own tables (a few
    hundred to a few hundred thousand rows, labels that are hit rates)."""

    model_config = _Frozen
    #: diverged: a final train loss this much above the first (relative) is critical.
    divergence_rise: float = Field(0.05, ge=0)
    #: did not learn: a best train loss not at least this far below the constant predictor's
    #: (relative) is a warning; not below it at all is critical.
    learn_margin: float = Field(0.01, ge=0, lt=1)
    #: overfit: validation loss at its minimum in this first share of the steps ...
    overfit_early_share: float = Field(0.1, gt=0, le=1)
    #: ... and ending this much above that minimum (relative) is a warning; ...
    overfit_rise: float = Field(0.1, ge=0)
    #: ... this much above it, critical.
    overfit_critical_rise: float = Field(0.5, ge=0)
    #: overfit: a final validation loss this many times the final train loss is a warning.
    overfit_gap_ratio: float = Field(3.0, ge=1)
    #: exploding gradients (MLP): a gradient norm this many times the first step's, or the step
    #: before's, is critical.
    exploding_ratio: float = Field(1e3, gt=1)
    #: vanishing gradients (MLP): a final gradient norm below this share of the first, while the
    #: train loss is still above the constant predictor's, is a warning.
    vanishing_ratio: float = Field(1e-4, gt=0, lt=1)
    #: stopped at once: a fit that ran this many steps or fewer (early stopping at the first
    #: rounds) is a warning.
    stopped_steps: int = Field(2, ge=0)
    #: constant predictions: a standard deviation of the predictions below this is critical ...
    constant_spread: float = Field(1e-9, ge=0)
    #: ... and below this, a warning (the ranking rests on ties).
    narrow_spread: float = Field(1e-4, ge=0)
    #: importance collapse: one feature carrying at least this share is a warning.
    importance_share: float = Field(0.95, gt=0, le=1)
    #: calibration: fewer scored draws than this say nothing yet.
    calibration_min_draws: int = Field(20, ge=1)
    #: calibration: a one-sided p-value below this (fewer hits than promised) is a warning ...
    calibration_warning_p: float = Field(0.01, gt=0, lt=1)
    #: ... and below this, critical.
    calibration_critical_p: float = Field(0.001, gt=0, lt=1)


#: The bounds where no others are given.
DEFAULT_THRESHOLDS = HealthThresholds()


class Finding(BaseModel):
    """One check's answer for one fit (or one stream's promise)."""

    model_config = _Frozen
    check: str
    severity: Severity
    #: What the check saw: the numbers its sentence quotes.
    numbers: dict[str, float | int | None]
    sentence: str


class FitRecord(BaseModel):
    """What one fitted model (a fold's or the final one) leaves for its health checks."""

    model_config = _Frozen
    model_type: str
    loss: Loss
    #: One entry per epoch or boosting round: ``step``, ``train_loss``, and ``valid_loss`` and
    #: ``grad_norm`` where recorded (see :class:`~mimicry.ranking.models.base.RankingModel`).
    diagnostics: tuple[dict[str, float], ...]
    #: Mean and standard deviation of the training labels (the constant predictor's loss).
    label_mean: float
    label_std: float
    #: Standard deviation of the model's predictions on its training rows.
    prediction_spread: float
    importance: dict[str, float] = {}


def fit_record(model, X, y, importance: Mapping[str, float] | None = None) -> FitRecord:
    """What ``model`` (a fitted :class:`~mimicry.ranking.models.base.RankingModel`) leaves for
    its checks, with its training rows ``X`` and labels ``y``."""
    import numpy as np

    labels = np.clip(np.asarray(y, dtype=np.float64), 0, 1)
    predictions = np.asarray(model.predict(X), dtype=np.float64)
    return FitRecord(
        model_type=model.name,
        loss=model.loss,
        diagnostics=tuple(model.diagnostics),
        label_mean=float(labels.mean()) if len(labels) else 0.0,
        label_std=float(labels.std()) if len(labels) else 0.0,
        prediction_spread=float(predictions.std()) if len(predictions) else 0.0,
        importance=dict(importance or {}),
    )


class FitHealth(BaseModel):
    """The findings of one fit of a run's model: a walk-forward fold's, the monitored fit's
    (the learning curves the report shows) or the final one's."""

    model_config = _Frozen
    #: "fold 3" (its validation cut), "monitored" or "final".
    fit: str
    severity: Severity
    findings: tuple[Finding, ...]

    @classmethod
    def of(cls, fit: str, findings: Sequence[Finding]) -> FitHealth:
        return cls(fit=fit, severity=worst(findings), findings=tuple(findings))


def constant_loss(loss: Loss, label_mean: float, label_std: float) -> float:
    """The loss of predicting the mean label everywhere."""
    if loss == "rmse":
        return label_std
    m = min(max(label_mean, 1e-12), 1 - 1e-12)
    return -(m * math.log(m) + (1 - m) * math.log(1 - m))


def _series(record: FitRecord, key: str) -> list[float]:
    return [float(entry[key]) for entry in record.diagnostics if entry.get(key) is not None]


def _finding(check: str, severity: Severity, sentence: str, **numbers) -> Finding:
    return Finding(check=check, severity=severity, numbers=numbers, sentence=sentence)


def diverged(record: FitRecord, limits: HealthThresholds) -> Finding:
    train, valid = _series(record, "train_loss"), _series(record, "valid_loss")
    bad = sum(1 for value in train + valid if not math.isfinite(value))
    if bad:
        return _finding(
            "diverged", Severity.CRITICAL,
            f"{bad} of its losses are not finite numbers: the training blew up.",
            non_finite=bad,
        )  # fmt: skip
    if len(train) < 2:
        return _finding("diverged", Severity.OK, "Too few steps to diverge.", steps=len(train))
    first, final = train[0], train[-1]
    if final > first * (1 + limits.divergence_rise) and final > first:
        return _finding(
            "diverged", Severity.CRITICAL,
            f"Its train loss ended at {final:.4g}, above where it started ({first:.4g}).",
            first=first, final=final,
        )  # fmt: skip
    return _finding(
        "diverged", Severity.OK, f"Train loss went from {first:.4g} to {final:.4g}.",
        first=first, final=final,
    )  # fmt: skip


def did_not_learn(record: FitRecord, limits: HealthThresholds) -> Finding:
    train = [value for value in _series(record, "train_loss") if math.isfinite(value)]
    baseline = constant_loss(record.loss, record.label_mean, record.label_std)
    if not train:
        return _finding("did_not_learn", Severity.OK, "No train loss was recorded.", best=None)
    best = min(train)
    numbers = {"best": best, "constant": baseline}
    if baseline <= 0:  # every label equal: nothing to learn, and nothing wrong
        return _finding(
            "did_not_learn", Severity.OK, "Every label is the same: a constant is the answer.",
            **numbers,
        )  # fmt: skip
    if best >= baseline:
        return _finding(
            "did_not_learn", Severity.CRITICAL,
            f"Its best train loss ({best:.4g}) is no better than predicting the mean label "
            f"({baseline:.4g}).",
            **numbers,
        )  # fmt: skip
    if best > baseline * (1 - limits.learn_margin):
        return _finding(
            "did_not_learn", Severity.WARNING,
            f"Its best train loss ({best:.4g}) is within {limits.learn_margin:.0%} of predicting "
            f"the mean label ({baseline:.4g}).",
            **numbers,
        )  # fmt: skip
    return _finding(
        "did_not_learn", Severity.OK,
        f"Its best train loss ({best:.4g}) is below the mean label's ({baseline:.4g}).",
        **numbers,
    )  # fmt: skip


def overfit(record: FitRecord, limits: HealthThresholds) -> Finding:
    valid = _series(record, "valid_loss")
    train = _series(record, "train_loss")
    if len(valid) < 2 or not all(math.isfinite(v) for v in valid + train):
        return _finding("overfit", Severity.OK, "No validation curve to judge.", steps=len(valid))
    lowest = min(valid)
    at = valid.index(lowest)
    final = valid[-1]
    rise = (final - lowest) / lowest if lowest > 0 else 0.0
    gap = final / train[-1] if train and train[-1] > 0 else None
    numbers = {"best_valid": lowest, "best_step": at, "final_valid": final, "rise": rise}
    numbers["gap_ratio"] = gap
    early = at + 1 <= max(1, math.ceil(limits.overfit_early_share * len(valid)))
    if early and rise > limits.overfit_critical_rise:
        return _finding(
            "overfit", Severity.CRITICAL,
            f"Validation loss was lowest at step {at} of {len(valid)} and ended {rise:.0%} "
            "above it: the model learnt the training rows, not the generator.",
            **numbers,
        )  # fmt: skip
    if early and rise > limits.overfit_rise:
        return _finding(
            "overfit", Severity.WARNING,
            f"Validation loss was lowest at step {at} of {len(valid)} and ended {rise:.0%} "
            "above it.",
            **numbers,
        )  # fmt: skip
    if gap is not None and gap > limits.overfit_gap_ratio:
        return _finding(
            "overfit", Severity.WARNING,
            f"Its validation loss ends {gap:.1f} times its train loss.",
            **numbers,
        )  # fmt: skip
    return _finding(
        "overfit", Severity.OK,
        f"Validation loss was lowest at step {at} of {len(valid)} ({lowest:.4g}).",
        **numbers,
    )  # fmt: skip


def gradients(record: FitRecord, limits: HealthThresholds) -> Finding:
    norms = [value for value in _series(record, "grad_norm") if math.isfinite(value)]
    if len(norms) < 2:
        return _finding("gradients", Severity.OK, "No gradient norms were recorded.", steps=0)
    peak = max(norms)
    # A jump from one step to the next, or growth from the first step: converging gradients
    # shrink, so neither a median nor the last norm is the yardstick.
    jump = max(
        (after / before for before, after in pairwise(norms) if before > 0),
        default=0.0,
    )
    growth = peak / norms[0] if norms[0] > 0 else 0.0
    numbers = {"first": norms[0], "final": norms[-1], "peak": peak, "jump": jump}
    if max(jump, growth) > limits.exploding_ratio:
        return _finding(
            "gradients", Severity.CRITICAL,
            f"A gradient norm of {peak:.3g} against {norms[0]:.3g} at the first step "
            f"(a jump of {jump:.3g} times in one step): gradients exploded.",
            **numbers,
        )  # fmt: skip
    train = _series(record, "train_loss")
    baseline = constant_loss(record.loss, record.label_mean, record.label_std)
    stuck = bool(train) and train[-1] >= baseline * (1 - limits.learn_margin)
    if norms[0] > 0 and norms[-1] < norms[0] * limits.vanishing_ratio and stuck:
        return _finding(
            "gradients", Severity.WARNING,
            f"Gradients fell from {norms[0]:.3g} to {norms[-1]:.3g} while the loss stayed at "
            "the constant predictor's: they vanished.",
            **numbers,
        )  # fmt: skip
    return _finding(
        "gradients", Severity.OK,
        f"Gradient norms went from {norms[0]:.3g} to {norms[-1]:.3g}, at most {peak:.3g}.",
        **numbers,
    )  # fmt: skip


def stopped_at_once(record: FitRecord, limits: HealthThresholds) -> Finding:
    steps = len(record.diagnostics)
    if steps <= limits.stopped_steps:
        return _finding(
            "stopped_at_once", Severity.WARNING,
            f"Training stopped after {steps} step{'s' if steps != 1 else ''}.",
            steps=steps,
        )  # fmt: skip
    return _finding("stopped_at_once", Severity.OK, f"Training ran {steps} steps.", steps=steps)


def constant_predictions(record: FitRecord, limits: HealthThresholds) -> Finding:
    spread = record.prediction_spread
    if record.label_std == 0 and math.isfinite(spread):
        # A fold of chance draws where no hypothesis hits: a constant is the right answer.
        return _finding(
            "constant_predictions", Severity.OK,
            "Every label is the same: a constant prediction is the fit.", spread=spread,
        )  # fmt: skip
    if not math.isfinite(spread) or spread < limits.constant_spread:
        return _finding(
            "constant_predictions", Severity.CRITICAL,
            "It predicts the same value for every row: it ranks nothing.",
            spread=spread,
        )  # fmt: skip
    if spread < limits.narrow_spread:
        return _finding(
            "constant_predictions", Severity.WARNING,
            f"Its predictions differ by {spread:.2g} (standard deviation): a ranking of near-ties.",
            spread=spread,
        )  # fmt: skip
    return _finding(
        "constant_predictions", Severity.OK,
        f"Its predictions spread {spread:.3g} (standard deviation).", spread=spread,
    )  # fmt: skip


def importance_collapse(record: FitRecord, limits: HealthThresholds) -> Finding:
    if not record.importance:
        return _finding("importance_collapse", Severity.OK, "No importance was recorded.")
    name, share = max(record.importance.items(), key=lambda item: item[1])
    if len(record.importance) > 1 and share >= limits.importance_share:
        return _finding(
            "importance_collapse", Severity.WARNING,
            f"One feature, {name}, carries {share:.0%} of the importance.",
            share=share,
        )  # fmt: skip
    return _finding(
        "importance_collapse", Severity.OK,
        f"The most important feature, {name}, carries {share:.0%}.", share=share,
    )  # fmt: skip


#: Every check of a fit, in the order they are shown.
FIT_CHECKS = (
    diverged,
    did_not_learn,
    overfit,
    gradients,
    stopped_at_once,
    constant_predictions,
    importance_collapse,
)


#: The checks that say a model learned nothing. On a run without signal that is the honest fit,
#: not a fault of its training: the signal gate (its permutation null) found nothing to learn.
LEARNED_NOTHING = ("did_not_learn", "constant_predictions")


def judged_without_signal(fits: Sequence[FitHealth]) -> list[FitHealth]:
    """The fits of a run without signal: a finding that the model learned nothing is ok, and
    its sentence says why (docs/design.md §20); every other finding stands. The entropy world's
    winner was otherwise critical for predicting near-ties on draws with nothing behind them."""
    judged = []
    for fit in fits:
        findings = [
            finding.model_copy(
                update={
                    "severity": Severity.OK,
                    "sentence": f"{finding.sentence} Expected: the run has no signal, so there "
                    "was nothing to learn.",
                }
            )
            if finding.check in LEARNED_NOTHING and finding.severity != Severity.OK
            else finding
            for finding in fit.findings
        ]
        judged.append(FitHealth.of(fit.fit, findings))
    return judged


def check_fit(record: FitRecord, limits: HealthThresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    """Every check of one fitted model."""
    return [check(record, limits) for check in FIT_CHECKS]


def calibration(
    promised: Sequence[float], hits: Sequence[bool], limits: HealthThresholds = DEFAULT_THRESHOLDS
) -> Finding:
    """Whether the draws scored since a run keep its promise: hits against the promised
    ``P(hit)`` of each, a one-sided test for too few (the hits are a Poisson binomial: each draw
    its own promise), never a threshold on a handful."""
    n = len(hits)
    if n != len(promised):
        raise ValueError("one promise per scored draw")
    observed = sum(bool(hit) for hit in hits)
    expected = float(sum(promised))
    numbers = {"scored": n, "hits": observed, "expected": expected, "p_value": None}
    if n < limits.calibration_min_draws:
        return _finding(
            "calibration", Severity.OK,
            f"{n} scored draws are too few to judge the promise (it takes "
            f"{limits.calibration_min_draws}).",
            **numbers,
        )  # fmt: skip
    p_value = poisson_binomial_at_most(observed, promised)
    numbers["p_value"] = p_value
    if p_value < limits.calibration_critical_p:
        severity = Severity.CRITICAL
    elif p_value < limits.calibration_warning_p:
        severity = Severity.WARNING
    else:
        return _finding(
            "calibration", Severity.OK,
            f"{observed}/{n} hits where {expected:.1f} were promised (p {p_value:.2g}).",
            **numbers,
        )  # fmt: skip
    return _finding(
        "calibration", severity,
        f"{observed}/{n} hits where {expected:.1f} were promised (one-sided p {p_value:.2g}): "
        "the promise no longer holds.",
        **numbers,
    )  # fmt: skip


def poisson_binomial_at_most(k: int, probabilities: Sequence[float]) -> float:
    """``P[X <= k]`` for a sum of independent Bernoulli(``p_i``): exact, by dynamic programming
    over the draws (one vector operation a draw)."""
    import numpy as np

    distribution = np.ones(1)
    for p in np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0):
        step = np.zeros(len(distribution) + 1)
        step[:-1] += distribution * (1 - p)
        step[1:] += distribution * p
        distribution = step
    return float(min(1.0, distribution[: k + 1].sum()))


#: The calibration e-process's bets, each a fraction of the largest stake a draw allows against
#: "it hits at least as often as promised": a small bet wins on a slow drift, a large one on a
#: collapse, and their average is itself an e-process, so no drift size has to be chosen.
CALIBRATION_BETS = (0.05, 0.1, 0.2, 0.4, 0.8)


def sequential_calibration_p_values(promised: Sequence[float], hits: Sequence[bool]):
    """The anytime-valid p-value of "each scored draw hits at least as often as promised" after
    each draw, in the order they were scored (a numpy array, never rising): one over the highest
    value a betting e-process has reached (docs/design.md §20). Each bet stakes ``c / (1 - p)``
    against a hit at promise ``p``: a miss multiplies its wealth by ``1 + c p / (1 - p)``, a hit
    by ``1 - c``; under the promise the wealth is a nonnegative supermartingale, so by Ville's
    inequality it ever reaches ``1 / alpha`` with probability at most ``alpha``, however often
    and whenever it is read. A fixed-sample test read on every tick has no such bound (measured:
    a kept promise of 0.9 fired on 4 of 50 streams over 1,000 draws read every 10, alpha
    0.01)."""
    import numpy as np

    if len(hits) != len(promised):
        raise ValueError("one promise per scored draw")
    if not len(hits):
        return np.ones(0)
    # A promise of 1 would stake everything; 1 - 1e-9 stakes a billion-fold on it instead.
    p = np.clip(np.asarray(promised, dtype=np.float64), 0.0, 1.0 - 1e-9)
    shortfall = p - np.asarray(hits, dtype=np.float64)
    bets = np.asarray(CALIBRATION_BETS)[:, None]
    log_wealth = np.cumsum(np.log1p(bets / (1.0 - p) * shortfall), axis=1)
    # The average wealth of the bets, in logs (the wealth of a long run overflows a float).
    top = log_wealth.max(axis=0)
    mixture = top + np.log(np.exp(log_wealth - top).mean(axis=0))
    return np.minimum(1.0, np.exp(-np.maximum.accumulate(np.maximum(mixture, 0.0))))


def worst(findings: Sequence[Finding]) -> Severity:
    """The most severe finding's severity (``ok`` for none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)


def by_check(findings: Sequence[Finding]) -> Mapping[str, Finding]:
    return {finding.check: finding for finding in findings}


def promotion_refusal(
    model_type: str, fits: Sequence[FitHealth], signal: bool = True
) -> str | None:
    """Why a run's new model must not predict for its stream (docs/design.md §20): a critical
    finding on its final fit, the model that would predict, in a run with signal. None: it may
    be promoted. The stream then keeps its earlier model and predictions (fail closed: a model
    whose training went wrong predicts nothing). A walk-forward fold's critical finding is
    evidence about the selection, not about this model: an early fold trains on the fewest
    draws, and a model that could not learn from a handful of rows may still fit all of them
    well. A run without signal predicts chance whatever its model (Step 6's pool is uniform),
    and on draws with nothing to learn a model that learns nothing is the honest fit (CI saw an
    entropy stream's winner critical): it is promoted, so the stream keeps being scored."""
    if not signal:
        return None
    critical = [
        finding.check
        for fit in fits
        if fit.fit == "final"
        for finding in fit.findings
        if finding.severity == Severity.CRITICAL
    ]
    if not critical:
        return None
    return (
        f"not promoted: the {model_type} model's training health is critical "
        f"(final fit: {', '.join(critical)}); the stream keeps its earlier model and predictions"
    )
