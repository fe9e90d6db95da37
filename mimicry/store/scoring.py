"""What scoring a stream's new draws reads and writes (docs/design.md §18):
one snapshot in, one plan out, each a transaction of its own. The plan is written only if no
other process scored the stream since the snapshot was read (the number of its evaluations is
the version), so every draw is scored once even when a tick and an ingest score at once."""

from __future__ import annotations

from array import array
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from mimicry.ranking.next_draw import NextDraw
from mimicry.search.results import JobBest
from mimicry.store.database import connect
from mimicry.store.models import Evaluation, PopulationRecord, Prediction, Run, TrainedModel
from mimicry.store.predictions import latest_ranked_run, next_draw_of, prediction_row
from mimicry.store.runs import jobs_best
from mimicry.store.statuses import RunState
from mimicry.store.streams import require_stream, stored_values


class StoredModel(BaseModel):
    """A registered model: its sidecar and its bytes (the domain loads it)."""

    model_config = ConfigDict(frozen=True)
    id: int
    model_type: str
    params: dict[str, Any]
    seed: int
    schema_hash: str
    metrics: dict[str, Any]
    artifact: bytes


class Predictor(BaseModel):
    """A completed run, with what it takes to predict from it: its best survivors (unranked),
    or its ranked population, scorer and model."""

    model_config = ConfigDict(frozen=True)
    run_id: str
    segment_start: int
    jobs_best: list[JobBest]
    ranked: bool
    hypotheses: list[dict[str, Any]] = []
    scorer_config: dict[str, Any] | None = None
    model: StoredModel | None = None


class PastScore(BaseModel):
    """A scored draw, as the rolling metrics read it."""

    model_config = ConfigDict(frozen=True)
    position: int
    hit: bool
    log_loss_gain: float


class ScoringSnapshot(BaseModel):
    """A stream as its scoring reads it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    stream: str
    stream_id: int
    modulus: int
    history: array
    scored: list[PastScore]
    #: The newest prediction of each position not scored yet (the next draw's included), with
    #: its id.
    predictions: dict[int, tuple[int, NextDraw]]
    #: The stream's newest completed run, and its newest completed ranked run.
    newest: Predictor | None
    latest_ranked: Predictor | None


def _predictor(session, run: Run | None) -> Predictor | None:
    if run is None:
        return None
    population = session.get(PopulationRecord, run.id)
    model = session.scalar(
        select(TrainedModel).where(TrainedModel.run_id == run.id, TrainedModel.chosen)
    )
    return Predictor(
        run_id=run.id,
        segment_start=int((run.parameters or {}).get("segment_start") or 0),
        jobs_best=jobs_best(session, run.id),
        ranked=population is not None,
        hypotheses=population.hypotheses if population is not None else [],
        scorer_config=population.scorer_config if population is not None else None,
        model=None
        if model is None
        else StoredModel(
            id=model.id,
            model_type=model.model_type,
            params=model.params,
            seed=model.seed,
            schema_hash=model.schema_hash,
            metrics=model.metrics,
            artifact=model.artifact,
        ),
    )


def scoring_snapshot(stream: str) -> ScoringSnapshot:
    """The stream's draws, scores and unscored predictions, and the runs that may predict."""
    with connect(read_only=True) as session:
        record = require_stream(session, stream)
        newest = session.scalar(
            select(Run)
            .where(
                Run.stream_id == record.id,
                Run.state == RunState.COMPLETED,
                Run.not_promoted.is_(None),
            )
            .order_by(Run.created_at.desc())
            .limit(1)
        )
        latest_ranked = latest_ranked_run(session, record.id)
        snapshot = ScoringSnapshot(
            stream=stream,
            stream_id=record.id,
            modulus=record.modulus,
            history=array("b"),
            scored=[],
            predictions={},
            newest=_predictor(session, newest),
            latest_ranked=_predictor(session, latest_ranked),
        )
        if newest is None:
            # No run can predict: the draws are not read (an ingest of millions of draws into
            # a stream never searched must not pay for them).
            return snapshot
        history = stored_values(session, record)
        scored = [
            PastScore(position=e.position, hit=e.hit, log_loss_gain=e.log_loss_gain)
            for e in session.scalars(
                select(Evaluation)
                .where(Evaluation.stream_id == record.id)
                .order_by(Evaluation.position)
            )
        ]
        scored_positions = select(Evaluation.position).where(Evaluation.stream_id == record.id)
        predictions: dict[int, tuple[int, NextDraw]] = {}
        for row in session.scalars(
            select(Prediction)
            .where(
                Prediction.stream_id == record.id,
                Prediction.position <= len(history),
                Prediction.position.not_in(scored_positions),
            )
            .order_by(Prediction.position, Prediction.id.desc())
        ):
            if row.position not in predictions:
                predictions[row.position] = (row.id, next_draw_of(stream, row))
        return snapshot.model_copy(
            update={"history": history, "scored": scored, "predictions": predictions}
        )


class NewScore(BaseModel):
    """A draw scored against a stored prediction (its id) or against one made now."""

    position: int
    actual: int
    hit: bool
    rank: int
    log_loss_gain: float
    rolling: dict[str, Any]
    prediction_id: int | None = None
    made: NextDraw | None = None
    model_id: int | None = None


def save_scoring(
    snapshot: ScoringSnapshot,
    scores: list[NewScore],
    made_next: NextDraw | None,
    next_model_id: int | None,
) -> bool:
    """Write the scores (and the predictions made for them), and the next draw's new prediction,
    in one transaction; False, writing nothing, when the stream was scored by another process
    since ``snapshot`` (read a new one and score again)."""
    with connect() as session:
        require_stream(session, snapshot.stream, lock=True)
        count = session.scalar(
            select(func.count()).where(Evaluation.stream_id == snapshot.stream_id)
        )
        if count != len(snapshot.scored):
            return False
        for score in scores:
            prediction_id = score.prediction_id
            if prediction_id is None:
                row = prediction_row(score.made, snapshot.stream_id, score.model_id)
                session.add(row)
                session.flush()
                prediction_id = row.id
            session.add(
                Evaluation(
                    prediction_id=prediction_id,
                    stream_id=snapshot.stream_id,
                    **score.model_dump(include={"position", "actual", "hit", "rank"}),
                    log_loss_gain=score.log_loss_gain,
                    rolling=score.rolling,
                )
            )
        if made_next is not None:
            session.add(prediction_row(made_next, snapshot.stream_id, next_model_id))
        session.flush()
        return True
