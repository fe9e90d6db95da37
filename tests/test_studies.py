"""Optuna studies in the store: runs that start together on a new store share them safely."""

from __future__ import annotations

import multiprocessing

import optuna
import pytest

from mimicry.store.studies import complete_trials, resumable_study

#: Processes opening the same new study at the same moment (the clash two `mimicry run` hit).
OPENERS = 6


def _open_and_add_trials(storage_url: str, start, trials: int) -> int:
    start.wait()  # all processes reach Optuna's table creation together
    study = resumable_study("shared-study", storage_url, seed=0)
    for _ in range(trials):
        study.add_trial(optuna.trial.create_trial(value=1.0, distributions={}, params={}))
    return len(study.trials)


def test_studies_opened_at_once_on_a_new_store(store_url):
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(OPENERS)
    with context.Pool(OPENERS) as pool:
        counts = pool.starmap(_open_and_add_trials, [(store_url, start, 3) for _ in range(OPENERS)])
    assert all(count >= 3 for count in counts)
    study = resumable_study("shared-study", store_url, seed=0)
    assert len(study.trials) == 3 * OPENERS
    assert len(optuna.get_all_study_names(store_url)) == 1


def test_a_resumed_study_runs_only_the_missing_trials(store_url):
    calls = []

    def objective(trial: optuna.Trial) -> float:
        calls.append(trial.number)
        return trial.suggest_float("x", 0.0, 1.0)

    complete_trials(resumable_study("resume", store_url, seed=1), objective, 3)
    complete_trials(resumable_study("resume", store_url, seed=1), objective, 5)
    assert calls == [0, 1, 2, 3, 4]
    assert len(resumable_study("resume", store_url, seed=1).trials) == 5


class Stopped(BaseException):
    """What the flow's stop check raises (flows.stopping.Terminated is one)."""


def test_a_stop_between_trials_ends_the_search_where_it_stands(store_url):
    """The check runs after every trial: a stop waits for one trial, not the whole search, and
    the trials done stay in the study, so the resumed search runs only the rest."""
    calls, stop_after = [], 3

    def objective(trial: optuna.Trial) -> float:
        calls.append(trial.number)
        return trial.suggest_float("x", 0.0, 1.0)

    def between_trials() -> None:
        if len(calls) == stop_after:
            raise Stopped

    study = resumable_study("stopped", store_url, seed=1)
    with pytest.raises(Stopped):
        complete_trials(study, objective, 50, between_trials)
    assert calls == [0, 1, 2]
    complete_trials(resumable_study("stopped", store_url, seed=1), objective, 5)
    assert calls == [0, 1, 2, 3, 4]


def test_a_resumed_study_does_not_propose_its_random_start_again(store_url):
    """Each resumption is a new sampler (a new process, a new selfplay episode): seeded alike,
    its random start would propose what the study already tried, every time."""
    proposed = []
    for _ in range(4):  # one trial per resumption, as an episode asks one candidate
        study = resumable_study("one-a-time", store_url, seed=0)
        trial = study.ask()
        proposed.append(trial.suggest_int("offset", 0, 1 << 20))
        study.tell(trial, 0.0)
    assert len(set(proposed)) == 4, proposed
    again = []
    for _ in range(4):  # and the same history resumed the same way proposes the same
        study = resumable_study("one-a-time-again", store_url, seed=0)
        trial = study.ask()
        again.append(trial.suggest_int("offset", 0, 1 << 20))
        study.tell(trial, 0.0)
    assert again == proposed
