"""Runs, the sieve jobs they ran, the chunk coverage ledger and the survivors they found."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gpu_kernels.job import ChunkResult, SieveJob, WindowMatch
from mimicry.search.results import JobBest, SieveResult
from mimicry.store.database import connect
from mimicry.store.models import (
    Chunk,
    Run,
    SieveJobRecord,
    Stream,
    SurvivorRecord,
    as_utc,
    utcnow,
)
from mimicry.store.statuses import RunState


def create_run(
    session: Session, stream_id: int, parameters: dict, draws_used: int, run_id: str | None = None
) -> Run:
    run = Run(
        id=run_id or str(uuid.uuid4()),
        stream_id=stream_id,
        parameters=parameters,
        draws_used=draws_used,
        state=RunState.RUNNING,
        heartbeat_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


#: Heartbeats a running run may miss before it counts as crashed: a busy process may be late
#: by a beat or two (a long commit, a paused VM), not by four.
STALE_BEATS = 4


def beat(session: Session, run_id: str) -> None:
    """Say the run is alive (only while it is running: a closed run stays as it was closed)."""
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.RUNNING)
        .values(heartbeat_at=utcnow())
    )


def mark_crashed(session: Session, heartbeat_seconds: float) -> list[str]:
    """Mark crashed every running run whose process has been silent for :data:`STALE_BEATS`
    heartbeats; returns their ids. A run never closes itself as crashed: its process is gone."""
    stale_after = timedelta(seconds=STALE_BEATS * heartbeat_seconds)
    now = utcnow()
    crashed = []
    for run in session.scalars(select(Run).where(Run.state == RunState.RUNNING)):
        last = as_utc(run.heartbeat_at or run.created_at)
        if now - last > stale_after:
            run.state = RunState.CRASHED
            run.finished_at = now
            since = f"{last:%Y-%m-%d %H:%M:%S} UTC"
            run.error = f"its process stopped without closing it: no heartbeat since {since}"
            crashed.append(run.id)
    session.flush()
    return crashed


def runs_in_progress(session: Session, stream_id: int) -> list[Run]:
    """The stream's runs that are still running (mark crashed the silent ones first)."""
    return list(
        session.scalars(
            select(Run)
            .where(Run.stream_id == stream_id, Run.state.in_((RunState.PENDING, RunState.RUNNING)))
            .order_by(Run.created_at)
        )
    )


def finish_run(
    session: Session, run_id: str, state: str, summary: dict | None = None, error: str | None = None
) -> None:
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(state=state, summary=summary, error=error, finished_at=utcnow())
    )


def create_job(
    session: Session,
    run_id: str,
    job: SieveJob,
    kernel_version: str,
    backend: str,
    chunk_size: int,
) -> SieveJobRecord:
    record = SieveJobRecord(
        run_id=run_id,
        job_key=job.key,
        job=job.model_dump(mode="json"),
        kernel_version=kernel_version,
        backend=backend,
        chunk_size=chunk_size,
        state="running",
    )
    session.add(record)
    session.flush()
    return record


# -- the coverage ledger ------------------------------------------------------------------------


def record_chunk(
    session: Session,
    job_key: str,
    kernel_version: str,
    result: ChunkResult,
    worker: str | None = None,
) -> bool:
    """Write a finished chunk; returns False when the ledger already had it.

    A chunk computed twice (a retry after a lost worker, two runs of the same job) stays one
    row, whose ``executions`` counts the computations; its matches are the first ones written,
    which are the same as any later ones because chunks are deterministic.
    """
    row = Chunk(
        job_key=job_key,
        kernel_version=kernel_version,
        lo=result.lo,
        hi=result.hi,
        backend=result.backend,
        worker=worker,
        matches=[match.model_dump(mode="json") for match in result.matches],
        match_count=len(result.matches),
        overflow=result.overflow,
        seconds=result.seconds,
        executions=1,
    )
    try:
        with session.begin_nested():
            session.add(row)
        return True
    except IntegrityError:
        session.execute(
            update(Chunk)
            .where(
                Chunk.job_key == job_key,
                Chunk.kernel_version == kernel_version,
                Chunk.lo == result.lo,
                Chunk.hi == result.hi,
            )
            .values(executions=Chunk.executions + 1)
        )
        return False


def find_chunk(
    session: Session, job_key: str, kernel_version: str, lo: int, hi: int
) -> Chunk | None:
    return session.scalar(
        select(Chunk).where(
            Chunk.job_key == job_key,
            Chunk.kernel_version == kernel_version,
            Chunk.lo == lo,
            Chunk.hi == hi,
        )
    )


def ledger_chunks(session: Session, job_key: str, kernel_version: str) -> list[Chunk]:
    return list(
        session.scalars(
            select(Chunk)
            .where(Chunk.job_key == job_key, Chunk.kernel_version == kernel_version)
            .order_by(Chunk.lo)
        )
    )


def chunk_results(chunks: Iterable[Chunk]) -> list[ChunkResult]:
    """Ledger rows as the engine's :class:`ChunkResult`, for
    :func:`mimicry.search.sieve.assemble`."""
    return [
        ChunkResult(
            lo=chunk.lo,
            hi=chunk.hi,
            matches=[WindowMatch.model_validate(match) for match in chunk.matches],
            candidates_tested=chunk.hi - chunk.lo,
            seconds=chunk.seconds,
            overflow=chunk.overflow,
            backend=chunk.backend,
        )
        for chunk in chunks
    ]


# -- results ------------------------------------------------------------------------------------


def store_result(session: Session, job_id: int, result: SieveResult) -> None:
    """The job's ranked survivors and statistics; its state says whether coverage was whole."""
    session.add_all(
        SurvivorRecord(
            job_id=job_id,
            rank=rank,
            family=survivor.family,
            projection=survivor.projection,
            seed=survivor.seed,
            state=survivor.state,
            offset=survivor.offset,
            first_call=survivor.first_call,
            skip=survivor.skip,
            window_start=survivor.window["start"],
            window_size=survivor.window["size"],
            matches=survivor.matches,
            matches_before=survivor.matches_before,
            matches_after=survivor.matches_after,
            checked_before=survivor.checked_before,
            checked_after=survivor.checked_after,
            p_value=survivor.p_value,
            next=survivor.next,
        )
        for rank, survivor in enumerate(result.survivors)
    )
    session.execute(
        update(SieveJobRecord)
        .where(SieveJobRecord.id == job_id)
        .values(
            state="complete" if result.stats.complete else "incomplete",
            stats=result.stats.model_dump(mode="json"),
            finished_at=utcnow(),
        )
    )


def run_jobs(session: Session, run_id: str) -> list[SieveJob]:
    """The sieve jobs a run recorded, in the order it ran them (their survivors are in the
    coverage ledger, keyed on each job)."""
    records = session.scalars(
        select(SieveJobRecord).where(SieveJobRecord.run_id == run_id).order_by(SieveJobRecord.id)
    )
    return [SieveJob.model_validate(record.job) for record in records]


def jobs_best(session: Session, run_id: str) -> list[JobBest]:
    """Each sieve job of the run, in the order it ran, with its best survivor and its search's
    expected chance survivors (what :func:`mimicry.search.continuation.best_survivor` reads)."""
    bests = []
    for record in session.scalars(
        select(SieveJobRecord).where(SieveJobRecord.run_id == run_id).order_by(SieveJobRecord.id)
    ):
        survivor = session.scalar(
            select(SurvivorRecord)
            .where(SurvivorRecord.job_id == record.id)
            .order_by(SurvivorRecord.rank)
            .limit(1)
        )
        match = None
        if survivor is not None:
            candidate = survivor.seed if survivor.seed is not None else survivor.state
            skip = survivor.skip if isinstance(survivor.skip, int) else tuple(survivor.skip)
            match = WindowMatch(
                candidate=candidate,
                first_call=survivor.first_call,
                skip=skip,
                matches=survivor.matches,
            )
        bests.append(
            JobBest(
                job=SieveJob.model_validate(record.job),
                match=match,
                expected_false_survivors=(record.stats or {}).get("expected_false_survivors"),
                p_value=survivor.p_value if survivor is not None else None,
            )
        )
    return bests


def run_ending(run_id: str) -> tuple[RunState, str | None, str | None] | None:
    """A run's state, error and why its model was not promoted (None: no such run)."""
    with connect(read_only=True) as session:
        run = session.get(Run, run_id)
        if run is None:
            return None
        return RunState(run.state), run.error, run.not_promoted


def standing_run(stream: str) -> str | None:
    """The run whose prediction is the stream's: its newest promoted ranked run (None: it has
    none yet, or no such stream)."""
    from mimicry.store.predictions import latest_ranked_run
    from mimicry.store.streams import get_stream

    with connect(read_only=True) as session:
        record = get_stream(session, stream)
        run = latest_ranked_run(session, record.id) if record is not None else None
        return run.id if run is not None else None


def mark_crashed_runs(heartbeat_seconds: float) -> list[str]:
    """Runs whose process went silent, marked crashed (:func:`mark_crashed`), in a transaction
    of their own."""
    with connect() as session:
        return mark_crashed(session, heartbeat_seconds)


class RunView(BaseModel):
    """A run as ``mimicry status`` lists it."""

    model_config = ConfigDict(frozen=True)
    id: str
    stream: str
    state: RunState
    created_at: datetime
    finished_at: datetime | None
    summary: dict
    flow_run_id: str | None


def recent_runs(limit: int, heartbeat_seconds: float) -> list[RunView]:
    """The newest runs, after marking crashed those whose process went silent (so none is shown
    running that is not)."""
    with connect() as session:
        mark_crashed(session, heartbeat_seconds)
        rows = session.execute(
            select(Run, Stream.name).join(Stream).order_by(Run.created_at.desc()).limit(limit)
        )
        return [
            RunView(
                id=run.id,
                stream=name,
                state=RunState(run.state),
                created_at=as_utc(run.created_at),
                finished_at=as_utc(run.finished_at) if run.finished_at else None,
                summary=run.summary or {},
                flow_run_id=run.flow_run_id,
            )
            for run, name in rows
        ]
