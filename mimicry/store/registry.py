"""The model registry: fitted ranking models with their sidecars, refused under another schema."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mimicry.ranking.models import RankingModel, get_model_type
from mimicry.store.models import TrainedModel


class ModelSchemaMismatch(ValueError):
    """A registered model was trained on other features than the current schema."""


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


def load_model(session: Session, model_id: int, schema_hash: str) -> RankingModel:
    """The fitted model, if it was trained on the feature schema ``schema_hash``."""
    record = session.get(TrainedModel, model_id)
    if record is None:
        raise KeyError(f"no model {model_id} in the registry")
    if record.schema_hash != schema_hash:
        raise ModelSchemaMismatch(
            f"model {model_id} ({record.model_type}) was trained on feature schema "
            f"{record.schema_hash}, but the current schema is {schema_hash}; retrain it "
            "(mimicry run) instead of using it"
        )
    return get_model_type(record.model_type).from_bytes(record.artifact, record.params, record.seed)
