"""Step 2 as a flow step: fan a job's chunks out to Dask workers, assemble from the ledger, store.

``sieve_step`` runs inside whichever flow calls it (``pipeline`` or the ad-hoc ``sieve`` flow),
on that flow's task runner. Chunks carry the Dask resources their backend declares (the gpu
backend: ``GPU=1``), so the scheduler only places them on workers started with those resources
(one per GPU, see ``deployments/``).
"""

from __future__ import annotations

import contextlib
import queue
import re
import time
from collections.abc import Mapping, Sequence

import dask
from prefect import flow, get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext
from prefect_dask import DaskTaskRunner

from flows.report import final_state, incomplete, sieve_answer
from flows.run_names import sieve_run_name, tag_this_run
from flows.runner import LocalClusterTaskRunner, PerRunTaskRunner, run_settings
from flows.steps import run_in_progress
from flows.stopping import check_stop, stop_requested
from flows.workers import WATCH_SECONDS, NoDaskWorker, WorkerWatch, scheduler_workers
from gpu_kernels.backends import backend_type
from gpu_kernels.job import SieveJob
from mimicry.render import verdict_line
from mimicry.requests import FamilyName, SieveSettings
from mimicry.search.results import SieveResult
from mimicry.search.sieve import chunk_bounds, chunk_size_for
from mimicry.search.window import requested_config
from mimicry.store.location import store_fingerprint
from mimicry.store.records import close_run
from mimicry.store.statuses import RunState
from tasks.runs import (
    load_history_task,
    start_run_task,
    store_job_result_task,
)
from tasks.sieve import assemble_task, sieve_chunk_task


def artifact_key(text: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def chunk_resources(backend: str) -> Mapping[str, float]:
    """The Dask resources a backend's chunks need: what it declares, so that on a rig's cluster
    GPU chunks run only on the workers started with a GPU. None on the flow's own LocalCluster
    (:class:`LocalClusterTaskRunner`): it runs on this machine, whose backend has already started
    (found its GPU), and its workers declare no resources, so an annotated chunk would wait there
    for ever."""
    context = FlowRunContext.get()
    own_cluster = context is not None and isinstance(context.task_runner, LocalClusterTaskRunner)
    return {} if own_cluster else dict(backend_type(backend).dask_resources or {})


def chunk_placement(resources: Mapping[str, float]):
    """Dask annotations that place chunks on workers offering ``resources``."""
    return dask.annotate(resources=dict(resources)) if resources else contextlib.nullcontext()


def dask_client():
    """The Dask client of this flow run's task runner (None under another runner)."""
    context = FlowRunContext.get()
    runner = context.task_runner if context is not None else None
    return runner.client if isinstance(runner, DaskTaskRunner) else None


def progress_description(family: str, bounds: Sequence[tuple[int, int]]) -> str:
    """The progress artifact's words: the chunks as they are cut (a chunk size larger than the
    search is not what a chunk holds)."""
    sizes = [hi - lo for lo, hi in bounds]
    chunks = f"{len(sizes):,} chunk" + ("s" if len(sizes) != 1 else "")
    largest = f"{max(sizes, default=0):,}"
    each = f"of {largest}" if len(set(sizes)) <= 1 else f"of up to {largest}"
    return f"{family}: {chunks} {each} candidates ({sum(sizes):,} in all) finished"


def _abandon(futures: list) -> None:
    """On a stop, chunks not finished are cancelled; the ledger keeps the finished ones, which
    a rerun skips. (A chunk already running on a worker thread finishes into the ledger.)"""
    for future in futures:
        if not future.wrapped_future.done():
            future.wrapped_future.cancel()


def sieve_step(
    run_id: str,
    history: Sequence[int],
    job: SieveJob,
    sieve: SieveSettings,
    label: str,
    newest: Sequence[int] | None = None,
    *,
    no_worker_seconds: float,
) -> SieveResult:
    """Sieve ``job`` in chunks on the flow's task runner, store the assembled result with run
    ``run_id`` (with the chunk size used) and return it. ``history`` is what the search reads;
    ``newest`` the whole stream, past whose newest draw ``next`` continues (default: history).
    ``sieve`` holds resolved flags (:meth:`SieveSettings.resolved`). Workers that leave or join
    while it waits are logged; with none able to run a chunk for ``no_worker_seconds`` the step
    fails (:class:`NoDaskWorker`)."""
    chunk_size = chunk_size_for(job, sieve)
    bounds = list(chunk_bounds(job, chunk_size))
    store = store_fingerprint()
    logger = get_run_logger()
    started = time.perf_counter()
    progress = create_progress_artifact(
        progress=0.0,
        key=f"sieve-progress-{artifact_key(label)}",
        description=progress_description(job.family, bounds),
    )
    resources = chunk_resources(sieve.backend)
    client = dask_client()
    watch = (
        None
        if client is None
        else WorkerWatch(str(client.scheduler.address), resources, no_worker_seconds)
    )

    def run_chunks(chunks: list[tuple[int, int]], refresh: bool = False) -> None:
        task = sieve_chunk_task.with_options(refresh_cache=True) if refresh else sieve_chunk_task
        finished: queue.Queue = queue.Queue()
        futures = []
        for lo, hi in chunks:
            # Submitting hundreds of chunks takes a while (each carries the run's context): a
            # stop is seen here too, not only once they are all submitted.
            if stop_requested():
                _abandon(futures)
                check_stop()
            future = task.submit(job, lo, hi, sieve.backend, store)
            future.add_done_callback(finished.put)
            futures.append(future)
        done, looked = 0, float("-inf")
        while done < len(futures):
            if stop_requested():
                _abandon(futures)
                check_stop()
            if watch is not None and time.monotonic() - looked >= WATCH_SECONDS:
                looked = time.monotonic()
                try:
                    for line in watch.observe(scheduler_workers(client), looked):
                        logger.warning(line)
                except NoDaskWorker:
                    _abandon(futures)
                    raise
            try:
                future = finished.get(timeout=WATCH_SECONDS)
            except queue.Empty:
                continue
            future.wait()  # done: reads its final state
            done += 1
            if future.state.is_failed():
                # Retries are spent: the chunk stays missing and the result will say so.
                logger.error("chunk %s failed: %s", future.state.name, future.state.message)
            if not refresh:
                update_progress_artifact(progress, 100.0 * done / len(futures))

    def assembled() -> SieveResult:
        return assemble_task(
            history,
            job,
            predict=sieve.predict,
            top=sieve.top,
            extension_limit=sieve.extension_limit,
            newest=newest,
            sieve_seconds=time.perf_counter() - started,
        )

    with chunk_placement(resources):
        run_chunks(bounds)
        result = assembled()
        gaps = result.stats.missing_ranges
        if gaps:
            # A chunk whose cached result outlived its ledger row (a wiped store), or one whose
            # retries are spent: computed again, once, and the result assembled again.
            run_chunks(
                [
                    (lo, hi)
                    for lo, hi in bounds
                    if any(lo <= gap_hi and gap_lo < hi for gap_lo, gap_hi in gaps)
                ],
                refresh=True,
            )
            result = assembled()
    store_job_result_task(run_id, result, sieve.backend, chunk_size)
    return result


@flow(
    name="sieve",
    flow_run_name=sieve_run_name,
    task_runner=PerRunTaskRunner(),
    validate_parameters=True,
)
def sieve_flow(stream: str, family: FamilyName, sieve: SieveSettings = SieveSettings()):  # noqa: B008 (frozen)
    """Ad-hoc sieve of one family over a stored stream with exactly the given flags (all its
    draws, as `mimicry sieve` does; no held-out part, no ranking).

    Args:
        stream: The stored stream whose draws are sieved.
        family: The generator family to search.
        sieve: How the sieve searches (empty fields take `mimicry sieve`'s defaults).
    """
    tag_this_run(stream)
    settings = run_settings()
    sieve = sieve.resolved(settings)
    history = load_history_task(stream)
    parameters = {"family": family, "sieve": sieve.model_dump(mode="json")}
    run_id = start_run_task(stream, parameters, settings.heartbeat_seconds)
    job = requested_config(len(history), sieve).job(history, family, sieve)
    with run_in_progress(run_id, settings.heartbeat_seconds):
        result = sieve_step(
            run_id, history, job, sieve, family, no_worker_seconds=settings.no_worker_seconds
        )
        answer = sieve_answer(run_id, [result], sieve.top, {})
        get_run_logger().info(verdict_line(answer))
        stats = answer.stats.model_dump(mode="json")
        if not answer.stats.complete:
            close_run(run_id, RunState.INCOMPLETE, stats)
            return incomplete(answer)
        close_run(run_id, RunState.COMPLETED, stats)
        return final_state(answer)
