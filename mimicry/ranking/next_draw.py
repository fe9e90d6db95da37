"""A next-draw prediction as every layer passes it: the answer of Step 6, a stored row, a line of
``mimicry predict`` (kept apart from :mod:`mimicry.ranking.prediction`, which imports the ranking's
libraries, so the CLI can read an answer without them)."""

from __future__ import annotations

from pydantic import BaseModel

from mimicry.store.models import Prediction


class Calibration(BaseModel):
    """Where a pool's P(hit) comes from: the held-out test split's pools."""

    signal: bool
    test_hits: int
    test_draws: int
    reason: str


class NextDraw(BaseModel):
    stream: str
    run_id: str
    #: Stream position of the predicted draw (the number of draws known when predicting).
    position: int
    signal: str
    pool: list[int]
    p_hit: float
    p_hit_interval: tuple[float, float]
    chance: float
    distribution: list[float]
    statement: str
    #: The hypotheses behind the prediction, best first: label, score, predicted value.
    top_hypotheses: list[dict]

    # The mapping to and from the store's ``predictions`` row, both directions in one place.

    def record(self, stream_id: int, model_id: int | None) -> Prediction:
        """The store's row for this prediction, made by the registered model ``model_id``
        (None: no model, a chance-level prediction)."""
        low, high = self.p_hit_interval
        return Prediction(
            stream_id=stream_id,
            run_id=self.run_id,
            model_id=model_id,
            position=self.position,
            signal=self.signal,
            pool=self.pool,
            p_hit=self.p_hit,
            p_hit_low=low,
            p_hit_high=high,
            chance=self.chance,
            distribution=self.distribution,
            statement=self.statement,
            top_hypotheses=self.top_hypotheses,
        )

    @classmethod
    def from_record(cls, stream: str, row: Prediction) -> NextDraw:
        return cls(
            stream=stream,
            run_id=row.run_id,
            position=row.position,
            signal=row.signal,
            pool=row.pool,
            p_hit=row.p_hit,
            p_hit_interval=(row.p_hit_low, row.p_hit_high),
            chance=row.chance,
            distribution=row.distribution,
            statement=row.statement,
            top_hypotheses=row.top_hypotheses,
        )
