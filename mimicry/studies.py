"""Optuna studies kept in the store's database (RDB storage), named after their inputs, so that
a re-run of a step resumes its study instead of starting over (Steps 1, 2.5 and 4)."""

from __future__ import annotations

from collections.abc import Callable

import optuna


def resumable_study(name: str, storage_url: str, seed: int) -> optuna.Study:
    """The study called ``name`` in the store, created (maximising, seeded TPE) if new."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=name,
        storage=optuna.storages.RDBStorage(storage_url),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )


def complete_trials(
    study: optuna.Study, objective: Callable[[optuna.Trial], float], trials: int
) -> None:
    """Run trials until the study holds ``trials`` completed ones (a resumed study goes on)."""
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if trials > done:
        study.optimize(objective, n_trials=trials - done)
