"""Step 6, predictions: a probability for every value of the next draw, a pool, and its odds.

With signal, the hypotheses' values for the next draw are weighted by the model's scores at that
point of the stream (features read every draw before it) and mixed with a uniform share; the pool
is the K most probable values. Its ``P(hit)`` is calibrated on the one evaluation that was never
tuned on, the held-out test split (hits of its pools, with a Clopper–Pearson interval), and set
beside the chance rate K/M. Without signal the distribution is uniform, ``P(hit)`` is exactly
K/M, and the statement says these are chance-level numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimicry.binomial import clopper_pearson
from mimicry.ranking.features import ScorerConfig, feature_matrix
from mimicry.ranking.forecast import distribution, pool, weights_from_scores
from mimicry.ranking.models import RankingModel
from mimicry.ranking.next_draw import Calibration, NextDraw
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.scoring import TrackBook


def predict_next(
    stream: str,
    run_id: str,
    population: Sequence[Hypothesis],
    model: RankingModel | None,
    config: ScorerConfig,
    history: Sequence[int],
    modulus: int,
    pool_size: int,
    calibration: Calibration,
    top: int = 5,
    first_position: int = 0,
) -> NextDraw:
    """The prediction for the draw after ``history``: draw ``first_position + len(history)`` of
    the stream, where ``history`` is the stream's draws from ``first_position`` on (the segment
    a run searched: the whole stream, or the draws after a change point)."""
    position = len(history)
    stream_position = first_position + position
    chance = pool_size / modulus
    if not calibration.signal or model is None or not population:
        uniform = [1.0 / modulus] * modulus
        return NextDraw(
            stream=stream,
            run_id=run_id,
            position=stream_position,
            signal="no_signal",
            pool=list(range(pool_size)),
            p_hit=chance,
            p_hit_interval=(chance, chance),
            chance=chance,
            distribution=uniform,
            statement=(
                f"No signal ({calibration.reason}). These are chance-level numbers: every value "
                f"is equally likely (1/{modulus}), and any {pool_size} values, these included, "
                f"hit with probability {chance:.3g}."
            ),
            top_hypotheses=[],
        )
    tracks = TrackBook(population, history, position + 1).at(position)
    scores = model.predict(feature_matrix(population, tracks, history, position, config, modulus))
    probabilities = distribution(
        tracks[:, position],
        weights_from_scores(scores, config.weight_power),
        modulus,
        config.uniform_mix,
    )
    chosen = pool(probabilities, pool_size)
    hits, draws = calibration.test_hits, calibration.test_draws
    p_hit = hits / draws if draws else chance
    interval = clopper_pearson(hits, draws)
    order = np.lexsort((np.arange(len(scores)), -scores))[:top]
    return NextDraw(
        stream=stream,
        run_id=run_id,
        position=stream_position,
        signal="signal",
        pool=chosen,
        p_hit=p_hit,
        p_hit_interval=interval,
        chance=chance,
        distribution=probabilities.tolist(),
        statement=(
            f"Signal ({calibration.reason}). On the {draws} held-out draws, pools chosen this way "
            f"hit {hits} times: P(hit) = {p_hit:.3g} (95% interval {interval[0]:.3g}–"
            f"{interval[1]:.3g}) against the chance rate {chance:.3g} of {pool_size} values "
            f"out of {modulus}."
        ),
        top_hypotheses=[
            {
                "hypothesis": population[h].label(),
                "score": float(scores[h]),
                "predicts": int(tracks[h, position]),
            }
            for h in order
        ],
    )
