"""LightGBM gradient boosting behind the :class:`RankingModel` surface.

The native training API (no scikit-learn needed): cross-entropy objective (labels are hit rates
in [0, 1]), native categorical columns, one thread, deterministic mode and a fixed seed. Per
boosting round it records train and validation cross-entropy.
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


class LightGBMModel(RankingModel):
    name = "lightgbm"
    loss = "log_loss"

    @staticmethod
    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "rounds": trial.suggest_int("rounds", 20, 300, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 48, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 5, 60, log=True),
            "bagging_fraction": trial.suggest_float("bagging_fraction", 0.6, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10, log=True),
        }

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        categorical: Sequence[int] = (),
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
    ) -> Self:
        import lightgbm

        params = {k: v for k, v in self.params.items() if k != "rounds"} | {
            "objective": "cross_entropy",
            "num_threads": 1,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "bagging_freq": 1,
            "verbosity": -1,
        }
        categories = list(categorical) or "auto"
        train = lightgbm.Dataset(
            np.asarray(X, dtype=np.float64),
            label=np.clip(y, 0, 1),
            categorical_feature=categories,
            free_raw_data=False,
        )
        sets, names = [train], ["train"]
        if X_valid is not None and y_valid is not None:
            sets.append(
                lightgbm.Dataset(
                    np.asarray(X_valid, dtype=np.float64),
                    label=np.clip(y_valid, 0, 1),
                    categorical_feature=categories,
                    reference=train,
                )
            )
            names.append("valid")
        history: dict = {}
        self._booster = lightgbm.train(
            params,
            train,
            num_boost_round=int(self.params.get("rounds", 100)),
            valid_sets=sets,
            valid_names=names,
            callbacks=[lightgbm.record_evaluation(history)],
        )
        self.diagnostics = round_diagnostics(
            history["train"]["cross_entropy"], history.get("valid", {}).get("cross_entropy")
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._booster.predict(np.asarray(X, dtype=np.float64)).astype(np.float64)

    def feature_importance(self, names: Sequence[str]) -> dict[str, float]:
        return normalised_importance(names, self._booster.feature_importance("gain"))

    def contributions(self, X: np.ndarray) -> Contributions:
        """TreeSHAP through LightGBM's own ``pred_contrib``, in log-odds."""
        rows = np.asarray(X, dtype=np.float64)
        raw = np.asarray(self._booster.predict(rows, pred_contrib=True), dtype=np.float64)
        output = np.asarray(self._booster.predict(rows, raw_score=True), dtype=np.float64)
        return Contributions(raw[:, :-1], raw[:, -1], output, "log-odds")

    def to_bytes(self) -> bytes:
        return self._booster.model_to_string().encode()

    @classmethod
    def from_bytes(cls, data: bytes, params: dict[str, Any], seed: int) -> Self:
        import lightgbm

        model = cls(params, seed)
        model._booster = lightgbm.Booster(model_str=data.decode())
        return model

    @staticmethod
    def library_versions() -> dict[str, str]:
        import lightgbm

        return {"lightgbm": lightgbm.__version__, "numpy": np.__version__}
