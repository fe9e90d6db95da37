"""The model types that rank hypotheses, behind one interface (:class:`RankingModel`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimicry.ranking.models.base import RankingModel

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


def __getattr__(name: str):
    # RankingModel on first use: the base imports Optuna, which the sieve-only paths (requests,
    # the CLI) do not need at start-up.
    if name == "RankingModel":
        from mimicry.ranking.models.base import RankingModel

        return RankingModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODEL_NAMES", "RankingModel", "get_model_type"]
