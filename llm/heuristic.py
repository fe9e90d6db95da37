"""The heuristic advisor: deterministic rules over the same bundle the model reads.

It answers when no model is configured or installed, and is what ``degraded`` means when a
model's answer is invalid twice or times out. Its rules compare what happened with what was
promised, one-sided and at a fixed level, as the WATCHER's triggers do (docs/design.md §17): a
no-signal stream never "collapses", and a handful of evaluations means nothing.
"""

from __future__ import annotations

from llm.bundle import ContextBundle
from llm.schemas import (
    RATIONALE_LENGTH,
    SCHEMA_VERSION,
    Action,
    Evidence,
    FailureMode,
    RetrainScope,
    StreamAdvice,
)
from mimicry.binomial import at_most

#: Fewer evaluations than this say nothing either way.
MIN_EVALUATIONS = 10
#: One-sided level at which a shortfall (or an excess over chance) counts.
LEVEL = 0.01


def _advice(
    action: Action,
    failure: FailureMode,
    scope: RetrainScope,
    confidence: float,
    evidence: list[Evidence],
    rationale: str,
    bundle: ContextBundle,
) -> StreamAdvice:
    available = set(bundle.evidence_available)
    return StreamAdvice(
        schema_version=SCHEMA_VERSION,
        recommended_action=action,
        failure_mode=failure,
        retrain_scope=scope,
        parameter_proposals=[],
        confidence=round(min(max(confidence, 0.0), 1.0), 2),
        evidence=[e for e in evidence if e in available],
        rationale=rationale[:RATIONALE_LENGTH],
    )


def heuristic_advice(bundle: ContextBundle) -> StreamAdvice:
    """The rules' advice for ``bundle``."""
    metrics = bundle.metrics
    run = bundle.latest_run
    if run is None:
        return _advice(
            Action.RESEARCH,
            FailureMode.NONE,
            RetrainScope.SEARCH,
            0.6,
            [],
            "The stream has no completed run to predict from: a search comes first.",
            bundle,
        )
    if run.not_promoted is not None:
        # Its newest model's training went wrong (docs/design.md §20): the stream still predicts
        # from the model before it; another training (the skip registry leaves that type out).
        return _advice(
            Action.RETRAIN,
            FailureMode.TRAINING_FAILED,
            RetrainScope.MODEL,
            0.7,
            [Evidence.TRAINING_HEALTH],
            f"The {run.model_type} model of the newest run had a critical training finding and "
            "was not promoted: retrain, leaving that type out.",
            bundle,
        )
    evaluated = int(metrics.get("evaluated") or 0)
    hits = int(metrics.get("hits") or 0)
    if evaluated < MIN_EVALUATIONS:
        return _advice(
            Action.WAIT,
            FailureMode.NONE,
            RetrainScope.NONE,
            0.5,
            [Evidence.EVALUATED],
            f"Only {evaluated} predictions have been scored; too few to judge.",
            bundle,
        )
    promised = metrics.get("promised_hit_rate")
    if run.signal == "signal" and isinstance(promised, float) and promised > 0:
        # How unlikely so few hits are if the run's held-out rate still held.
        shortfall_p = float(at_most(hits, evaluated, promised))
        misses = int(metrics.get("consecutive_misses") or 0)
        streak_p = (1.0 - promised) ** misses
        evidence = [Evidence.HITS, Evidence.EVALUATED, Evidence.PROMISED_HIT_RATE]
        if streak_p < LEVEL:
            return _advice(
                Action.RESEARCH,
                FailureMode.REGIME_SHIFT,
                RetrainScope.SEARCH,
                1.0 - streak_p,
                [*evidence, Evidence.CONSECUTIVE_MISSES],
                f"{misses} misses in a row where the run promised a hit rate of {promised:.3f} "
                f"(chance of such a streak {streak_p:.2g}): the generator may have been "
                "re-seeded; search again after the change.",
                bundle,
            )
        if shortfall_p < LEVEL:
            return _advice(
                Action.RETRAIN,
                FailureMode.CALIBRATION_DRIFT,
                RetrainScope.RANKING,
                1.0 - shortfall_p,
                evidence,
                f"{hits}/{evaluated} hits against a promised rate of {promised:.3f} (one-sided "
                f"p {shortfall_p:.2g}): the promise no longer holds.",
                bundle,
            )
        return _advice(
            Action.WAIT,
            FailureMode.NONE,
            RetrainScope.NONE,
            1.0 - LEVEL,
            evidence,
            f"{hits}/{evaluated} hits, in line with the promised rate {promised:.3f}.",
            bundle,
        )
    chance = metrics.get("chance")
    excess_p = metrics.get("binomial_p")
    if isinstance(excess_p, float) and excess_p < LEVEL:
        return _advice(
            Action.ESCALATE,
            FailureMode.NONE,
            RetrainScope.NONE,
            1.0 - excess_p,
            [Evidence.HITS, Evidence.EVALUATED, Evidence.CHANCE, Evidence.BINOMIAL_P],
            f"{hits}/{evaluated} hits where the run found no signal and chance is {chance}: "
            f"more than chance gives (p {excess_p:.2g}); a person should look.",
            bundle,
        )
    return _advice(
        Action.WAIT,
        FailureMode.CHANCE,
        RetrainScope.NONE,
        0.9,
        [Evidence.HITS, Evidence.EVALUATED, Evidence.CHANCE, Evidence.SIGNAL],
        f"{hits}/{evaluated} hits with chance {chance} and no signal: what chance gives.",
        bundle,
    )
