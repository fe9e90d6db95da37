"""The coverage ledger as the search sees it (docs/design.md §12.1): which chunks of a job's
content finished, with their window matches, one transaction each. The rows stay here; the
search gets :class:`~gpu_kernels.job.ChunkResult` values and :class:`LedgerEntry` snapshots."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gpu_kernels.job import ChunkResult
from mimicry.store.database import connect
from mimicry.store.runs import chunk_results, find_chunk, ledger_chunks, record_chunk


class LedgerEntry(BaseModel):
    """A finished chunk as the ledger holds it (its matches are read with the job's chunks)."""

    model_config = ConfigDict(frozen=True)
    match_count: int
    seconds: float
    overflow: bool
    worker: str
    backend: str


def finished_chunk(job_key: str, kernel: str, lo: int, hi: int) -> LedgerEntry | None:
    """The chunk ``[lo, hi)`` of the job's content when the ledger holds it."""
    with connect() as session:
        done = find_chunk(session, job_key, kernel, lo, hi)
        if done is None:
            return None
        return LedgerEntry(
            match_count=done.match_count,
            seconds=done.seconds,
            overflow=done.overflow,
            worker=done.worker or "",
            backend=done.backend,
        )


def write_chunk(job_key: str, kernel: str, result: ChunkResult, worker: str) -> bool:
    """Record a finished chunk; False when the ledger already had it (then counted again)."""
    with connect() as session:
        return record_chunk(session, job_key, kernel, result, worker=worker)


def job_chunks(job_key: str, kernel: str) -> list[ChunkResult]:
    """Every finished chunk of the job's content, in candidate order."""
    with connect(read_only=True) as session:
        return chunk_results(ledger_chunks(session, job_key, kernel))
