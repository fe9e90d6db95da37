"""Populations, feature tables, predictions and their evaluations in the store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mimicry.ranking.next_draw import NextDraw
from mimicry.store.models import (
    Evaluation,
    FeatureTableRecord,
    PopulationRecord,
    Prediction,
    Run,
)
from mimicry.store.statuses import RunState


def save_population(
    session: Session, run_id: str, hypotheses: list[dict], config: dict, choice: dict
) -> None:
    session.merge(
        PopulationRecord(
            run_id=run_id, hypotheses=hypotheses, scorer_config=config, scorer_choice=choice
        )
    )


def save_feature_table(
    session: Session,
    run_id: str,
    cut: tuple[int, int],
    schema_hash: str,
    features: list[str],
    rows: list[list[float]],
    labels: list[float],
) -> None:
    session.add(
        FeatureTableRecord(
            run_id=run_id,
            cut_index=cut[0],
            cut_stop=cut[1],
            schema_hash=schema_hash,
            features=features,
            rows=rows,
            labels=labels,
        )
    )


def prediction_row(next_draw: NextDraw, stream_id: int, model_id: int | None) -> Prediction:
    """The store's row for a prediction made by the registered model ``model_id`` (None: no
    model, a chance-level prediction)."""
    low, high = next_draw.p_hit_interval
    return Prediction(
        stream_id=stream_id,
        run_id=next_draw.run_id,
        model_id=model_id,
        position=next_draw.position,
        signal=next_draw.signal,
        pool=next_draw.pool,
        p_hit=next_draw.p_hit,
        p_hit_low=low,
        p_hit_high=high,
        chance=next_draw.chance,
        distribution=next_draw.distribution,
        statement=next_draw.statement,
        top_hypotheses=next_draw.top_hypotheses,
    )


def next_draw_of(stream: str, row: Prediction) -> NextDraw:
    """A stored prediction as the domain passes it."""
    return NextDraw(
        stream=stream,
        run_id=row.run_id,
        position=row.position,
        signal=row.signal,
        pool=row.pool,
        p_hit=row.p_hit,
        p_hit_interval=(row.p_hit_low, row.p_hit_high),
        chance=row.chance,
        distribution=row.distribution,
        statement=row.statement,
        top_hypotheses=row.top_hypotheses,
    )


def save_prediction(
    session: Session, stream_id: int, next_draw: NextDraw, model_id: int | None
) -> Prediction:
    """Store a next-draw prediction made by the registered model ``model_id`` (None: no model,
    a chance-level prediction)."""
    record = prediction_row(next_draw, stream_id, model_id)
    session.add(record)
    session.flush()
    return record


def latest_prediction(session: Session, stream_id: int, position: int | None = None):
    query = select(Prediction).where(Prediction.stream_id == stream_id)
    if position is not None:
        query = query.where(Prediction.position == position)
    return session.scalar(query.order_by(Prediction.id.desc()).limit(1))


def pending_predictions(session: Session, stream_id: int, known: int) -> list[Prediction]:
    """The newest prediction for each position whose draw is now known and not yet scored.
    A draw is scored once (the store's constraint on ``evaluations``): once its position is
    scored, an older run's prediction for it is never picked up."""
    scored = select(Evaluation.position).where(Evaluation.stream_id == stream_id)
    rows = session.scalars(
        select(Prediction)
        .where(
            Prediction.stream_id == stream_id,
            Prediction.position < known,
            Prediction.position.not_in(scored),
        )
        .order_by(Prediction.position, Prediction.id.desc())
    ).all()
    newest: dict[int, Prediction] = {}
    for prediction in rows:
        newest.setdefault(prediction.position, prediction)
    return [newest[p] for p in sorted(newest)]


def stream_evaluations(session: Session, stream_id: int) -> list[Evaluation]:
    return list(
        session.scalars(
            select(Evaluation).where(Evaluation.stream_id == stream_id).order_by(Evaluation.id)
        )
    )


def run_scores(session: Session, run_id: str) -> list[tuple[int, bool]]:
    """(position, hit) of every scored prediction the run made, by position."""
    return [
        (position, hit)
        for position, hit in session.execute(
            select(Evaluation.position, Evaluation.hit)
            .join(Prediction, Prediction.id == Evaluation.prediction_id)
            .where(Prediction.run_id == run_id)
            .order_by(Evaluation.position)
        )
    ]


def latest_ranked_run(session: Session, stream_id: int) -> Run | None:
    """The newest completed run of the stream that ranked hypotheses and whose model was
    promoted. A run still "running" (or killed while it was) never feeds a prediction: its
    model may be missing or half-made; nor does one whose model's training went wrong."""
    return session.scalar(
        select(Run)
        .join(PopulationRecord, PopulationRecord.run_id == Run.id)
        .where(
            Run.stream_id == stream_id,
            Run.state == RunState.COMPLETED,
            Run.not_promoted.is_(None),
        )
        .order_by(Run.created_at.desc())
        .limit(1)
    )
