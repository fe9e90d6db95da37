"""A next-draw prediction as every layer passes it: the answer of Step 6, what the store keeps
(``mimicry.store.predictions`` maps it to and from its row), a line of ``mimicry predict`` (kept
apart from :mod:`mimicry.ranking.prediction`, which imports the ranking's libraries, so the CLI
can read an answer without them)."""

from __future__ import annotations

from pydantic import BaseModel


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
