"""Step 5, anti-overfit training: the winner, a permutation null, one look at the test split.

1. *Validation* (from Step 4): the winner's walk-forward folds, pooled: hits of its pools against
   the chance rate K/M (exact binomial test), mean log-likelihood gain, fold spread and the
   train/validation gap, all computed from the data.
2. *Permutation null*: the same walk-forward training with each cut's labels shuffled across
   hypotheses, ``permutations`` times. Shuffled labels keep every feature and every label value
   but break their link, so a model that only fits noise does as well on them.
3. *Signal gate*: the run has signal only when the real validation gain beats the null
   (``p_null <= NULL_LEVEL``), is positive, and the pooled validation hits beat chance
   (``p <= HIT_LEVEL``). Otherwise it is ``no_signal``, and Step 6 predicts uniformly and says so.
4. *Test*: the winner refitted on every training cut is evaluated once on the held-out draws:
   features at the first held-out index (reading the training draws only), pools and
   distributions for each held-out draw, hits against chance, gain. Reported, never tuned on.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from mimicry.ranking.attribution import HypothesisWhy, explain_top
from mimicry.ranking.features import ScorerConfig, categorical_columns, feature_matrix
from mimicry.ranking.forecast import PoolHits
from mimicry.ranking.health import (
    DEFAULT_THRESHOLDS,
    FitHealth,
    HealthThresholds,
    Severity,
    check_fit,
    fit_record,
    worst,
)
from mimicry.ranking.models import get_model_type
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.scoring import FeatureTable, TrackBook, scored_span
from mimicry.ranking.selection import Selection, stack, walk_forward_scores
from mimicry.ranking.splits import Cut
from mimicry.search.statistics import p_value_text

#: The stated significance of the signal gate.
NULL_LEVEL = 0.05
HIT_LEVEL = 0.001


class NullComparison(BaseModel):
    real_gain: float
    null_gains: list[float]
    permutations: int

    @property
    def p_value(self) -> float:
        """(1 + nulls at least as good) / (1 + permutations): exact for a permutation test."""
        better = sum(g >= self.real_gain for g in self.null_gains)
        return (1 + better) / (1 + self.permutations)


class SpanReport(PoolHits, BaseModel):
    """Pools and distributions on a run of draws, beside chance (as stored and shown)."""

    draws: int
    hits: int
    pool_size: int
    modulus: int
    gain_per_draw: float


class TrainingReport(BaseModel):
    model_type: str
    params: dict
    seed: int
    signal: bool
    #: Why the gate said what it said, in words.
    signal_reason: str
    validation: SpanReport
    validation_gap: float
    validation_spread: float
    null: NullComparison
    test: SpanReport
    diagnostics: list[dict]
    importance: dict[str, float]
    #: Each fit of the winner checked (docs/design.md §20): its walk-forward folds, the
    #: monitored fit and the final one.
    health: list[FitHealth] = []
    #: Why the test cut's first hypotheses rank where they do (the final model's attribution).
    attribution: list[HypothesisWhy] = []
    schema_hash: str
    data_fingerprint: str
    library_versions: dict[str, str]
    #: The test cut's ranking: hypothesis indices in the population, best first, with scores.
    ranking: list[tuple[int, float]]

    @property
    def health_severity(self) -> Severity:
        """The worst finding over every fit of the model."""
        return worst([finding for fit in self.health for finding in fit.findings])


def fingerprint(draws: Sequence[int]) -> str:
    return hashlib.sha256(",".join(map(str, draws)).encode()).hexdigest()[:16]


def shuffled_labels(tables: Sequence[FeatureTable], rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.permutation(t.y) for t in tables]


def signal_gate(real: float, null: NullComparison, validation: SpanReport) -> tuple[bool, str]:
    checks = [
        (
            null.p_value <= NULL_LEVEL,
            f"validation gain {real:.4f} nats/draw vs the permutation null: p = "
            f"{null.p_value:.3g} (needs <= {NULL_LEVEL})",
        ),
        (real > 0, f"gain over uniform {real:.4f} nats/draw (needs > 0)"),
        (
            validation.p_value <= HIT_LEVEL,
            f"validation pools hit {validation.hits}/{validation.draws} vs chance "
            f"{validation.chance:.3g}: p {p_value_text(validation.p_value)} (needs <= {HIT_LEVEL})",
        ),
    ]
    failed = [text for ok, text in checks if not ok]
    if failed:
        return False, "no signal: " + "; ".join(failed)
    return True, "signal: " + "; ".join(text for _, text in checks)


def train_and_test(
    population: Sequence[Hypothesis],
    selection: Selection,
    tables: Sequence[FeatureTable],
    config: ScorerConfig,
    history: Sequence[int],
    test_cut: int,
    modulus: int,
    pool_size: int,
    permutations: int,
    seed: int = 0,
    limits: HealthThresholds = DEFAULT_THRESHOLDS,
) -> tuple[TrainingReport, bytes]:
    """Steps 5's report and the fitted winner's bytes (for the model registry).

    ``history`` is the whole stream; only ``history[:test_cut]`` (the training draws) is read
    for features, validation and the null, ``history[test_cut:]`` only for the test labels.
    """
    training = history[:test_cut]
    book = TrackBook(population, training, tables[-1].cut.stop)
    winner = selection.result(selection.winner)
    real = winner.valid_mean
    validation = SpanReport(
        draws=sum(f.valid_draws for f in winner.folds),
        hits=sum(f.valid_hits for f in winner.folds),
        pool_size=pool_size,
        modulus=modulus,
        gain_per_draw=real,
    )
    rng = np.random.default_rng(seed)
    null_gains = []
    for _ in range(permutations):
        folds = walk_forward_scores(
            winner.model_type,
            winner.params,
            tables,
            book,
            training,
            config,
            modulus,
            pool_size,
            seed,
            labels=shuffled_labels(tables, rng),
        )
        null_gains.append(float(np.mean([f.valid_gain for f in folds])))
    null = NullComparison(real_gain=real, null_gains=null_gains, permutations=permutations)
    signal, reason = signal_gate(real, null, validation)

    cls = get_model_type(winner.model_type)
    categorical = categorical_columns(config.features)
    # Learning curves from the last walk-forward fold (a real validation set), then the model
    # that predicts: the same type and parameters fitted on every training cut.
    monitored_rows = stack(tables[:-1])
    monitored = cls(winner.params, seed).fit(
        *monitored_rows, categorical=categorical, X_valid=tables[-1].X, y_valid=tables[-1].y
    )
    rows = stack(tables)
    model = cls(winner.params, seed).fit(*rows, categorical=categorical)
    importance = model.feature_importance(config.features)
    health = [fold.health for fold in winner.folds if fold.health is not None]
    health += [
        FitHealth.of("monitored", check_fit(fit_record(monitored, *monitored_rows), limits)),
        FitHealth.of("final", check_fit(fit_record(model, *rows, importance), limits)),
    ]

    test_book = TrackBook(population, training, len(history))
    tracks = test_book.at(test_cut)
    test_rows = feature_matrix(population, tracks, training, test_cut, config, modulus)
    scores = model.predict(test_rows)
    span = scored_span(
        scores, tracks, history, Cut(test_cut, len(history)), config, modulus, pool_size
    )
    test = SpanReport(
        draws=span.draws,
        hits=span.hits,
        pool_size=pool_size,
        modulus=modulus,
        gain_per_draw=span.log_loss_gain / span.draws,
    )
    order = np.lexsort((np.arange(len(scores)), -scores))
    ranking = [(int(h), float(scores[h])) for h in order]
    attribution = explain_top(
        model, test_rows, order, [h.label() for h in population], scores, config.features
    )
    report = TrainingReport(
        model_type=winner.model_type,
        params=winner.params,
        seed=seed,
        signal=signal,
        signal_reason=reason,
        validation=validation,
        validation_gap=winner.gap,
        validation_spread=winner.valid_spread,
        null=null,
        test=test,
        diagnostics=monitored.diagnostics,
        importance=importance,
        health=health,
        attribution=attribution,
        schema_hash=config.schema_hash,
        data_fingerprint=fingerprint(training),
        library_versions=cls.library_versions(),
        ranking=ranking,
    )
    if not math.isfinite(report.test.gain_per_draw):
        raise ValueError("the test gain is not finite")
    return report, model.to_bytes()
