"""What the advisor may say, typed (docs/design.md §16): every field an enum, a bounded number or a
bounded string or list, no key the schema does not name (``extra="forbid"``).

The same models are the grammar the model decodes under (``guidance.json(schema=StreamAdvice)``)
and the validation every answer passes afterwards, whichever backend gave it. An advice only
proposes: what may be applied is the acceptance engine's to decide (the WATCHER).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Travels with every advice; bump it with any change to the models below.
SCHEMA_VERSION = "3"

#: What a rationale may hold: printable ASCII but the quote and the backslash. No control
#: character, escape sequence, zero-width or bidirectional mark or look-alike letter can reach a
#: terminal or the store (issue 21), and every character is one byte of the answer, never an
#: escape: with the numbers' two decimals (``multipleOf``), the longest answer the grammar
#: admits has a known length, and a model's answer (each token at least one byte) fits in the
#: tokens it is given (``llm.backends.MAX_ANSWER_TOKENS``; docs/design.md §16).
RATIONALE_TEXT = r"^[ !#-\[\]-~]*$"
#: The longest rationale, in characters (and bytes): a sentence or two.
RATIONALE_LENGTH = 300


class Action(StrEnum):
    #: Nothing is wrong enough to act on yet.
    WAIT = "wait"
    #: Train the model again on the stream's newer draws (Steps 2.5-6 on the same survivors).
    RETRAIN = "retrain"
    #: Search again (Steps 1-6), e.g. after a change point.
    RESEARCH = "research"
    #: A person should look.
    ESCALATE = "escalate"


class FailureMode(StrEnum):
    NONE = "none"
    #: A stream that matched stops matching: what a re-seeded generator looks like.
    REGIME_SHIFT = "regime_shift"
    #: Hits go on, but at a rate the calibration did not promise.
    CALIBRATION_DRIFT = "calibration_drift"
    #: Held-out promise not kept from the first evaluations on.
    MODEL_OVERFIT = "model_overfit"
    #: What was seen is what chance gives.
    CHANCE = "chance"
    #: The draws themselves look wrong (gaps, repeats, out-of-order dates).
    DATA_QUALITY = "data_quality"
    #: The newest model's own training went wrong (a critical training-health finding:
    #: diverged, did not learn, exploding gradients, constant predictions), so it was not
    #: promoted.
    TRAINING_FAILED = "training_failed"


class RetrainScope(StrEnum):
    NONE = "none"
    #: The model only, on the same ranking.
    MODEL = "model"
    #: Steps 2.5-6: scorer, ranking and model.
    RANKING = "ranking"
    #: Steps 1-6: a new search.
    SEARCH = "search"


class Evidence(StrEnum):
    """Names of the bundle's metrics an advice may cite (the bundle lists those it holds)."""

    EVALUATED = "evaluated"
    HITS = "hits"
    HIT_RATE = "hit_rate"
    CHANCE = "chance"
    BINOMIAL_P = "binomial_p"
    CONSECUTIVE_MISSES = "consecutive_misses"
    CUMULATIVE_LOG_LOSS_GAIN = "cumulative_log_loss_gain"
    PROMISED_HIT_RATE = "promised_hit_rate"
    SIGNAL = "signal"
    TEST_HITS = "test_hits"
    TEST_P_VALUE = "test_p_value"
    NULL_P_VALUE = "null_p_value"
    VALIDATION_GAP = "validation_gap"
    DRAWS_SINCE_RUN = "draws_since_run"
    TRAINING_HEALTH = "training_health"


_Strict = ConfigDict(extra="forbid", use_enum_values=True)


class PoolSizeProposal(BaseModel):
    """K, the values in the predicted pool."""

    model_config = _Strict
    parameter: Literal["pool_size"]
    value: int = Field(ge=1, le=100)


class HoldoutProposal(BaseModel):
    """Share of the newest draws held out for the test."""

    model_config = _Strict
    parameter: Literal["holdout_fraction"]
    value: float = Field(ge=0.05, le=0.5, multiple_of=0.01)


class ModelTrialsProposal(BaseModel):
    """Step 4's Optuna trials per model type."""

    model_config = _Strict
    parameter: Literal["model_trials"]
    value: int = Field(ge=1, le=50)


class WindowTrialsProposal(BaseModel):
    """Step 1's Optuna trials per family."""

    model_config = _Strict
    parameter: Literal["window_trials"]
    value: int = Field(ge=1, le=200)


ParameterProposal = Annotated[
    PoolSizeProposal | HoldoutProposal | ModelTrialsProposal | WindowTrialsProposal,
    Field(discriminator="parameter"),
]

#: The parameters an advice may propose a value for (the acceptance engine's whitelist is its
#: own, and may be narrower).
PROPOSABLE = ("pool_size", "holdout_fraction", "model_trials", "window_trials")


class StreamAdvice(BaseModel):
    """What the advisor says about one stream, for the WATCHER's acceptance engine."""

    model_config = _Strict
    schema_version: Literal["3"]
    recommended_action: Action
    failure_mode: FailureMode
    retrain_scope: RetrainScope
    parameter_proposals: list[ParameterProposal] = Field(max_length=3)
    confidence: float = Field(ge=0.0, le=1.0, multiple_of=0.01)
    #: The bundle's metrics the advice relied on.
    evidence: list[Evidence] = Field(max_length=6)
    rationale: str = Field(min_length=1, max_length=RATIONALE_LENGTH, pattern=RATIONALE_TEXT)


def advice_schema(evidence_available: list[Evidence]) -> dict:
    """The JSON schema a model decodes under for one bundle: :class:`StreamAdvice`'s, with the
    evidence narrowed to the metrics that bundle holds (the grammar, not only the validation
    after it, keeps a model from citing a metric it was not given)."""
    schema = StreamAdvice.model_json_schema()
    names = [Evidence(name).value for name in evidence_available]
    items = {"enum": names} if names else {"not": {}}
    schema["properties"]["evidence"] = {
        **schema["properties"]["evidence"],
        "items": items,
        "maxItems": min(6, len(names)),
    }
    return schema
