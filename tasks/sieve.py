"""Step 2 as Prefect tasks: one chunk of a job on a Dask worker, then the job's answer
(:mod:`mimicry.search.chunks`).

The chunk task adds retries with backoff and a cache key made of the job's content hash, the
chunk bounds, the kernel version and the store: a re-run after a crash finds the finished chunks
cached and computes only the others.
"""

from __future__ import annotations

import os
import socket

from prefect import get_run_logger, task
from prefect.tasks import exponential_backoff

from gpu_kernels.backends import kernel_version
from gpu_kernels.job import SieveJob
from mimicry.render import chunk_line
from mimicry.search.chunks import ChunkSummary, assemble_from_ledger, sieve_chunk
from mimicry.store.location import store_fingerprint
from tasks import transient


def worker_name() -> str:
    """The Dask worker this runs on, or the process."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def chunk_cache_key(context, parameters: dict) -> str:
    """Job content, chunk bounds, kernel version, and which store's ledger the chunk went to
    (a cached chunk must also be a ledger row, so a new store never trusts an old cache)."""
    job: SieveJob = parameters["job"]
    store = parameters.get("store") or store_fingerprint()
    bounds = f"{parameters['lo']}-{parameters['hi']}"
    return f"sieve-chunk-{job.key}-{bounds}-{kernel_version()}-{store}"


def sieve_chunk_on_worker(
    job: SieveJob, lo: int, hi: int, backend: str, store: str | None = None
) -> ChunkSummary:
    summary = sieve_chunk(job, lo, hi, backend, store, worker=worker_name())
    get_run_logger().info(chunk_line(summary))
    return summary


sieve_chunk_task = task(
    sieve_chunk_on_worker,
    name="sieve-chunk",
    task_run_name="chunk {job.family} {lo}..{hi}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=transient,
    cache_key_fn=chunk_cache_key,
    persist_result=True,
)
assemble_task = task(
    assemble_from_ledger, name="assemble-survivors", retries=1, retry_condition_fn=transient
)
