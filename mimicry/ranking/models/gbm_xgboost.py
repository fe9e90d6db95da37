"""XGBoost gradient boosting behind the :class:`RankingModel` surface.

The native training API (no scikit-learn needed): logistic objective (labels are hit rates in [0,
1]), categories one-hot encoded (:class:`~mimicry.ranking.models.base.TableEncoder`), one thread
and a fixed seed, so a fit is reproducible. Per boosting round it records train and validation
log-loss.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import optuna

from mimicry.ranking.models.base import (
    Contributions,
    RankingModel,
    TableEncoder,
    fold_encoded,
    normalised_importance,
    round_diagnostics,
)


class XGBoostModel(RankingModel):
    name = "xgboost"
    loss = "log_loss"

    @staticmethod
    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "rounds": trial.suggest_int("rounds", 20, 300, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 6),
            "eta": trial.suggest_float("eta", 0.02, 0.3, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 10, log=True),
            "subsample": trial.suggest_float("subsample", 0.6, 1.0),
            "lambda": trial.suggest_float("lambda", 1e-3, 10, log=True),
        }

    def _booster_params(self) -> dict[str, Any]:
        params = {k: v for k, v in self.params.items() if k != "rounds"}
        return params | {
            "objective": "reg:logistic",
            "eval_metric": "logloss",
            "nthread": 1,
            "seed": self.seed,
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
        import xgboost

        X = np.asarray(X, dtype=np.float64)
        self._encoder = TableEncoder(categorical).fit(X)
        train = xgboost.DMatrix(self._encoder.transform(X), label=np.clip(y, 0, 1))
        evals = [(train, "train")]
        if X_valid is not None and y_valid is not None:
            valid = xgboost.DMatrix(self._encoder.transform(X_valid), label=np.clip(y_valid, 0, 1))
            evals.append((valid, "valid"))
        history: dict = {}
        self._booster = xgboost.train(
            self._booster_params(),
            train,
            num_boost_round=int(self.params.get("rounds", 100)),
            evals=evals,
            evals_result=history,
            verbose_eval=False,
        )
        self.diagnostics = round_diagnostics(
            history["train"]["logloss"], history.get("valid", {}).get("logloss")
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        import xgboost

        rows = xgboost.DMatrix(self._encoder.transform(X))
        return self._booster.predict(rows).astype(np.float64)

    def feature_importance(self, names: Sequence[str]) -> dict[str, float]:
        gains = self._booster.get_score(importance_type="gain")
        encoded = [gains.get(f"f{i}", 0.0) for i in range(len(self._encoder.source_columns()))]
        return normalised_importance(names, fold_encoded(self._encoder, encoded))

    def contributions(self, X: np.ndarray) -> Contributions:
        """TreeSHAP through XGBoost's own ``pred_contribs``, in log-odds; a categorical
        column's one-hot shares summed back onto it."""
        import xgboost

        rows = xgboost.DMatrix(self._encoder.transform(X))
        raw = self._booster.predict(rows, pred_contribs=True).astype(np.float64)
        values = np.array([fold_encoded(self._encoder, row) for row in raw[:, :-1]])
        output = self._booster.predict(rows, output_margin=True).astype(np.float64)
        return Contributions(values.reshape(len(raw), -1), raw[:, -1], output, "log-odds")

    def to_bytes(self) -> bytes:
        raw = bytes(self._booster.save_raw(raw_format="ubj"))
        return pickle.dumps({"booster": raw, "encoder": self._encoder})

    @classmethod
    def from_bytes(cls, data: bytes, params: dict[str, Any], seed: int) -> Self:
        import xgboost

        saved = pickle.loads(data)
        model = cls(params, seed)
        model._encoder = saved["encoder"]
        model._booster = xgboost.Booster(model_file=bytearray(saved["booster"]))
        return model

    @staticmethod
    def library_versions() -> dict[str, str]:
        import xgboost

        return {"xgboost": xgboost.__version__, "numpy": np.__version__}
