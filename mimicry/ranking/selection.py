"""Step 4, model selection: four model types, walk-forward folds, Optuna per type.

A fold trains on the feature tables of the cuts before its validation cut and is judged on what
the product does with a model: the validation slice's distributions and pools built from the
hypotheses weighted by the model's scores. The metric is the mean log-likelihood gain per draw
over the uniform distribution (nats); the pool hit rate is recorded beside it. Optuna searches
each type's hyperparameters on the mean over folds; the type with the best validated mean wins.
Its train/validation gap and fold spread are kept with it. The held-out draws are not here.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from pydantic import BaseModel

from mimicry.ranking.features import ScorerConfig, categorical_columns
from mimicry.ranking.health import (
    DEFAULT_THRESHOLDS,
    FitHealth,
    HealthThresholds,
    check_fit,
    fit_record,
)
from mimicry.ranking.models import MODEL_NAMES, get_model_type
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.scoring import FeatureTable, TrackBook, scored_span
from mimicry.ranking.splits import Fold, walk_forward_folds
from mimicry.store.studies import complete_trials, resumable_study


class FoldScore(BaseModel):
    valid_cut: int
    #: Mean log-likelihood gain per validation draw over uniform (nats).
    valid_gain: float
    valid_hits: int
    valid_draws: int
    #: The same on the last training cut, in sample: the train side of the gap.
    train_gain: float
    #: The fold's fit checked (docs/design.md §20); absent in studies stored before it.
    health: FitHealth | None = None


class TypeResult(BaseModel):
    model_type: str
    params: dict
    folds: list[FoldScore]
    trials: int

    @property
    def valid_mean(self) -> float:
        return statistics.fmean(f.valid_gain for f in self.folds)

    @property
    def valid_spread(self) -> float:
        return statistics.pstdev(f.valid_gain for f in self.folds)

    @property
    def train_mean(self) -> float:
        return statistics.fmean(f.train_gain for f in self.folds)

    @property
    def gap(self) -> float:
        """Train minus validation gain: how much of the fit does not carry forward."""
        return self.train_mean - self.valid_mean


class Selection(BaseModel):
    winner: str
    params: dict
    results: list[TypeResult]

    def result(self, model_type: str) -> TypeResult:
        return next(r for r in self.results if r.model_type == model_type)


def folds_of(tables: Sequence[FeatureTable]) -> list[Fold]:
    return walk_forward_folds([t.cut for t in tables], min_train=2)


def stack(tables: Sequence[FeatureTable], labels: Sequence[np.ndarray] | None = None):
    X = np.vstack([t.X for t in tables])
    y = np.concatenate(labels if labels is not None else [t.y for t in tables])
    return X, y


def walk_forward_scores(
    model_type: str,
    params: dict,
    tables: Sequence[FeatureTable],
    book: TrackBook,
    draws: Sequence[int],
    config: ScorerConfig,
    modulus: int,
    pool_size: int,
    seed: int,
    labels: Sequence[np.ndarray] | None = None,
    limits: HealthThresholds | None = None,
) -> list[FoldScore]:
    """Fit on each fold's earlier cuts, score its validation cut (``labels`` replaces the
    tables' labels, e.g. shuffled for the permutation null) and, given ``limits``, check each
    fit's health against them (the selection's trials do; the null's refits need not)."""
    by_cut = {t.cut.index: k for k, t in enumerate(tables)}
    y_all = list(labels) if labels is not None else [t.y for t in tables]
    categorical = categorical_columns(config.features)
    scores = []
    for fold in folds_of(tables):
        train = [by_cut[c.index] for c in fold.train]
        X, y = stack([tables[k] for k in train], [y_all[k] for k in train])
        model = get_model_type(model_type)(params, seed).fit(X, y, categorical=categorical)

        def gain(table: FeatureTable, model=model) -> tuple[float, int, int]:
            span = scored_span(
                model.predict(table.X),
                book.at(table.cut.index),
                draws,
                table.cut,
                config,
                modulus,
                pool_size,
            )
            return span.log_loss_gain / span.draws, span.hits, span.draws

        valid_gain, hits, count = gain(tables[by_cut[fold.valid.index]])
        train_gain, _, _ = gain(tables[train[-1]])
        health = None
        if limits is not None:
            health = FitHealth.of(
                f"fold {fold.valid.index}", check_fit(fit_record(model, X, y), limits)
            )
        scores.append(
            FoldScore(
                valid_cut=fold.valid.index,
                valid_gain=valid_gain,
                valid_hits=hits,
                valid_draws=count,
                train_gain=train_gain,
                health=health,
            )
        )
    return scores


def select_model(
    population: Sequence[Hypothesis],
    tables: Sequence[FeatureTable],
    draws: Sequence[int],
    config: ScorerConfig,
    modulus: int,
    pool_size: int,
    trials_per_type: int,
    storage_url: str,
    study_prefix: str | None = None,
    seed: int = 0,
    model_types: Sequence[str] = MODEL_NAMES,
    limits: HealthThresholds = DEFAULT_THRESHOLDS,
    pinned: Mapping[str, Mapping[str, Any]] | None = None,
    between_trials: Callable[[], None] | None = None,
) -> Selection:
    """Optuna per model type on the walk-forward mean; the best validated type wins.
    ``pinned``: hyperparameters per type that every trial takes (Optuna searches the rest).
    ``between_trials``: run after every trial, the flow's stop check (it raises: a stop waits
    for one trial, not for the whole selection).

    The studies live in the store's database, named after their inputs unless
    ``study_prefix`` names them, so an interrupted selection resumes.
    """
    pinned = {name: dict(values) for name, values in (pinned or {}).items()}
    if len(folds_of(tables)) < 1:
        raise ValueError("model selection needs at least three walk-forward cuts")
    if study_prefix is None:
        inputs = json.dumps(
            [
                [t.model_dump(mode="json") for t in tables],
                config.model_dump(mode="json"),
                modulus,
                pool_size,
                seed,
                *([pinned] if pinned else []),  # unpinned: the names of studies before it
            ],
            separators=(",", ":"),
        )
        study_prefix = f"models-{hashlib.sha256(inputs.encode()).hexdigest()[:16]}"
    book = TrackBook(population, draws, tables[-1].cut.stop)
    results = []
    for model_type in model_types:
        cls = get_model_type(model_type)
        study = resumable_study(f"{study_prefix}-{model_type}", storage_url, seed)

        def objective(trial: optuna.Trial, cls=cls, model_type=model_type) -> float:
            params = cls.suggest(trial) | pinned.get(model_type, {})
            folds = walk_forward_scores(
                model_type,
                params,
                tables,
                book,
                draws,
                config,
                modulus,
                pool_size,
                seed,
                limits=limits,
            )
            trial.set_user_attr("params", params)
            trial.set_user_attr("folds", [f.model_dump() for f in folds])
            return statistics.fmean(f.valid_gain for f in folds)

        complete_trials(study, objective, trials_per_type, between_trials)
        best = study.best_trial
        results.append(
            TypeResult(
                model_type=model_type,
                params=best.user_attrs["params"],
                folds=[FoldScore.model_validate(f) for f in best.user_attrs["folds"]],
                trials=len(study.trials),
            )
        )
    winner = max(results, key=lambda r: (r.valid_mean, -MODEL_NAMES.index(r.model_type)))
    return Selection(winner=winner.model_type, params=winner.params, results=results)
