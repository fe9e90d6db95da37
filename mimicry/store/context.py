"""A stream as the advisor's bundle reads it (docs/design.md §16): its size, its
latest completed run with its model's metrics, its newest scores and the names of its newest
draw files, in one snapshot."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from mimicry.store.database import connect
from mimicry.store.models import Evaluation, Ingest, Run, TrainedModel
from mimicry.store.statuses import RunState
from mimicry.store.streams import draw_count, require_stream


class RunFacts(BaseModel):
    """A completed run and its first registered model's type and metrics (None: no model)."""

    model_config = ConfigDict(frozen=True)
    run_id: str
    draws_used: int
    summary: dict[str, Any]
    model_type: str | None
    model_metrics: dict[str, Any]
    #: Its model's training health: the worst finding, and each fit's findings (None, []: no
    #: model, or one registered before the checks); why it was not promoted, if it was not.
    model_health: str | None = None
    health_findings: list[dict[str, Any]] = []
    not_promoted: str | None = None


class ScoreFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    position: int
    hit: bool
    rank: int
    log_loss_gain: float
    rolling: dict[str, Any]


class StreamContext(BaseModel):
    model_config = ConfigDict(frozen=True)
    stream: str
    modulus: int
    draws: int
    latest_run: RunFacts | None
    #: The newest scores, oldest first.
    scores: list[ScoreFacts]
    #: The sources of the newest ingests, oldest first, as the store keeps them.
    sources: list[str]


def stream_context(stream: str, scores: int, sources: int) -> StreamContext:
    """The stream now, with at most ``scores`` newest scores and ``sources`` newest sources."""
    with connect(read_only=True) as session:
        record = require_stream(session, stream)
        run = session.scalar(
            select(Run)
            .where(Run.stream_id == record.id, Run.state == RunState.COMPLETED)
            .order_by(Run.created_at.desc(), Run.id)
            .limit(1)
        )
        facts = None
        if run is not None:
            model = session.scalar(
                select(TrainedModel).where(TrainedModel.run_id == run.id, TrainedModel.chosen)
            )
            facts = RunFacts(
                run_id=run.id,
                draws_used=run.draws_used,
                summary=run.summary or {},
                model_type=model.model_type if model is not None else None,
                model_metrics=model.metrics if model is not None else {},
                model_health=model.health if model is not None else None,
                health_findings=list(model.health_findings or []) if model is not None else [],
                not_promoted=run.not_promoted,
            )
        newest = session.scalars(
            select(Evaluation)
            .where(Evaluation.stream_id == record.id)
            .order_by(Evaluation.position.desc(), Evaluation.id.desc())
            .limit(scores)
        )
        names = session.scalars(
            select(Ingest.source)
            .where(Ingest.stream_id == record.id, Ingest.source.is_not(None))
            .order_by(Ingest.id.desc())
            .limit(sources)
        )
        return StreamContext(
            stream=record.name,
            modulus=record.modulus,
            draws=draw_count(session, record),
            latest_run=facts,
            scores=[
                ScoreFacts(
                    position=e.position,
                    hit=e.hit,
                    rank=e.rank,
                    log_loss_gain=e.log_loss_gain,
                    rolling=e.rolling,
                )
                for e in newest
            ][::-1],
            sources=list(names)[::-1],
        )
