"""Run bookkeeping steps: read a stream's history, open a run, store a job's result, close."""

from __future__ import annotations

from prefect import task
from prefect.runtime import flow_run

from gpu_kernels.backends import kernel_version
from mimicry.jobs import SieveResult
from mimicry.store.database import connect
from mimicry.store.runs import create_job, create_run, finish_run, store_result
from mimicry.store.streams import require_stream, stored_values


def load_history(stream: str) -> list[int]:
    with connect() as session:
        return stored_values(session, require_stream(session, stream))


def start_run(stream: str, parameters: dict) -> str:
    """A new run on ``stream``, linked to the Prefect flow run it belongs to (if any)."""
    with connect() as session:
        record = require_stream(session, stream)
        run = create_run(session, record.id, parameters, len(stored_values(session, record)))
        run.flow_run_id = flow_run.id
        return run.id


def store_job_result(run_id: str, result: SieveResult, backend: str, chunk_size: int) -> None:
    with connect() as session:
        job = create_job(session, run_id, result.job, kernel_version(), backend, chunk_size)
        store_result(session, job.id, result)


def close_run(run_id: str, state: str, summary: dict | None = None, error: str | None = None):
    with connect() as session:
        finish_run(session, run_id, state, summary, error)


load_history_task = task(load_history, name="load-history")
start_run_task = task(start_run, name="start-run")
store_job_result_task = task(store_job_result, name="store-survivors", retries=2)
close_run_task = task(close_run, name="close-run", retries=2)
