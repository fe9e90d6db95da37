"""The sieve engine: split a job into chunks, run them on a backend, then assemble the answer.

``assemble`` is separate from the chunk loop so that an orchestrator can run the chunks anywhere
(Dask workers, retries, a cache) and still build exactly the same result from whatever chunks
it has, with the coverage it actually got.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from gpu_kernels.backends import SieveBackend, backend_type
from gpu_kernels.calls import Calls
from gpu_kernels.job import ChunkResult, Mode, SieveJob, WindowMatch
from gpu_kernels.registry import get_family
from mimicry.search.hypothesis import Extension, continuation, extend, stream_offset
from mimicry.search.results import SieveResult, SieveStats, Survivor
from mimicry.search.statistics import (
    SIGNIFICANCE_LEVEL,
    expected_false_survivors,
    job_chance,
    search_p_value,
)
from mimicry.settings import DEFAULT_EXTENSION_LIMIT, sieve_backend

if TYPE_CHECKING:
    from mimicry.requests import SieveSettings

Progress = Callable[[int, int], None]


def chunk_bounds(
    job: SieveJob, chunk_size: int, start: int | None = None
) -> Iterator[tuple[int, int]]:
    """Half-open chunks ``[lo, hi)`` covering the job's inclusive candidate range (from
    ``start`` on, when given), lazily (a 64-bit seed space has more chunks than memory)."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    first, last = job.candidate_range
    start = first if start is None else start
    return ((lo, min(lo + chunk_size, last + 1)) for lo in range(start, last + 1, chunk_size))


def default_chunk_size(job: SieveJob, backend: SieveBackend | type[SieveBackend]) -> int:
    """Candidates per chunk when the caller sets none: the backend's ``chunk_hypotheses`` over
    the job's hypotheses per candidate, rounded down to a power of two and kept within the
    backend's ``chunk_candidates``. A function of the job alone, so a re-run makes the same
    chunks and finds the finished ones in the ledger and the cache."""
    smallest, largest = backend.chunk_candidates
    wanted = max(1, backend.chunk_hypotheses // job.hypotheses_per_candidate)
    return min(largest, max(smallest, 1 << (wanted.bit_length() - 1)))


def chunk_size_for(job: SieveJob, sieve: SieveSettings) -> int:
    """The resolved flags' chunk size (the flag, else ``MIMICRY_CHUNK_SIZE``), else the
    backend's default for this job."""
    return sieve.chunk_size or default_chunk_size(job, backend_type(sieve.backend or "cpu"))


def missing_ranges(job: SieveJob, chunks: Iterable[ChunkResult]) -> list[tuple[int, int]]:
    """Inclusive candidate ranges of the job that no chunk covered."""
    first, last = job.candidate_range
    gaps, cursor = [], first
    for lo, hi in sorted((chunk.lo, chunk.hi) for chunk in chunks):
        if lo > cursor:
            gaps.append((cursor, lo - 1))
        cursor = max(cursor, hi)
    if cursor <= last:
        gaps.append((cursor, last))
    return gaps


def run_sieve(
    history: Sequence[int],
    job: SieveJob,
    *,
    backend: str | SieveBackend = "cpu",
    chunk_size: int | None = None,
    predict: int = 0,
    top: int | None = 20,
    extension_limit: int | None = None,
    progress: Progress | None = None,
) -> SieveResult:
    """Sieve the whole job on one backend in this process and assemble the result (every draw
    of ``history`` is evidence, and ``next`` continues past its newest)."""
    return run_sieves(
        history,
        [job],
        backend=backend,
        chunk_size=chunk_size,
        predict=predict,
        top=top,
        extension_limit=extension_limit,
        progress=progress,
    )[0]


def run_sieves(
    history: Sequence[int],
    jobs: Sequence[SieveJob],
    *,
    backend: str | SieveBackend = "cpu",
    chunk_size: int | None = None,
    predict: int = 0,
    top: int | None = 20,
    extension_limit: int | None = None,
    progress: Progress | None = None,
    sieved: Sequence[Sequence[ChunkResult]] | None = None,
) -> list[SieveResult]:
    """:func:`run_sieve` for several jobs over the same candidates (one per family), chunk by
    chunk together, so that a backend may serve them in one pass (``sieve_chunks``: the cpu
    backend's shared prefilter for ``mt19937`` and ``php5_mt``, docs/design.md §6.3). Each result
    is its job's alone, as if it had run by itself.

    ``sieved``: each job's chunks already sieved (a size probe's,
    :func:`mimicry.search.estimate.measure`), consecutive from the first candidate; the search
    goes on after them and counts their seconds as its own."""
    if len({job.candidate_range for job in jobs}) != 1:
        raise ValueError("jobs sieved together must enumerate the same candidates")
    chunks: list[list[ChunkResult]] = [list(found) for found in sieved or [[] for _ in jobs]]
    if len(chunks) != len(jobs):
        raise ValueError("sieved must hold a list of chunks for each job")
    first = jobs[0]
    start, done = first.candidate_range[0], 0
    for chunk in chunks[0]:
        if chunk.lo != start + done:
            raise ValueError("sieved chunks must follow one another from the first candidate")
        done += chunk.hi - chunk.lo
    started = time.perf_counter() - sum(chunk.seconds for chunk in chunks[0])
    engine = sieve_backend(backend) if isinstance(backend, str) else backend
    size = chunk_size or min(default_chunk_size(job, engine) for job in jobs)
    for lo, hi in chunk_bounds(first, size, start + done):
        for found, chunk in zip(chunks, engine.sieve_chunks(jobs, lo, hi), strict=True):
            found.append(chunk)
        done += hi - lo
        if progress:
            progress(done, first.candidate_count)
    sieve_seconds = time.perf_counter() - started
    return [
        assemble(
            history,
            job,
            found,
            predict=predict,
            top=top,
            extension_limit=extension_limit,
            sieve_seconds=sieve_seconds,
            started=started,
        )
        for job, found in zip(jobs, chunks, strict=True)
    ]


def assemble(
    history: Sequence[int],
    job: SieveJob,
    chunks: Sequence[ChunkResult],
    *,
    predict: int = 0,
    top: int | None = 20,
    extension_limit: int | None = None,
    sieve_seconds: float | None = None,
    started: float | None = None,
    newest: Sequence[int] | None = None,
) -> SieveResult:
    """Merge chunk matches, run the bidirectional check, price every survivor, rank them.

    ``history`` is what the search may read (the pipeline's training draws); ``newest`` is the
    whole stream when that is longer: each survivor's ``next`` continues past its newest draw
    and its offset is counted from its first, so the result says the same thing as any other
    answer about the stream (docs/design.md §2: ``next``).

    ``stats.seconds`` is the wall time from ``started`` (a ``perf_counter`` reading in this
    process) or, when the chunks ran elsewhere, ``sieve_seconds`` plus this assembly.
    """
    _check_history(history, job)
    assembling = time.perf_counter()
    if started is None:
        started = assembling - (sieve_seconds or 0.0)
    # A retried chunk, or two overlapping chunkings, report the same match twice: count it once.
    unique = {match.sort_key(): match for chunk in chunks for match in chunk.matches}
    matches = [unique[key] for key in sorted(unique)]
    stream = history if newest is None else newest
    if extension_limit is None:
        extension_limit = DEFAULT_EXTENSION_LIMIT
    ranked = sorted(_survivor(job, match, history, extension_limit, stream) for match in matches)
    survivors = [survivor for _, survivor, _ in ranked]
    shown = ranked if top is None else ranked[:top]
    shown = [
        survivor.model_copy(update={"next": _continuation(stream, job, match, predict)})
        if predict
        else survivor
        for _, survivor, match in shown
    ]
    if sieve_seconds is None:
        sieve_seconds = sum(chunk.seconds for chunk in chunks)
    gaps = missing_ranges(job, chunks)
    # Distinct candidates covered, however often a chunk ran.
    candidates_tested = job.candidate_count - sum(hi - lo + 1 for lo, hi in gaps)
    overflow = any(chunk.overflow for chunk in chunks)
    chance = job_chance(job)
    stats = SieveStats(
        candidates_tested=candidates_tested,
        hypotheses=job.hypotheses,
        seconds=time.perf_counter() - started,
        candidates_per_second=candidates_tested / sieve_seconds if sieve_seconds > 0 else 0.0,
        chance_per_hypothesis=chance,
        expected_false_survivors=expected_false_survivors(job.hypotheses, chance),
        survivor_count=len(survivors),
        significant=any(s.p_value < SIGNIFICANCE_LEVEL for s in survivors),
        complete=not gaps and not overflow,
        missing_ranges=gaps,
        overflow=overflow,
    )
    return SieveResult(job=job, survivors=shown, stats=stats)


def _check_history(history: Sequence[int], job: SieveJob) -> None:
    start, size = job.window_start, job.window_size
    if tuple(history[start : start + size]) != job.window:
        raise ValueError(f"the job's window does not match history[{start}:{start + size}]")


def _calls(job: SieveJob, match: WindowMatch) -> Calls:
    return Calls.for_candidate(job, match.candidate)


def _survivor(
    job: SieveJob,
    match: WindowMatch,
    history: Sequence[int],
    extension_limit: int,
    stream: Sequence[int],
) -> tuple:
    """(rank key, survivor, match) for a window match, with its bidirectional check."""
    calls = _calls(job, match)
    extension: Extension = extend(job, history, match, calls, extension_limit)
    checked = job.window_size + extension.checked_before + extension.checked_after
    evidence = match.matches + extension.matches_before + extension.matches_after
    p_value = search_p_value(job.hypotheses, checked, evidence, job.modulus, job.skip_choices)
    family = get_family(job.family)
    seed_mode = job.mode is Mode.SEED
    survivor = Survivor(
        family=family.name,
        projection=job.projection,
        seed=match.candidate if seed_mode else None,
        state=None if seed_mode else family.state_to_json(family.state_from_int(match.candidate)),
        offset=stream_offset(job, match, calls, stream),
        first_call=match.first_call,
        skip=match.skip if isinstance(match.skip, int) else list(match.skip),
        window={"start": job.window_start, "size": job.window_size},
        matches=match.matches,
        matches_before=extension.matches_before,
        matches_after=extension.matches_after,
        checked_before=extension.checked_before,
        checked_after=extension.checked_after,
        p_value=p_value,
    )
    # Most evidence first, then the smallest p-value, then the canonical match order.
    return (-evidence, p_value, match.sort_key()), survivor, match


def _continuation(
    history: Sequence[int], job: SieveJob, match: WindowMatch, count: int
) -> list[int]:
    calls = _calls(job, match)
    # The walk to the newest history draw fixes where the continuation starts.
    extension = extend(job, history, match, calls, DEFAULT_EXTENSION_LIMIT)
    return continuation(calls, extension, count)
