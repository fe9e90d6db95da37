"""The model types that rank hypotheses, behind one interface (:class:`RankingModel`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimicry.ranking.models.base import RankingModel
    from mimicry.store.scoring import StoredModel

MODEL_NAMES = ("mlp", "xgboost", "lightgbm", "catboost")


def get_model_type(name: str) -> type[RankingModel]:
    """The model class called ``name`` (imported on demand: each pulls in a large library)."""
    if name == "mlp":
        from mimicry.ranking.models.mlp import TorchMLP

        return TorchMLP
    if name == "xgboost":
        from mimicry.ranking.models.gbm_xgboost import XGBoostModel

        return XGBoostModel
    if name == "lightgbm":
        from mimicry.ranking.models.gbm_lightgbm import LightGBMModel

        return LightGBMModel
    if name == "catboost":
        from mimicry.ranking.models.gbm_catboost import CatBoostModel

        return CatBoostModel
    raise KeyError(f"unknown model type {name!r}; known: {', '.join(MODEL_NAMES)}")


class _ParameterNames:
    """Stands in for an Optuna trial to read the names a type's ``suggest`` asks for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def suggest_int(self, name: str, low, high, **_options):
        self.names.append(name)
        return low

    suggest_float = suggest_int

    def suggest_categorical(self, name: str, choices):
        self.names.append(name)
        return choices[0]


def parameter_names(name: str) -> list[str]:
    """The hyperparameters model type ``name`` searches (what ``model_params`` may pin)."""
    reader = _ParameterNames()
    get_model_type(name).suggest(reader)
    return reader.names


class ModelSchemaMismatch(ValueError):
    """A registered model was trained on other features than the current schema."""


def load_stored(stored: StoredModel, schema_hash: str) -> RankingModel:
    """A registered model, fitted as it was stored, if it was trained on the feature schema
    ``schema_hash``; :class:`ModelSchemaMismatch` otherwise (its features would be others)."""
    if stored.schema_hash != schema_hash:
        raise ModelSchemaMismatch(
            f"model {stored.id} ({stored.model_type}) was trained on feature schema "
            f"{stored.schema_hash}, but the current schema is {schema_hash}; retrain it "
            "(mimicry run) instead of using it"
        )
    model_type = get_model_type(stored.model_type)
    return model_type.from_bytes(stored.artifact, stored.params, stored.seed)


def __getattr__(name: str):
    # RankingModel on first use: the base imports Optuna, which the sieve-only paths (requests,
    # the CLI) do not need at start-up.
    if name == "RankingModel":
        from mimicry.ranking.models.base import RankingModel

        return RankingModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODEL_NAMES", "ModelSchemaMismatch", "RankingModel", "get_model_type", "load_stored"]
