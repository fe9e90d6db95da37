"""The model registry: fitted ranking models with their sidecars (the domain loads them:
:func:`mimicry.ranking.models.load_stored`, which refuses one under another feature schema)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mimicry.store.models import TrainedModel


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
        "created_at": record.created_at.isoformat(),
    }
