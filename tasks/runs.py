"""Run bookkeeping as Prefect tasks (:mod:`mimicry.store.records`)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from mimicry.store.records import (
    load_history,
    load_search,
    start_run,
    store_alternative_models,
    store_job_result,
    store_model_and_prediction,
    store_ranking,
)
from tasks import transient


def start_flow_run_record(stream: str, parameters: dict, heartbeat_seconds: float) -> str:
    """A new run on ``stream``, linked to the Prefect flow run this task belongs to (runs whose
    process has been silent for four ``heartbeat_seconds`` are marked crashed first)."""
    return start_run(stream, parameters, heartbeat_seconds, flow_run.id)


load_history_task = task(load_history, name="load-history")
load_search_task = task(load_search, name="load-search", cache_policy=NO_CACHE)

start_run_task = task(start_flow_run_record, name="start-run")
store_job_result_task = task(
    store_job_result, name="store-survivors", retries=2, retry_condition_fn=transient
)
# Store writes are never cached: a re-run must write its own rows.
store_ranking_task = task(
    store_ranking,
    name="store-ranking",
    retries=2,
    retry_condition_fn=transient,
    cache_policy=NO_CACHE,
)
store_alternative_models_task = task(
    store_alternative_models,
    name="store-every-model-type",
    retries=2,
    retry_condition_fn=transient,
    cache_policy=NO_CACHE,
)
store_model_and_prediction_task = task(
    store_model_and_prediction,
    name="store-model-and-prediction",
    retries=2,
    retry_condition_fn=transient,
    cache_policy=NO_CACHE,
)
