"""The model registry: fitted ranking models with their sidecars (the domain loads them:
:func:`mimicry.ranking.models.load_stored`, which refuses one under another feature schema)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from mimicry.store.database import connect
from mimicry.store.models import Run, Stream, TrainedModel, as_utc


def register_model(
    session: Session,
    run_id: str,
    *,
    model_type: str,
    params: dict,
    seed: int,
    schema_hash: str,
    data_fingerprint: str,
    metrics: dict,
    library_versions: dict,
    signal: bool,
    artifact: bytes,
    health: str | None = None,
    health_findings: list | None = None,
    chosen: bool = True,
) -> TrainedModel:
    record = TrainedModel(
        run_id=run_id,
        model_type=model_type,
        params=params,
        seed=seed,
        schema_hash=schema_hash,
        data_fingerprint=data_fingerprint,
        metrics=metrics,
        library_versions=library_versions,
        signal=signal,
        artifact=artifact,
        health=health,
        health_findings=health_findings,
        chosen=chosen,
    )
    session.add(record)
    session.flush()
    return record


def sidecar(record: TrainedModel) -> dict:
    """Everything about a registered model but its bytes."""
    return {
        "id": record.id,
        "run_id": record.run_id,
        "model_type": record.model_type,
        "params": record.params,
        "seed": record.seed,
        "schema_hash": record.schema_hash,
        "data_fingerprint": record.data_fingerprint,
        "metrics": record.metrics,
        "library_versions": record.library_versions,
        "signal": record.signal,
        "health": record.health,
        "health_findings": record.health_findings,
        "chosen": record.chosen,
        "created_at": record.created_at.isoformat(),
    }


class ModelHealthView(BaseModel):
    """A registered model's training health as ``mimicry health`` shows it."""

    model_config = ConfigDict(frozen=True)
    model_id: int
    run_id: str
    stream: str
    model_type: str
    #: The run's winner (it predicts); False for another type's best (``save_all_models``).
    chosen: bool
    created_at: datetime
    #: "ok", "warning" or "critical"; None for a model registered before the checks.
    health: str | None
    #: Each fit's findings (mimicry.ranking.health.FitHealth as JSON); empty before the checks.
    fits: list[dict]
    #: Why the first hypotheses rank where they do (mimicry.ranking.attribution.HypothesisWhy).
    attribution: list[dict] = []


def model_health(run_id: str | None = None, stream: str | None = None) -> list[ModelHealthView]:
    """The health of the models of run ``run_id`` (its winner first), or else the newest chosen
    model of ``stream``, or else the newest chosen model of every stream (newest first)."""
    with connect(read_only=True) as session:
        query = (
            select(TrainedModel, Stream.name)
            .join(Run, Run.id == TrainedModel.run_id)
            .join(Stream, Stream.id == Run.stream_id)
        )
        if run_id is not None:
            query = query.where(TrainedModel.run_id == run_id).order_by(
                TrainedModel.chosen.desc(), TrainedModel.id
            )
        else:
            query = query.where(TrainedModel.chosen).order_by(
                TrainedModel.created_at.desc(), TrainedModel.id.desc()
            )
            if stream is not None:
                query = query.where(Stream.name == stream)
        views, seen = [], set()
        for record, name in session.execute(query):
            if run_id is None and name in seen:
                continue  # a stream's newest model only
            seen.add(name)
            views.append(
                ModelHealthView(
                    model_id=record.id,
                    run_id=record.run_id,
                    stream=name,
                    model_type=record.model_type,
                    chosen=record.chosen,
                    created_at=as_utc(record.created_at),
                    health=record.health,
                    fits=list(record.health_findings or []),
                    attribution=list((record.metrics or {}).get("attribution", [])),
                )
            )
        return views
