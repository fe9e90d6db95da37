"""The pipeline flow: ingest → Step 1 (window) → Step 2 (sieve), per family, on a Dask cluster.

Later issues extend it with Steps 2.5–6. The flow only composes tasks; every step is a plain
function in ``tasks/`` and the store writes are in ``mimicry.store``.
"""

from __future__ import annotations

from prefect import flow

from flows.report import publish
from flows.runner import dask_task_runner
from flows.sieve import sieve_step
from mimicry.requests import PipelineRequest
from mimicry.store.database import database_url
from tasks.ingest import ingest_task
from tasks.runs import close_run, load_history_task, start_run_task, store_job_result_task
from tasks.window import candidate_range, optimize_window_task


@flow(name="pipeline", task_runner=dask_task_runner(), validate_parameters=True)
def pipeline(request: PipelineRequest) -> dict:
    """Find the generator behind a stream's draws: Steps 1–2 for each family asked for."""
    if request.draws_file:
        ingest_task(
            request.draws_file,
            request.stream,
            modulus=request.sieve.modulus,
            session=request.session,
            column=request.column,
        )
    history = load_history_task(request.stream)
    run_id = start_run_task(request.stream, request.model_dump(mode="json"))
    try:
        results, choices = [], {}
        for family in request.families:
            choice = optimize_window_task(history, family, request, database_url())
            choices[family] = choice.model_dump(mode="json")
            job = choice.config.job(
                history, family, request.sieve, candidate_range(family, request.sieve)
            )
            result = sieve_step(history, job, request.sieve, family)
            store_job_result_task(
                run_id, result, request.sieve.backend, request.sieve.chunk_size or 0
            )
            results.append(result)
        return publish(run_id, results, request.sieve.top, choices)
    except BaseException as error:
        close_run(run_id, "failed", error=f"{type(error).__name__}: {error}")
        raise
