"""A stream as the WATCHER reviews it, read in one transaction (docs/design.md §17.1):
its draws, its completed runs, the scores of its current run, its searches today, its runs in
progress, the parameter changes applied to it and its decisions on their way. The review that
reads it is pure (:func:`watcher.review.review`); this is all it sees of the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from mimicry.requests import RETRAIN_KIND
from mimicry.search.results import JobBest
from mimicry.store.database import connect
from mimicry.store.decisions import (
    AppliedChange,
    applied_changes,
    open_decision,
    searches_today,
)
from mimicry.store.models import (
    ChampionRecord,
    Evaluation,
    PopulationRecord,
    Prediction,
    Run,
    TrainedModel,
    as_utc,
)
from mimicry.store.runs import jobs_best, runs_in_progress
from mimicry.store.statuses import ChampionState, DecisionStatus, RunState
from mimicry.store.streams import draw_count, require_stream


class RunFacts(BaseModel):
    """A completed run of the stream."""

    model_config = ConfigDict(frozen=True)
    id: str
    created_at: datetime
    parameters: dict[str, Any]
    summary: dict[str, Any]
    draws_used: int
    #: Whether it ranked its hypotheses (a search with ``--no-rank`` did not).
    ranked: bool
    #: Its jobs with their best survivors (read for the stream's current run only).
    jobs_best: list[JobBest] = []
    #: Why its model does not predict (critical training health); None: promoted or no model.
    not_promoted: str | None = None
    #: The model type that won its ranking (None: it did not rank).
    model_type: str | None = None

    @property
    def promoted(self) -> bool:
        return self.not_promoted is None

    @property
    def is_search(self) -> bool:
        return self.parameters.get("kind") != RETRAIN_KIND


class ScoreFacts(BaseModel):
    """A scored draw of the current run: hit, and what its prediction promised."""

    model_config = ConfigDict(frozen=True)
    position: int
    hit: bool
    promised: float
    chance: float


class OpenDecision(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int
    status: DecisionStatus


class StreamSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    stream: str
    draws: int
    #: Completed runs, newest first.
    completed: list[RunFacts]
    #: Scored draws of the current run's predictions (the newest promoted one), oldest first.
    scored: list[ScoreFacts]
    searches_today: int
    #: Runs of the stream still running: (id, when it started), oldest first.
    in_progress: list[tuple[str, datetime]]
    applied_changes: list[AppliedChange]
    #: The stream's decision on its way that runs something (retrain, research), and its
    #: escalation waiting for a person.
    open_run: OpenDecision | None
    open_escalation: OpenDecision | None
    #: The knobs of the stream's active selfplay champion (docs/design.md §21), or None.
    champion: dict[str, Any] | None = None


def _open(record) -> OpenDecision | None:
    return OpenDecision(id=record.id, status=record.status) if record is not None else None


def stream_snapshot(stream: str, now: datetime) -> StreamSnapshot:
    with connect(read_only=True) as session:
        record = require_stream(session, stream)
        runs = list(
            session.scalars(
                select(Run)
                .where(Run.stream_id == record.id, Run.state == RunState.COMPLETED)
                .order_by(Run.created_at.desc(), Run.id)
            )
        )
        winners = dict(
            session.execute(
                select(TrainedModel.run_id, TrainedModel.model_type).where(
                    TrainedModel.run_id.in_([run.id for run in runs]), TrainedModel.chosen
                )
            ).all()
        )
        # The stream's current run: its newest completed one whose model was promoted.
        current = next((run for run in runs if run.not_promoted is None), None)
        completed = [
            RunFacts(
                id=run.id,
                created_at=as_utc(run.created_at),
                parameters=run.parameters or {},
                summary=run.summary or {},
                draws_used=run.draws_used,
                ranked=session.get(PopulationRecord, run.id) is not None,
                jobs_best=jobs_best(session, run.id) if run is current else [],
                not_promoted=run.not_promoted,
                model_type=winners.get(run.id),
            )
            for run in runs
        ]
        scored = []
        if current is not None:
            scored = [
                ScoreFacts(position=position, hit=hit, promised=promised, chance=chance)
                for position, hit, promised, chance in session.execute(
                    select(
                        Evaluation.position, Evaluation.hit, Prediction.p_hit_low, Prediction.chance
                    )
                    .join(Prediction, Prediction.id == Evaluation.prediction_id)
                    .where(Evaluation.stream_id == record.id, Prediction.run_id == current.id)
                    .order_by(Evaluation.position)
                )
            ]
        return StreamSnapshot(
            stream=record.name,
            draws=draw_count(session, record),
            completed=completed,
            scored=scored,
            searches_today=searches_today(session, record.id, now),
            in_progress=[
                (run.id, as_utc(run.created_at)) for run in runs_in_progress(session, record.id)
            ],
            applied_changes=applied_changes(session, record.id),
            open_run=_open(open_decision(session, record.id, ("retrain", "research"))),
            open_escalation=_open(open_decision(session, record.id, ("escalate",))),
            champion=session.scalar(
                select(ChampionRecord.candidate).where(
                    ChampionRecord.stream_id == record.id,
                    ChampionRecord.state == ChampionState.ACTIVE,
                )
            ),
        )


class HealthSeries(BaseModel):
    """What the stream-health picture draws: every scored draw, and where each run began."""

    model_config = ConfigDict(frozen=True)
    stream: str
    positions: list[int]
    hits: list[bool]
    promised: list[float]
    #: The low end of each promise's interval: what the triggers hold a run to.
    promised_low: list[float]
    chance: list[float]
    #: The run whose prediction each scored draw was scored against, and whether that run found
    #: signal (a run without promised nothing beyond chance).
    run_ids: list[str]
    signal: list[bool]
    #: (stream position, label) of each completed run: where it started predicting.
    runs: list[tuple[int, str]]


def health_series(stream: str) -> HealthSeries:
    with connect(read_only=True) as session:
        record = require_stream(session, stream)
        rows = session.execute(
            select(
                Evaluation.position,
                Evaluation.hit,
                Prediction.p_hit,
                Prediction.p_hit_low,
                Prediction.chance,
                Prediction.run_id,
                Prediction.signal,
            )
            .join(Prediction, Prediction.id == Evaluation.prediction_id)
            .where(Evaluation.stream_id == record.id)
            .order_by(Evaluation.position)
        ).all()
        runs = session.execute(
            select(Run.draws_used, Run.parameters)
            .where(Run.stream_id == record.id, Run.state == RunState.COMPLETED)
            .order_by(Run.created_at)
        ).all()
        return HealthSeries(
            stream=record.name,
            positions=[r[0] for r in rows],
            hits=[r[1] for r in rows],
            promised=[r[2] for r in rows],
            promised_low=[r[3] for r in rows],
            chance=[r[4] for r in rows],
            run_ids=[r[5] for r in rows],
            signal=[r[6] == "signal" for r in rows],
            runs=[
                (used, "retrain" if (parameters or {}).get("kind") == RETRAIN_KIND else "search")
                for used, parameters in runs
            ],
        )
