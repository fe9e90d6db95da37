"""Step 5, anti-overfit training: the winner, a permutation null, one look at the test split.

1. *Validation* (from Step 4): the winner's walk-forward folds, pooled: hits of its pools against
   the chance rate K/M (exact binomial test), mean log-likelihood gain, fold spread and the
   train/validation gap, all computed from the data.
2. *Permutation null*: the same walk-forward training with each cut's labels shuffled across
   hypotheses, up to ``permutations`` times. Shuffled labels keep every feature and every label
   value but break their link, so a model that only fits noise does as well on them. The shuffles
   stop once the gate can no longer pass (Besag and Clifford's sequential test: a null as good
   as the model in the first shuffles decides "no signal" without the rest); the p-value over
   the shuffles done stays valid (docs/design.md §15).
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
from typing import NamedTuple

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
    judged_without_signal,
    worst,
)
from mimicry.ranking.models import get_model_type
from mimicry.ranking.models.base import RankingModel
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.scoring import FeatureTable, TrackBook, scored_span
from mimicry.ranking.selection import Selection, TypeResult, stack, walk_forward_scores
from mimicry.ranking.splits import Cut
from mimicry.search.statistics import p_value_text

#: The stated significance of the signal gate.
NULL_LEVEL = 0.05
HIT_LEVEL = 0.001


class NullComparison(BaseModel):
    real_gain: float
    #: The gains of the shuffles done: all ``permutations`` of them unless the test stopped.
    null_gains: list[float]
    #: Shuffles planned.
    permutations: int

    @property
    def at_least_as_good(self) -> int:
        return sum(g >= self.real_gain for g in self.null_gains)

    @property
    def p_value(self) -> float:
        """(1 + nulls at least as good) / (1 + shuffles done): exact for a permutation test run
        to the end, and no smaller than Besag and Clifford's sequential p-value (nulls at least
        as good / shuffles done) when it stopped early, so valid either way."""
        return (1 + self.at_least_as_good) / (1 + len(self.null_gains))

    @property
    def stopped_early(self) -> bool:
        return len(self.null_gains) < self.permutations

    def decided(self, level: float) -> bool:
        """True once the p-value cannot reach ``level`` even if every shuffle left were worse
        than the model: the rest cannot change the gate."""
        return (1 + self.at_least_as_good) / (1 + self.permutations) > level


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


class AlternativeReport(BaseModel):
    """The best model of a type that did not win (docs/design.md §20, ``save_all_models``):
    fitted like the winner on every training cut, checked, and looked at once on the held-out
    draws, so a person can compare it with the winner or roll back to it. It predicts nothing
    unless chosen; the signal gate (the permutation null) is the winner's alone."""

    model_type: str
    params: dict
    seed: int
    validation: SpanReport
    validation_gap: float
    validation_spread: float
    test: SpanReport
    importance: dict[str, float]
    health: list[FitHealth]
    schema_hash: str
    data_fingerprint: str
    library_versions: dict[str, str]

    @property
    def health_severity(self) -> Severity:
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


class FinalFit(NamedTuple):
    """A type's parameters fitted on every training cut: the model that predicts."""

    model: RankingModel
    importance: dict[str, float]
    health: FitHealth


def pooled_validation(result: TypeResult, pool_size: int, modulus: int) -> SpanReport:
    """A type's walk-forward folds pooled: its validation hits and mean gain."""
    return SpanReport(
        draws=sum(f.valid_draws for f in result.folds),
        hits=sum(f.valid_hits for f in result.folds),
        pool_size=pool_size,
        modulus=modulus,
        gain_per_draw=result.valid_mean,
    )


def fit_final(
    result: TypeResult,
    tables: Sequence[FeatureTable],
    config: ScorerConfig,
    seed: int,
    limits: HealthThresholds,
) -> FinalFit:
    rows = stack(tables)
    model = get_model_type(result.model_type)(result.params, seed).fit(
        *rows, categorical=categorical_columns(config.features)
    )
    importance = model.feature_importance(config.features)
    health = FitHealth.of("final", check_fit(fit_record(model, *rows, importance), limits))
    return FinalFit(model, importance, health)


def held_out_test(
    model: RankingModel,
    population: Sequence[Hypothesis],
    history: Sequence[int],
    test_cut: int,
    config: ScorerConfig,
    modulus: int,
    pool_size: int,
) -> tuple[SpanReport, np.ndarray, np.ndarray]:
    """The one look at the held-out draws: features at ``test_cut`` (reading the training
    draws only), the pools' hits and gain; also the scores and the feature rows."""
    training = history[:test_cut]
    tracks = TrackBook(population, training, len(history)).at(test_cut)
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
    return test, scores, test_rows


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
    validation = pooled_validation(winner, pool_size, modulus)
    rng = np.random.default_rng(seed)
    null = NullComparison(real_gain=real, null_gains=[], permutations=permutations)
    while null.stopped_early and not null.decided(NULL_LEVEL):
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
        null.null_gains.append(float(np.mean([f.valid_gain for f in folds])))
    signal, reason = signal_gate(real, null, validation)

    cls = get_model_type(winner.model_type)
    # Learning curves from the last walk-forward fold (a real validation set), then the model
    # that predicts: the same type and parameters fitted on every training cut.
    monitored_rows = stack(tables[:-1])
    monitored = cls(winner.params, seed).fit(
        *monitored_rows,
        categorical=categorical_columns(config.features),
        X_valid=tables[-1].X,
        y_valid=tables[-1].y,
    )
    final = fit_final(winner, tables, config, seed, limits)
    health = [fold.health for fold in winner.folds if fold.health is not None]
    health += [
        FitHealth.of("monitored", check_fit(fit_record(monitored, *monitored_rows), limits)),
        final.health,
    ]
    if not signal:
        health = judged_without_signal(health)
    test, scores, test_rows = held_out_test(
        final.model, population, history, test_cut, config, modulus, pool_size
    )
    model, importance = final.model, final.importance
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


def train_alternatives(
    population: Sequence[Hypothesis],
    selection: Selection,
    tables: Sequence[FeatureTable],
    config: ScorerConfig,
    history: Sequence[int],
    test_cut: int,
    modulus: int,
    pool_size: int,
    seed: int = 0,
    limits: HealthThresholds = DEFAULT_THRESHOLDS,
    signal: bool = True,
) -> list[tuple[AlternativeReport, bytes]]:
    """Every model type's best but the winner's, fitted on every training cut: its report and
    bytes (for the model registry), in the selection's order; on a run without ``signal`` a
    model that learned nothing is judged as the winner is (:func:`judged_without_signal`)."""
    alternatives = []
    for result in selection.results:
        if result.model_type == selection.winner:
            continue
        final = fit_final(result, tables, config, seed, limits)
        test, _, _ = held_out_test(
            final.model, population, history, test_cut, config, modulus, pool_size
        )
        health = [fold.health for fold in result.folds if fold.health is not None]
        health = [*health, final.health]
        report = AlternativeReport(
            model_type=result.model_type,
            params=result.params,
            seed=seed,
            validation=pooled_validation(result, pool_size, modulus),
            validation_gap=result.gap,
            validation_spread=result.valid_spread,
            test=test,
            importance=final.importance,
            health=health if signal else judged_without_signal(health),
            schema_hash=config.schema_hash,
            data_fingerprint=fingerprint(history[:test_cut]),
            library_versions=type(final.model).library_versions(),
        )
        alternatives.append((report, final.model.to_bytes()))
    return alternatives
