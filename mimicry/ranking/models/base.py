"""One fit/predict surface for every model type that ranks hypotheses (scikit-learn's idea).

A model regresses a hypothesis's hit rate on the draws after a cut from its features at the cut.
Every type takes its hyperparameters as a dict (``suggest`` proposes them for Optuna), fits
deterministically for a given seed, predicts, reports per-epoch or per-round diagnostics and a
feature importance, and round-trips through bytes for the model registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Self

import numpy as np

if TYPE_CHECKING:  # Optuna costs 0.1 s to import; runs that do not rank never need it
    import optuna


class Contributions(NamedTuple):
    """Why a model scores each row what it does: every feature's additive share of its output
    (TreeSHAP for the boosted trees, integrated gradients for the MLP), in the space the model
    adds in (``log-odds`` before the sigmoid, or the ``value`` itself)."""

    #: (rows, features): each feature column's contribution.
    values: np.ndarray
    #: (rows,): the output with no feature contributing (the expected value, or the baseline's).
    base: np.ndarray
    #: (rows,): the model's output in that space, which ``base + values.sum(axis=1)`` explains.
    output: np.ndarray
    scale: str


class RankingModel(ABC):
    #: Registry name: "mlp", "xgboost", "lightgbm", "catboost".
    name: ClassVar[str]
    #: What its diagnostics' losses are: "log_loss" (binary cross-entropy) or "rmse".
    loss: ClassVar[str]

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.params: dict[str, Any] = dict(params or {})
        self.seed = seed
        #: One dict per epoch (MLP) or boosting round: {"step", "train_loss", "valid_loss"
        #: (when a validation set was given), and "grad_norm" for the MLP}.
        self.diagnostics: list[dict[str, float]] = []

    @staticmethod
    @abstractmethod
    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        """Hyperparameters for one Optuna trial (this type's search space)."""

    @abstractmethod
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        categorical: Sequence[int] = (),
        X_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
    ) -> Self:
        """Fit on rows ``X`` (columns ``categorical`` hold integer category codes), labels
        ``y`` in [0, 1]; a validation set, when given, is only monitored (diagnostics)."""

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted label per row."""

    @abstractmethod
    def feature_importance(self, names: Sequence[str]) -> dict[str, float]:
        """Non-negative importance per feature name, summing to 1."""

    @abstractmethod
    def contributions(self, X: np.ndarray) -> Contributions:
        """Each feature column's share of the output for each row of ``X``."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        """The fitted model, for the registry."""

    @classmethod
    @abstractmethod
    def from_bytes(cls, data: bytes, params: dict[str, Any], seed: int) -> Self:
        """A fitted model back from :meth:`to_bytes`."""

    @staticmethod
    @abstractmethod
    def library_versions() -> dict[str, str]:
        """Versions of the libraries a fitted model depends on (for its sidecar)."""


class TableEncoder:
    """Feature rows as a model without native categories needs them: numeric columns
    standardised, categorical columns one-hot over the codes seen in training."""

    def __init__(self, categorical: Sequence[int] = ()) -> None:
        self.categorical = list(categorical)

    def fit(self, X: np.ndarray) -> Self:
        self.categories = {j: sorted(set(X[:, j].tolist())) for j in self.categorical}
        self.mean = X.mean(axis=0)
        self.std = X.std(axis=0)
        self.std[self.std == 0] = 1.0
        self.width = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        columns = []
        for j in range(self.width):
            if j in self.categories:
                columns.extend((X[:, j] == code).astype(np.float64) for code in self.categories[j])
            else:
                columns.append((X[:, j] - self.mean[j]) / self.std[j])
        return np.stack(columns, axis=1) if columns else np.zeros((len(X), 0))

    def source_columns(self) -> list[int]:
        """For each encoded column, the feature column it came from."""
        out = []
        for j in range(self.width):
            out.extend([j] * len(self.categories[j]) if j in self.categories else [j])
        return out


def normalised_importance(names: Sequence[str], raw: Sequence[float]) -> dict[str, float]:
    """Importances scaled to sum to 1 (equal shares when the model gives none)."""
    raw = [max(0.0, float(value)) for value in raw]
    total = sum(raw)
    if total <= 0:
        return {name: 1.0 / len(names) for name in names}
    return {name: value / total for name, value in zip(names, raw, strict=True)}


def fold_encoded(encoder: TableEncoder, encoded: Sequence[float]) -> list[float]:
    """Importances of encoded columns summed back onto the feature columns."""
    totals = [0.0] * encoder.width
    for column, value in zip(encoder.source_columns(), encoded, strict=True):
        totals[column] += float(value)
    return totals


def round_diagnostics(
    train: Sequence[float], valid: Sequence[float] | None
) -> list[dict[str, float]]:
    """Per boosting round: the train loss and, when monitored, the validation loss."""
    return [
        {"step": i, "train_loss": float(loss)} | ({"valid_loss": float(valid[i])} if valid else {})
        for i, loss in enumerate(train)
    ]
