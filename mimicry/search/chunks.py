"""Step 2's unit of work: one chunk of a job computed once and written to the coverage ledger,
and a job's result assembled from whatever chunks the ledger holds.

``sieve_chunk`` writes the chunk to the ledger in the same step that computes it, so the ledger
says exactly which chunks finished, whoever ran them. ``assemble_from_ledger`` builds the result
from the ledger alone: the bidirectional check, the statistics, the ranking, and the ranges no
chunk covered (a result that misses some is marked incomplete and names them).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from gpu_kernels.backends import kernel_version
from gpu_kernels.job import SieveJob
from mimicry.search.results import SieveResult
from mimicry.search.sieve import assemble
from mimicry.settings import sieve_backend
from mimicry.store.ledger import finished_chunk, job_chunks, write_chunk
from mimicry.store.location import store_fingerprint


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
    #: The backend that sieved it (``gpu``, ``cpu``, ``reference``).
    backend: str = ""
    #: False when the ledger already held the chunk (found there, or written meanwhile by a
    #: concurrent computation of the same chunk).
    new: bool


def sieve_chunk(
    job: SieveJob, lo: int, hi: int, backend: str, store: str | None = None, worker: str = ""
) -> ChunkSummary:
    """Sieve candidates ``[lo, hi)`` of ``job`` and record the chunk in the ledger.

    ``store`` is the :func:`~mimicry.store.location.store_fingerprint` of the store the caller
    will read the ledger from; a worker configured with another store refuses the chunk with a
    clear error instead of writing where nobody looks. A chunk the ledger already holds is not
    computed again: that covers the moment between a chunk's ledger commit and Prefect
    persisting its result, when a crash leaves no cache entry. ``worker`` names who computed it.
    """
    if store is not None and store != store_fingerprint():
        raise StoreMismatch(
            f"this Dask worker ({worker}) writes to another store than the flow reads "
            f"(store {store_fingerprint()}, flow {store}); give every worker the flow's "
            "MIMICRY_DATABASE_URL"
        )
    done = finished_chunk(job.key, kernel_version(), lo, hi)
    if done is not None:
        return ChunkSummary(lo=lo, hi=hi, new=False, **done.model_dump())
    result = sieve_backend(backend).sieve_chunk(job, lo, hi)
    new = write_chunk(job.key, kernel_version(), result, worker)
    return ChunkSummary(
        lo=lo,
        hi=hi,
        match_count=len(result.matches),
        seconds=result.seconds,
        overflow=result.overflow,
        worker=worker,
        backend=result.backend,
        new=new,
    )


def assemble_from_ledger(
    history: Sequence[int],
    job: SieveJob,
    *,
    predict: int,
    top: int,
    extension_limit: int,
    newest: Sequence[int] | None = None,
    sieve_seconds: float | None = None,
) -> SieveResult:
    """The job's result from whatever chunks the ledger holds for it (see
    :func:`mimicry.search.sieve.assemble` for ``history`` and ``newest``); the candidates no
    chunk covered are its ``stats.missing_ranges``."""
    return assemble(
        history,
        job,
        job_chunks(job.key, kernel_version()),
        predict=predict,
        top=top,
        extension_limit=extension_limit,
        newest=newest,
        sieve_seconds=sieve_seconds,
    )
