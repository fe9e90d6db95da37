"""CatBoost gradient boosting behind the :class:`RankingModel` surface.

RMSE on the hit rate (predictions clipped to [0, 1]), native categorical columns (integer codes),
one thread and a fixed seed. Per boosting round it records train and validation RMSE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import optuna

from mimicry.ranking.models.base import (
    Contributions,
    RankingModel,
    normalised_importance,
    round_diagnostics,
)


class CatBoostModel(RankingModel):
    name = "catboost"
    loss = "rmse"

    @staticmethod
    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "iterations": trial.suggest_int("iterations", 30, 300, log=True),
            "depth": trial.suggest_int("depth", 2, 6),
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.1, 10, log=True),
        }

    def _regressor(self):
        import catboost

        return catboost.CatBoostRegressor(
            loss_function="RMSE",
            random_seed=self.seed,
            thread_count=1,
            verbose=False,
            allow_writing_files=False,
            **self.params,
        )

    def _pool(self, X: np.ndarray, y: np.ndarray | None = None):
        import catboost

        rows = np.asarray(X, dtype=np.float64).astype(object)
        for j in self._categorical:
            rows[:, j] = rows[:, j].astype(np.int64)
        return catboost.Pool(rows.tolist(), label=y, cat_features=self._categorical or None)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        categorical: Sequence[int] = (),
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
    ) -> Self:
        self._categorical = list(categorical)
        labels = np.clip(y, 0, 1)
        features = np.asarray(X, dtype=np.float64)
        if len(labels) and (np.ptp(labels) == 0 or not np.ptp(features, axis=0).any()):
            # CatBoost refuses labels that are all equal ("All train targets are equal"), which
            # happens in a fold of chance draws where no hypothesis hits, and features that are
            # all constant ("All features are either constant or ignored"), as in a population
            # of decoys alone: neither says more than the labels' mean, which is the fit.
            self._model, self._constant = None, float(np.mean(labels))
            held = None
            if y_valid is not None:
                error = np.clip(y_valid, 0, 1) - self._constant
                held = [float(np.sqrt(np.mean(error**2)))]
            self.diagnostics = round_diagnostics([0.0], held)
            return self
        self._model, self._constant = self._regressor(), None
        valid = None
        if X_valid is not None and y_valid is not None:
            valid = self._pool(X_valid, np.clip(y_valid, 0, 1))
        self._model.fit(self._pool(X, labels), eval_set=valid)
        history = self._model.get_evals_result()
        train = history["learn"]["RMSE"]
        held = history.get("validation", {}).get("RMSE")
        self.diagnostics = round_diagnostics(train, held)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._model is None:
            return np.full(len(X), self._constant, dtype=np.float64)
        return np.clip(self._model.predict(self._pool(X)), 0, 1).astype(np.float64)

    def feature_importance(self, names: Sequence[str]) -> dict[str, float]:
        if self._model is None:
            return normalised_importance(names, [0.0] * len(names))
        return normalised_importance(names, self._model.get_feature_importance())

    def contributions(self, X: np.ndarray) -> Contributions:
        """TreeSHAP through CatBoost's own ``ShapValues``, in the predicted value (unclipped);
        a constant fit's features contribute nothing."""
        rows = len(X)
        if self._model is None:
            constant = np.full(rows, self._constant, dtype=np.float64)
            return Contributions(np.zeros((rows, np.shape(X)[1])), constant, constant, "value")
        pool = self._pool(X)
        raw = np.asarray(self._model.get_feature_importance(pool, type="ShapValues"), np.float64)
        output = np.asarray(self._model.predict(pool), dtype=np.float64)
        return Contributions(raw[:, :-1], raw[:, -1], output, "value")

    def to_bytes(self) -> bytes:
        import pickle

        return pickle.dumps(
            {"model": self._model, "constant": self._constant, "categorical": self._categorical}
        )

    @classmethod
    def from_bytes(cls, data: bytes, params: dict[str, Any], seed: int) -> Self:
        import pickle

        saved = pickle.loads(data)
        model = cls(params, seed)
        model._model, model._categorical = saved["model"], saved["categorical"]
        model._constant = saved.get("constant")
        return model

    @staticmethod
    def library_versions() -> dict[str, str]:
        import catboost

        return {"catboost": catboost.__version__, "numpy": np.__version__}
