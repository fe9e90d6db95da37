"""Evaluate: score a stream's predictions against the draws that arrived, then predict again.

The ground-truth side of the autonomous loop. Every draw is scored once (a constraint of the
store), against the newest prediction for its position, that of the run current when it arrived:
hit in pool, the rank of the actual value in the distribution, and the log-likelihood gain over
the uniform distribution. Each evaluation
stores the stream's rolling metrics as they stand after it, with their inputs (counts, sums):
hit rate against K/M with an exact binomial test, cumulative log-likelihood gain, consecutive
misses. Then the latest ranking run predicts the next draw with its registered model, without
retraining (retraining is the WATCHER's decision).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel
from sqlalchemy import select

from mimicry.ranking.features import ScorerConfig
from mimicry.ranking.forecast import binom_p_value
from mimicry.ranking.next_draw import Calibration, NextDraw
from mimicry.ranking.population import Hypothesis
from mimicry.ranking.prediction import predict_next
from mimicry.search.continuation import best_survivor, continuation_prediction
from mimicry.store.database import connect
from mimicry.store.models import Evaluation, PopulationRecord, Prediction, Run, TrainedModel
from mimicry.store.predictions import (
    latest_prediction,
    latest_ranked_run,
    pending_predictions,
    save_prediction,
    stream_evaluations,
)
from mimicry.store.registry import load_model
from mimicry.store.streams import require_stream, stored_values


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


def rolling_metrics(previous: list[Evaluation], hit: bool, gain: float, chance: float) -> dict:
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
        "binomial_p": binom_p_value(hits, count, chance),
        "cumulative_log_loss_gain": sum(e.log_loss_gain for e in previous) + gain,
        "consecutive_misses": misses,
    }


def score_prediction(prediction: Prediction, actual: int, previous: list[Evaluation]) -> Scored:
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


def predicting_run(session, stream_id: int) -> Run | None:
    """The run whose predictions the stream gets: its newest completed run when that ranked
    its hypotheses or found an overwhelmingly significant survivor, else the latest run that
    ranked; None when none can predict."""
    newest = session.scalar(
        select(Run)
        .where(Run.stream_id == stream_id, Run.state == "completed")
        .order_by(Run.created_at.desc())
        .limit(1)
    )
    if newest is not None and (
        session.get(PopulationRecord, newest.id) is not None
        or best_survivor(session, newest) is not None
    ):
        return newest
    return latest_ranked_run(session, stream_id)


def make_prediction(session, stream: str, record, history: list[int], pool_size: int):
    """Predict draw ``len(history)`` with the stream's predicting run (:func:`predicting_run`)
    and store it: a ranked run's registered model, or an unranked run's best survivor's
    continuation (:mod:`mimicry.search.continuation`). None when no run can predict yet."""
    run = predicting_run(session, record.id)
    if run is None:
        return None
    first_position = int((run.parameters or {}).get("segment_start") or 0)
    if session.get(PopulationRecord, run.id) is None:
        hypothesis, expected_false = best_survivor(session, run)
        result = continuation_prediction(
            stream,
            run.id,
            hypothesis,
            expected_false,
            history[first_position:],
            first_position,
            record.modulus,
            pool_size,
        )
        return save_prediction(session, record.id, result, model_id=None), result
    population_record = session.get(PopulationRecord, run.id)
    config = ScorerConfig.model_validate(population_record.scorer_config)
    population = [Hypothesis.model_validate(h) for h in population_record.hypotheses]
    model_record = session.scalar(select(TrainedModel).where(TrainedModel.run_id == run.id))
    model = None
    calibration = Calibration(signal=False, test_hits=0, test_draws=0, reason="no model")
    if model_record is not None:
        calibration = Calibration.model_validate(model_record.metrics["calibration"])
        if calibration.signal:
            model = load_model(session, model_record.id, config.schema_hash)
    # The run searched the stream from its segment's start; its hypotheses count from there.
    result = predict_next(
        stream,
        run.id,
        population,
        model,
        config,
        history[first_position:],
        record.modulus,
        pool_size,
        calibration,
        first_position=first_position,
    )
    model_id = model_record.id if model_record else None
    prediction = save_prediction(session, record.id, result, model_id=model_id)
    return prediction, result


def evaluate_stream(stream: str, pool_size: int) -> tuple[list[Scored], NextDraw | None]:
    """Score the stream's draws that arrived since its last scored prediction, then predict
    the next draw.

    Draws arrive one by one (``mimicry evaluate``) or several at a time (``mimicry ingest``):
    each new draw is scored against the prediction for its position, made from the draws
    before it (a prediction stored earlier, or one made now from exactly those draws).
    """
    scored = []
    with connect() as session:
        # Locked: a tick and an ingest scoring the same stream at once score each draw once.
        record = require_stream(session, stream, lock=True)
        current = predicting_run(session, record.id)
        if current is None:
            # Nothing was ever predicted for the stream, nor can be: leave its draws unread.
            return scored, None
        history = stored_values(session, record)
        previous = stream_evaluations(session, record.id)
        scored_positions = {e.position for e in previous}
        pending = pending_predictions(session, record.id, len(history))
        if pending:
            for position in range(pending[0].position, len(history)):
                if position in scored_positions:  # scored once, whatever predicted it since
                    continue
                prediction = latest_prediction(session, record.id, position)
                if prediction is None:
                    made = make_prediction(session, stream, record, history[:position], pool_size)
                    if made is None:
                        break
                    prediction = made[0]
                result = score_prediction(prediction, history[position], previous)
                evaluation = Evaluation(
                    prediction_id=prediction.id, stream_id=record.id, **result.model_dump()
                )
                session.add(evaluation)
                session.flush()
                previous.append(evaluation)
                scored.append(result)
        existing = latest_prediction(session, record.id, len(history))
        if existing is not None and existing.run_id == current.id:
            return scored, NextDraw.from_record(stream, existing)
        made = make_prediction(session, stream, record, history, pool_size)
        return scored, made[1] if made else None
