"""Evaluate: score a stream's predictions against the draws that arrived, then predict again.

The ground-truth side of the autonomous loop (the arbiter). Every draw is scored once (a
constraint of the store), against the newest prediction for its position, that of the run
current when it arrived: hit in pool, the rank of the actual value in the distribution, and the
log-likelihood gain over the uniform distribution. Each evaluation stores the stream's rolling
metrics as they stand after it, with their inputs (counts, sums): hit rate against K/M with an
exact binomial test, cumulative log-likelihood gain, consecutive misses. Then the stream's
predicting run predicts the next draw with its registered model, without retraining
(retraining is the WATCHER's decision).

The deciding part is pure (:func:`scoring_plan`: a snapshot in, scores and predictions out); the
store reads the snapshot and writes the plan (:mod:`mimicry.store.scoring`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from mimicry.binomial import p_value_above_chance
from mimicry.ranking.next_draw import Calibration, NextDraw
from mimicry.search.continuation import best_survivor, continuation_prediction
from mimicry.store.scoring import (
    NewScore,
    PastScore,
    Predictor,
    ScoringSnapshot,
    save_scoring,
    scoring_snapshot,
)

#: Attempts at writing a stream's scores when other processes keep scoring it meanwhile.
WRITE_ATTEMPTS = 5


class Scored(BaseModel):
    position: int
    actual: int
    hit: bool
    rank: int
    log_loss_gain: float
    rolling: dict


def rank_of(distribution: list[float], actual: int) -> int:
    """1-based rank of ``actual``, ordered as pools are (probability, then smaller value)."""
    probabilities = np.asarray(distribution)
    p = probabilities[actual]
    return int(1 + (probabilities > p).sum() + (probabilities[:actual] == p).sum())


def rolling_metrics(previous: Sequence[PastScore], hit: bool, gain: float, chance: float) -> dict:
    hits = sum(e.hit for e in previous) + hit
    count = len(previous) + 1
    misses = 0
    for was_hit in [*(e.hit for e in previous), hit][::-1]:
        if was_hit:
            break
        misses += 1
    return {
        "evaluated": count,
        "hits": hits,
        "hit_rate": hits / count,
        "chance": chance,
        "binomial_p": p_value_above_chance(hits, count, chance),
        "cumulative_log_loss_gain": sum(e.log_loss_gain for e in previous) + gain,
        "consecutive_misses": misses,
    }


def score_prediction(prediction: NextDraw, actual: int, previous: Sequence[PastScore]) -> Scored:
    hit = actual in prediction.pool
    gain = math.log(prediction.distribution[actual]) + math.log(len(prediction.distribution))
    return Scored(
        position=prediction.position,
        actual=actual,
        hit=hit,
        rank=rank_of(prediction.distribution, actual),
        log_loss_gain=gain,
        rolling=rolling_metrics(previous, hit, gain, prediction.chance),
    )


def predicting_run(snapshot: ScoringSnapshot) -> Predictor | None:
    """The run whose predictions the stream gets: its newest completed run when that ranked
    its hypotheses or found an overwhelmingly significant survivor, else the latest run that
    ranked; None when none can predict."""
    newest = snapshot.newest
    if newest is not None and (newest.ranked or best_survivor(newest.jobs_best) is not None):
        return newest
    return snapshot.latest_ranked


def predict_with(
    predictor: Predictor, stream: str, history: Sequence[int], modulus: int, pool_size: int
) -> NextDraw:
    """The prediction of draw ``len(history)`` by ``predictor``: a ranked run's registered
    model, or an unranked run's best survivor's continuation (:mod:`mimicry.search.continuation`).
    The run searched the stream from its segment's start; its hypotheses count from there."""
    first_position = predictor.segment_start
    if not predictor.ranked:
        hypothesis, expected_false = best_survivor(predictor.jobs_best)
        return continuation_prediction(
            stream,
            predictor.run_id,
            hypothesis,
            expected_false,
            history[first_position:],
            first_position,
            modulus,
            pool_size,
        )
    # The ranking's libraries load only when a ranked run predicts.
    from mimicry.ranking.features import ScorerConfig
    from mimicry.ranking.models import load_stored
    from mimicry.ranking.population import Hypothesis
    from mimicry.ranking.prediction import predict_next

    config = ScorerConfig.model_validate(predictor.scorer_config)
    population = [Hypothesis.model_validate(h) for h in predictor.hypotheses]
    model = None
    calibration = Calibration(signal=False, test_hits=0, test_draws=0, reason="no model")
    if predictor.model is not None:
        calibration = Calibration.model_validate(predictor.model.metrics["calibration"])
        if calibration.signal:
            model = load_stored(predictor.model, config.schema_hash)
    return predict_next(
        stream,
        predictor.run_id,
        population,
        model,
        config,
        history[first_position:],
        modulus,
        pool_size,
        calibration,
        first_position=first_position,
    )


class ScoringPlan(BaseModel):
    """What scoring a stream decided: the new scores, and the next draw's prediction (stored
    already, or made now)."""

    scores: list[NewScore]
    next: NextDraw | None
    #: The next draw's prediction is new: the store keeps it (made by this model).
    next_is_new: bool = False
    next_model_id: int | None = None


def scoring_plan(snapshot: ScoringSnapshot, pool_size: int) -> ScoringPlan:
    """Score every draw not scored yet against the newest prediction for it (made now from
    exactly the draws before it when none was stored), then the next draw's prediction."""
    predictor = predicting_run(snapshot)
    if predictor is None:
        # Nothing was ever predicted for the stream, nor can be: leave its draws unread.
        return ScoringPlan(scores=[], next=None)
    model_id = predictor.model.id if predictor.ranked and predictor.model else None
    history, known = snapshot.history, len(snapshot.history)
    previous = list(snapshot.scored)
    scored_positions = {s.position for s in previous}
    stored = snapshot.predictions
    pending = [position for position in stored if position < known]
    scores = []
    for position in range(min(pending), known) if pending else ():
        if position in scored_positions:  # scored once, whatever predicted it since
            continue
        prediction_id, made = None, None
        if position in stored:
            prediction_id, prediction = stored[position]
        else:
            prediction = made = predict_with(
                predictor, snapshot.stream, history[:position], snapshot.modulus, pool_size
            )
        result = score_prediction(prediction, history[position], previous)
        scores.append(
            NewScore(
                **result.model_dump(),
                prediction_id=prediction_id,
                made=made,
                model_id=model_id if made is not None else None,
            )
        )
        previous.append(
            PastScore(position=position, hit=result.hit, log_loss_gain=result.log_loss_gain)
        )
    existing = stored.get(known)
    if existing is not None and existing[1].run_id == predictor.run_id:
        return ScoringPlan(scores=scores, next=existing[1])
    made_next = predict_with(predictor, snapshot.stream, history, snapshot.modulus, pool_size)
    return ScoringPlan(scores=scores, next=made_next, next_is_new=True, next_model_id=model_id)


def evaluate_stream(stream: str, pool_size: int) -> tuple[list[Scored], NextDraw | None]:
    """Score the stream's draws that arrived since its last scored prediction, then predict
    the next draw.

    Draws arrive one by one (``mimicry evaluate``) or several at a time (``mimicry ingest``):
    each new draw is scored against the prediction for its position, made from the draws
    before it (a prediction stored earlier, or one made now from exactly those draws). Another
    process that scores the stream meanwhile wins; this one reads the stream again.
    """
    for _ in range(WRITE_ATTEMPTS):
        snapshot = scoring_snapshot(stream)
        plan = scoring_plan(snapshot, pool_size)
        if not plan.scores and not plan.next_is_new:
            break
        made_next = plan.next if plan.next_is_new else None
        if save_scoring(snapshot, plan.scores, made_next, plan.next_model_id):
            break
    else:
        raise RuntimeError(f"stream {stream!r} kept being scored by other processes")
    scored = [Scored(**s.model_dump(include=set(Scored.model_fields))) for s in plan.scores]
    return scored, plan.next
