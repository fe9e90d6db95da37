"""The model types that rank hypotheses, behind one interface (:class:`RankingModel`)."""

from __future__ import annotations

from mimicry.models.base import RankingModel

MODEL_NAMES = ("mlp", "xgboost", "lightgbm", "catboost")


def get_model_type(name: str) -> type[RankingModel]:
    """The model class called ``name`` (imported on demand: each pulls in a large library)."""
    if name == "mlp":
        from mimicry.models.mlp import TorchMLP

        return TorchMLP
    if name == "xgboost":
        from mimicry.models.gbm_xgboost import XGBoostModel

        return XGBoostModel
    if name == "lightgbm":
        from mimicry.models.gbm_lightgbm import LightGBMModel

        return LightGBMModel
    if name == "catboost":
        from mimicry.models.gbm_catboost import CatBoostModel

        return CatBoostModel
    raise KeyError(f"unknown model type {name!r}; known: {', '.join(MODEL_NAMES)}")


__all__ = ["MODEL_NAMES", "RankingModel", "get_model_type"]
