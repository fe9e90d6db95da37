"""Step 2.5, scorer meta-optimisation: how Step 3 should score, tuned on a validation slice.

Optuna (TPE) chooses the :class:`~mimicry.ranking.features.ScorerConfig`: which features, how far
the match counts extend around the window, the recent span, whether hypotheses with identical tracks
are merged, and how scores become weights in the distribution. A configuration is judged by a
deliberately plain scorer, a ridge regression fitted on the walk-forward cuts before the last
one, on the *last* cut's slice of the training draws: the mean log-likelihood gain per draw of
its distributions over the uniform one. The held-out draws are never given to this step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence

import numpy as np
import optuna
from pydantic import BaseModel

from mimicry.ranking.features import FEATURE_NAMES, ScorerConfig, feature_matrix, labels
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.scoring import TrackBook, deduplicate, scored_span
from mimicry.ranking.splits import Cut
from mimicry.store.studies import complete_trials, resumable_study

#: Ridge penalty of the plain scorer (features are standardised first).
RIDGE_ALPHA = 1.0


class ScorerChoice(BaseModel):
    config: ScorerConfig
    #: Mean log-likelihood gain per validation draw, nats (0: no better than uniform).
    validation_gain: float
    trials: int
    study_name: str | None = None


def ridge_fit(X: np.ndarray, y: np.ndarray, alpha: float = RIDGE_ALPHA):
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    Z = (X - mean) / std
    coef = np.linalg.solve(Z.T @ Z + alpha * np.eye(Z.shape[1]), Z.T @ (y - y.mean()))
    return mean, std, coef, y.mean()


def ridge_predict(model, X: np.ndarray) -> np.ndarray:
    mean, std, coef, intercept = model
    return ((X - mean) / std) @ coef + intercept


def validation_gain(
    config: ScorerConfig,
    population: Sequence[Hypothesis],
    book: TrackBook,
    draws: Sequence[int],
    cuts: Sequence[Cut],
    modulus: int,
    pool_size: int,
) -> float:
    """The plain scorer's mean gain per draw on the last cut's slice (see the module doc)."""
    valid = cuts[-1]
    keep = deduplicate(population, book, valid.index) if config.dedup else range(len(population))
    keep = np.asarray(list(keep))
    chosen = [population[h] for h in keep]
    X, y = [], []
    for cut in cuts[:-1]:
        tracks = book.at(cut.index)[keep]
        X.append(feature_matrix(chosen, tracks, draws, cut.index, config, modulus))
        y.append(labels(tracks, draws, cut.index, cut.stop))
    model = ridge_fit(np.vstack(X), np.concatenate(y))
    tracks = book.at(valid.index)[keep]
    scores = ridge_predict(
        model, feature_matrix(chosen, tracks, draws, valid.index, config, modulus)
    )
    span = scored_span(scores, tracks, draws, valid, config, modulus, pool_size)
    return span.log_loss_gain / span.draws


def _suggest(trial: optuna.Trial) -> ScorerConfig:
    chosen = tuple(
        name for name in FEATURE_NAMES if trial.suggest_categorical(f"use_{name}", [True, False])
    )
    return ScorerConfig(
        features=chosen or ("match_rate",),
        extension_span=trial.suggest_int("extension_span", 8, 256, log=True),
        recent_span=trial.suggest_int("recent_span", 10, 400, log=True),
        dedup=trial.suggest_categorical("dedup", [True, False]),
        weight_power=trial.suggest_float("weight_power", 0.5, 4.0, log=True),
        uniform_mix=trial.suggest_float("uniform_mix", 0.001, 0.5, log=True),
    )


def optimize_scorer(
    population: Sequence[Hypothesis],
    draws: Sequence[int],
    cuts: Sequence[Cut],
    modulus: int,
    pool_size: int,
    trials: int,
    storage_url: str,
    seed: int = 0,
    between_trials: Callable[[], None] | None = None,
) -> ScorerChoice:
    """The best configuration found in ``trials`` trials (the defaults are always trial 0).
    ``between_trials``: run after every trial, the flow's stop check (it raises)."""
    if len(cuts) < 2:
        raise ValueError("scorer meta-optimisation needs at least two walk-forward cuts")
    book = TrackBook(population, draws, cuts[-1].stop)
    inputs = json.dumps(
        [
            [h.model_dump(mode="json") for h in population],
            list(draws),
            [[c.index, c.stop] for c in cuts],
            modulus,
            pool_size,
        ],
        separators=(",", ":"),
    )
    name = f"scorer-{hashlib.sha256(inputs.encode()).hexdigest()[:16]}"
    study = resumable_study(name, storage_url, seed)

    def objective(trial: optuna.Trial) -> float:
        config = _suggest(trial)
        trial.set_user_attr("config", config.model_dump(mode="json"))
        return validation_gain(config, population, book, draws, cuts, modulus, pool_size)

    if not study.trials:
        # Trial 0 is the default configuration, so tuning can only improve on it.
        study.enqueue_trial(
            {f"use_{n}": True for n in FEATURE_NAMES}
            | {
                "extension_span": 64,
                "recent_span": 100,
                "dedup": True,
                "weight_power": 1.0,
                "uniform_mix": 0.05,
            }
        )
    complete_trials(study, objective, trials, between_trials)
    best = study.best_trial
    return ScorerChoice(
        config=ScorerConfig.model_validate(best.user_attrs["config"]),
        validation_gain=float(best.value),
        trials=len(study.trials),
        study_name=name,
    )
