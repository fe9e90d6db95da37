"""Step 2, the sieve: chunks of one job, each a task run on a Dask worker, then the answer.

``sieve_chunk`` computes one chunk on the requested backend and writes it to the coverage ledger
in the same step, so the ledger says exactly which chunks finished, whoever ran them.
``assemble_from_ledger`` builds the result from the ledger alone: the bidirectional check, the
statistics, the ranking, and the ranges no chunk covered (a result that misses some is marked
incomplete and names them).

The Prefect wrapper adds retries with backoff and a cache key made of the job's content hash,
the chunk bounds and the kernel version: a re-run after a crash finds the finished chunks cached
and computes only the others.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

from prefect import task
from prefect.tasks import exponential_backoff
from pydantic import BaseModel

from gpu_kernels.backends import get_backend, kernel_version
from mimicry.jobs import SieveJob, SieveResult
from mimicry.settings import get_settings
from mimicry.sieve import assemble
from mimicry.store.database import connect, store_fingerprint
from mimicry.store.runs import chunk_results, find_chunk, ledger_chunks, record_chunk


class InjectedFault(RuntimeError):
    """Raised by the test-only fault settings ``MIMICRY_FAULT_*``."""


class StoreMismatch(RuntimeError):
    """A worker would write its chunk to another store than the flow reads from."""


class ChunkSummary(BaseModel):
    """What a chunk task returns to the flow (its matches are in the ledger)."""

    lo: int
    hi: int
    match_count: int
    seconds: float
    overflow: bool
    worker: str
    #: False when the ledger already held the chunk (found there, or written meanwhile by a
    #: concurrent computation of the same chunk).
    new: bool


def worker_name() -> str:
    """The Dask worker this runs on, or the process."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _attempt() -> int:
    """This task run's attempt number (1 on the first try); 1 outside Prefect."""
    from prefect.runtime import task_run

    return task_run.run_count or 1


def sieve_chunk(
    job: SieveJob, lo: int, hi: int, backend: str, store: str | None = None
) -> ChunkSummary:
    """Sieve candidates ``[lo, hi)`` of ``job`` and record the chunk in the ledger.

    ``store`` is the :func:`~mimicry.store.database.store_fingerprint` of the store the caller
    will read the ledger from; a worker configured with another store refuses the chunk with a
    clear error instead of writing where nobody looks. A chunk the ledger already holds is not
    computed again: that covers the moment between a chunk's ledger commit and Prefect
    persisting its result, when a crash leaves no cache entry.
    """
    settings = get_settings()
    if store is not None and store != store_fingerprint():
        raise StoreMismatch(
            f"this Dask worker ({worker_name()}) writes to another store than the flow reads "
            f"(store {store_fingerprint()}, flow {store}); give every worker the flow's "
            "MIMICRY_DATABASE_URL"
        )
    if settings.fault_fail_first_attempt and _attempt() == 1:
        raise InjectedFault(f"injected failure of chunk {lo}..{hi} (first attempt)")
    if lo in settings.fault_fail_chunks:
        raise InjectedFault(f"injected failure of chunk {lo}..{hi} (every attempt)")
    with connect() as session:
        done = find_chunk(session, job.key, kernel_version(), lo, hi)
        if done is not None:
            return ChunkSummary(
                lo=lo,
                hi=hi,
                match_count=done.match_count,
                seconds=done.seconds,
                overflow=done.overflow,
                worker=done.worker or "",
                new=False,
            )
    result = get_backend(backend).sieve_chunk(job, lo, hi)
    worker = worker_name()
    with connect() as session:
        new = record_chunk(session, job.key, kernel_version(), result, worker=worker)
    return ChunkSummary(
        lo=lo,
        hi=hi,
        match_count=len(result.matches),
        seconds=result.seconds,
        overflow=result.overflow,
        worker=worker,
        new=new,
    )


def chunk_cache_key(context, parameters: dict) -> str:
    """Job content, chunk bounds, kernel version, and which store's ledger the chunk went to
    (a cached chunk must also be a ledger row, so a new store never trusts an old cache)."""
    job: SieveJob = parameters["job"]
    store = parameters.get("store") or store_fingerprint()
    bounds = f"{parameters['lo']}-{parameters['hi']}"
    return f"sieve-chunk-{job.key}-{bounds}-{kernel_version()}-{store}"


sieve_chunk_task = task(
    sieve_chunk,
    name="sieve-chunk",
    task_run_name="chunk {lo}..{hi}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    cache_key_fn=chunk_cache_key,
    persist_result=True,
)


def assemble_from_ledger(
    history: Sequence[int],
    job: SieveJob,
    *,
    predict: int,
    top: int,
    database_url: str | None = None,
    sieve_seconds: float | None = None,
) -> SieveResult:
    """The job's result from whatever chunks the ledger holds for it."""
    with connect(database_url) as session:
        chunks = chunk_results(ledger_chunks(session, job.key, kernel_version()))
    return assemble(
        history,
        job,
        chunks,
        predict=predict,
        top=top,
        extension_limit=get_settings().extension_limit,
        sieve_seconds=sieve_seconds,
    )


assemble_task = task(assemble_from_ledger, name="assemble-survivors", retries=1)
