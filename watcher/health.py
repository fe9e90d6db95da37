"""A stream's health as the triggers read it, taken from the store at one moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mimicry.requests import RETRAIN_KIND
from mimicry.search.continuation import best_survivor
from mimicry.store.decisions import searches_today
from mimicry.store.models import Evaluation, PopulationRecord, Prediction, Run, Stream, as_utc
from mimicry.store.runs import runs_in_progress
from mimicry.store.streams import draw_count
from watcher.triggers import Scored, StreamHealth


def completed_runs(session: Session, stream_id: int) -> list[Run]:
    """The stream's completed runs, newest first."""
    return list(
        session.scalars(
            select(Run)
            .where(Run.stream_id == stream_id, Run.state == "completed")
            .order_by(Run.created_at.desc(), Run.id)
        )
    )


def is_search(run: Run) -> bool:
    return (run.parameters or {}).get("kind") != RETRAIN_KIND


def stream_health(session: Session, record: Stream, now: datetime) -> StreamHealth:
    draws = draw_count(session, record)
    runs = completed_runs(session, record.id)
    current = runs[0] if runs else None
    search = next((run for run in runs if is_search(run)), None)
    scored: tuple[Scored, ...] = ()
    if current is not None:
        rows = session.execute(
            select(Evaluation.position, Evaluation.hit, Prediction.p_hit_low, Prediction.chance)
            .join(Prediction, Prediction.id == Evaluation.prediction_id)
            .where(Evaluation.stream_id == record.id, Prediction.run_id == current.id)
            .order_by(Evaluation.position, Evaluation.id)
        ).all()
        scored = tuple(
            Scored(position=position, hit=hit, promised=promised, chance=chance)
            for position, hit, promised, chance in rows
        )
    ranked = current is None or session.get(PopulationRecord, current.id) is not None
    summary_signal = bool(current and (current.summary or {}).get("signal") == "signal")
    # An unranked search promises what its best survivor predicts when that is overwhelming.
    survivor_signal = bool(current and not ranked and best_survivor(session, current))
    in_progress = runs_in_progress(session, record.id)
    return StreamHealth(
        stream=record.name,
        draws=draws,
        run_id=current.id if current else None,
        signal=summary_signal or survivor_signal,
        segment_start=int((current.parameters or {}).get("segment_start") or 0) if current else 0,
        ranked=ranked,
        scored=scored,
        draws_since_run=draws - current.draws_used if current else draws,
        draws_since_search=draws - search.draws_used if search else draws,
        searches_today=searches_today(session, record.id, now),
        run_in_progress=in_progress[0].id if in_progress else None,
        run_in_progress_since=as_utc(in_progress[0].created_at) if in_progress else None,
    )
