"""Why a hypothesis ranks where it does (docs/design.md §20): each feature's additive share of the
model's score for the top hypotheses, from the model's own attribution
(:meth:`~mimicry.ranking.models.base.RankingModel.contributions`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

#: Hypotheses of a run's ranking explained.
TOP = 5


class FeatureShare(BaseModel):
    model_config = ConfigDict(frozen=True)
    feature: str
    share: float


class HypothesisWhy(BaseModel):
    """One ranked hypothesis, its score, and the features' shares of it (largest first)."""

    model_config = ConfigDict(frozen=True)
    rank: int
    hypothesis: str
    score: float
    #: The space the shares add in ("log-odds" or "value"), and the output with no feature.
    scale: str
    base: float
    shares: tuple[FeatureShare, ...]


def explain_top(
    model,
    rows: np.ndarray,
    order: Sequence[int],
    labels: Sequence[str],
    scores: Sequence[float],
    features: Sequence[str],
    top: int = TOP,
) -> list[HypothesisWhy]:
    """The shares of the first ``top`` hypotheses of ``order`` (indices into ``rows``,
    ``labels`` and ``scores``), each feature once, largest magnitude first."""
    chosen = [int(h) for h in order[:top]]
    if not chosen:
        return []
    explained = model.contributions(np.asarray(rows)[chosen])
    whys = []
    for rank, (h, values, base) in enumerate(
        zip(chosen, explained.values, explained.base, strict=True), start=1
    ):
        pairs = zip(features, values, strict=True)
        shares = sorted(
            (FeatureShare(feature=name, share=float(v)) for name, v in pairs),
            key=lambda s: -abs(s.share),
        )
        whys.append(
            HypothesisWhy(
                rank=rank,
                hypothesis=labels[h],
                score=float(scores[h]),
                scale=explained.scale,
                base=float(base),
                shares=tuple(shares),
            )
        )
    return whys
