"""Optuna studies kept in the store's database (RDB storage), named after their inputs, so that
a re-run of a step resumes its study instead of starting over (Steps 1, 2.5 and 4)."""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from mimicry.store.database import SQLITE_BUSY_TIMEOUT

#: Attempts at opening the storage before its error is raised (see :func:`study_storage`).
STORAGE_ATTEMPTS = 5


def study_storage(storage_url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage in the store's database, its tables created on first use.

    Optuna creates its tables and its version row check-then-insert, with no lock: two runs
    starting together on a new store (two ``mimicry run`` on one SQLite file) both find them
    missing and the slower one fails with "table … already exists" or a duplicate key. The
    second attempt finds the work done, so a clash is simply retried.
    """
    # The store's writers wait for each other; Optuna's SQLite connections must wait as long.
    engine_kwargs = {}
    if storage_url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    for attempt in range(1, STORAGE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(storage_url, engine_kwargs=engine_kwargs)
        except (OperationalError, IntegrityError, ProgrammingError):
            # SQLite: "table … already exists" (OperationalError); PostgreSQL: a duplicate key
            # (IntegrityError) or DuplicateTable (ProgrammingError), seen in CI.
            time.sleep(0.2 * attempt)
    return optuna.storages.RDBStorage(storage_url, engine_kwargs=engine_kwargs)  # its error stands


def resumable_study(name: str, storage_url: str, seed: int) -> optuna.Study:
    """The study called ``name`` in the store, created (maximising, seeded TPE) if new."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name,
        storage=study_storage(storage_url),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )
    resumed = len(study.trials)
    if resumed:
        # Every resumption is a new sampler (a new process, a selfplay episode). Seeded alike,
        # its random start proposes again what the study already tried (seen: eight episodes,
        # one candidate eight times); seeded by what the study holds, it goes on, reproducibly.
        study.sampler = optuna.samplers.TPESampler(seed=seed + resumed)
    return study


def complete_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    trials: int,
    between_trials: Callable[[], None] | None = None,
) -> None:
    """Run trials until the study holds ``trials`` completed ones (a resumed study goes on).
    ``between_trials`` runs after each trial: a stop check, which raises to end the search
    where it stands (each finished trial is already in the study, for a resumed run)."""
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if trials > done:
        callbacks = [lambda study, trial: between_trials()] if between_trials else None
        study.optimize(objective, n_trials=trials - done, callbacks=callbacks)
