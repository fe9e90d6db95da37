"""The pipeline flow: ingest → 1 window → 2 sieve → 2.5 scorer → 3 scoring → 4 model selection
→ 5 training and test → 6 prediction.

Steps 1–4 see the training draws only; the newest draws are held out (``mimicry.splits``) for
Step 5's one evaluation on the untouched test split, which also calibrates Step 6. The flow only
composes tasks: every step is a plain function in ``tasks/``, store writes are in
``mimicry.store``, words and artifacts in ``flows/report.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow

from flows.report import incomplete, ranking_answer, ranking_artifacts, sieve_answer
from flows.runner import dask_task_runner
from flows.sieve import sieve_step
from mimicry.models import get_model_type
from mimicry.requests import PipelineRequest
from mimicry.splits import split_history, walk_forward_cuts
from mimicry.store.database import database_url
from tasks.ingest import ingest_task
from tasks.model_select import select_model_task
from tasks.predict import Calibration, predict_task
from tasks.runs import (
    close_run,
    failing_closes,
    load_history_task,
    start_run_task,
    store_job_result_task,
    store_model_and_prediction_task,
    store_ranking_task,
)
from tasks.scorer_meta import optimize_scorer_task
from tasks.scoring import build_population_task, score_population_task
from tasks.train import train_task
from tasks.window import candidate_range, optimize_window_task


@contextmanager
def step(timings: dict[str, float], name: str) -> Iterator[None]:
    """Adds the wall time of the block to ``timings[name]`` (the per-step benchmark figures)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


@flow(name="pipeline", task_runner=dask_task_runner(), validate_parameters=True)
def pipeline(request: PipelineRequest):
    """Find the generator behind a stream's draws, rank what was found, predict the next draw."""
    timings: dict[str, float] = {}
    with step(timings, "ingest"):
        if request.draws_file:
            ingest_task(
                request.draws_file,
                request.stream,
                modulus=request.sieve.modulus,
                session=request.session,
                column=request.column,
            )
        history = load_history_task(request.stream)
    ranking, sieve, modulus = request.ranking, request.sieve, request.sieve.modulus
    if request.rank:
        split = split_history(history, ranking.holdout_fraction, ranking.holdout_min)
        training = list(split.training)
    else:
        training = list(history)
    run_id = start_run_task(request.stream, request.model_dump(mode="json"))
    with failing_closes(run_id):
        # Steps 1–2, per family, on the training draws.
        results, choices = [], {}
        for family in request.families:
            with step(timings, "1 window"):
                choice = optimize_window_task(training, family, request, database_url())
            choices[family] = choice.model_dump(mode="json")
            job = choice.config.job(training, family, sieve, candidate_range(family, sieve))
            with step(timings, "2 sieve"):
                result = sieve_step(training, job, sieve, family)
                store_job_result_task(run_id, result, sieve.backend, sieve.chunk_size or 0)
            results.append(result)
        answer = sieve_answer(run_id, results, sieve.top, choices, history, sieve.predict)
        if not answer["stats"]["complete"]:
            close_run(run_id, "incomplete", answer["stats"])
            return incomplete(answer)
        if not request.rank:
            answer["timings"] = timings
            close_run(run_id, "completed", answer["stats"])
            return answer

        # Steps 2.5–4 on the training draws, 5 tests once on the held-out ones, 6 predicts.
        with step(timings, "2.5 scorer"):
            population = build_population_task([r.job for r in results], ranking.decoys)
            earliest = max(r.job.window_start + r.job.window_size for r in results)
            cuts = walk_forward_cuts(len(training), earliest, ranking.folds, ranking.label_span)
            scorer = optimize_scorer_task(
                population,
                training,
                cuts,
                modulus,
                ranking.pool_size,
                ranking.scorer_trials,
                database_url(),
                ranking.seed,
            )
        with step(timings, "3 scoring"):
            scored = score_population_task(population, training, cuts, scorer.config, modulus)
            store_ranking_task(run_id, scored.population, scorer, scored.tables)
        with step(timings, "4 model selection"):
            selection = select_model_task(
                scored.population,
                scored.tables,
                training,
                scorer.config,
                modulus,
                ranking.pool_size,
                ranking.model_trials,
                database_url(),
                None,
                ranking.seed,
                ranking.model_types,
            )
        with step(timings, "5 training and test"):
            report, artifact = train_task(
                scored.population,
                selection,
                scored.tables,
                scorer.config,
                history,
                len(training),
                modulus,
                ranking.pool_size,
                ranking.permutations,
                ranking.seed,
            )
        with step(timings, "6 prediction"):
            model = get_model_type(report.model_type).from_bytes(
                artifact, report.params, report.seed
            )
            calibration = Calibration(
                signal=report.signal,
                test_hits=report.test.hits,
                test_draws=report.test.draws,
                reason=report.signal_reason,
            )
            prediction = predict_task(
                request.stream,
                run_id,
                scored.population,
                model,
                scorer.config,
                history,
                modulus,
                ranking.pool_size,
                calibration,
            )
            store_model_and_prediction_task(run_id, request.stream, report, artifact, prediction)
            ranking_artifacts(selection, report, prediction)
        answer |= ranking_answer(selection, report, prediction, scored.population)
        answer["timings"] = timings
        close_run(run_id, "completed", answer["stats"] | {"signal": prediction.signal})
        return answer
