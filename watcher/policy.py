"""The WATCHER's policy: every threshold, budget and bound its decisions use, from a TOML file.

``MIMICRY_HOME/watcher.toml`` (or ``--policy FILE``); a missing file means the defaults, which work
out of the box. Unknown keys are refused with the key named, so a misspelt bound never silently
falls back to a default. Every field is read by code in :mod:`watcher` (a test changes each one and
shows a decision change).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from mimicry.selfplay.candidate import ExplorationSpace

#: A finite number (``inf`` and ``nan`` refused: an infinite timeout overflows the clock).
Finite = Annotated[float, Field(allow_inf_nan=False)]
#: A parameter's absolute bounds, inclusive: never derived from the advisor's numbers.
Bounds = tuple[Finite, Finite]

#: Every duration and count has a finite ceiling, so no value that passes the check can break
#: the arithmetic of a tick later (a timeout of 1e12 minutes overflows ``datetime``).
MAX_MINUTES = 366 * 24 * 60
MAX_DRAWS = 10**9


class PolicyError(ValueError):
    """A policy file that cannot be used; ``str()`` is one sentence naming the file and key."""


class Acceptance(BaseModel):
    """What the acceptance engine lets through of an advice's parameter proposals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Parameters a proposal may change; anything else is rejected.
    whitelist: tuple[str, ...] = ("pool_size", "model_trials", "window_trials")
    #: Absolute bounds per parameter; a whitelisted parameter without bounds is rejected.
    bounds: dict[str, Bounds] = {
        "pool_size": (5, 50),
        "holdout_fraction": (0.1, 0.4),
        "model_trials": (2, 20),
        "window_trials": (8, 64),
    }
    #: The largest change relative to the current value: |new - current| / current.
    max_relative_change: float = Field(0.5, gt=0, le=100, allow_inf_nan=False)
    #: Changes within this relative change are applied without a person; larger ones (up to
    #: ``max_relative_change``) wait for approval.
    auto_accept_relative_change: float = Field(0.25, ge=0, le=100, allow_inf_nan=False)
    #: Proposals applied at once, at most; the rest are rejected.
    max_changes: int = Field(2, ge=0, le=100)
    #: A change that undoes one of this parameter's changes in the stream's last N decisions
    #: that applied any is rejected.
    reversal_window: int = Field(3, ge=0, le=10_000)
    #: Minutes after a parameter's change before it may change again.
    cooldown_minutes: float = Field(60.0, ge=0, le=MAX_MINUTES, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds_are_ranges(self) -> Acceptance:
        for name, (low, high) in self.bounds.items():
            if not low <= high:
                raise ValueError(f"acceptance.bounds.{name}: expected low <= high")
        return self


class Selfplay(BaseModel):
    """Selfplay's budget, replay and gate (docs/design.md §21)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Episodes the WATCHER schedules per stream a day, at most, on an idle stream (no trigger
    #: fired, no run in flight); 0 turns scheduling off (``mimicry selfplay`` still runs).
    episodes_per_day: int = Field(0, ge=0, le=10_000)
    #: CPU-seconds of replays per stream a day, at most: no episode starts beyond it.
    cpu_seconds_per_day: float = Field(3600.0, ge=0, le=10**9, allow_inf_nan=False)
    #: Replay origins (alternately exploration and confirmation; at least one of each), the
    #: draws each predicts, and the newest draws selfplay never reads (the live scoring's).
    origins: int = Field(4, ge=2, le=1000)
    horizon: int = Field(10, ge=1, le=MAX_DRAWS)
    live_draws: int = Field(20, ge=0, le=MAX_DRAWS)
    #: Draws an origin trains on, at least.
    min_training: int = Field(60, ge=10, le=MAX_DRAWS)
    #: The gate: the level spent over every candidate tried since the last promotion, and the
    #: least hit-rate gain per draw worth a promotion.
    alpha: float = Field(0.01, gt=0, lt=1, allow_inf_nan=False)
    min_effect: float = Field(0.05, ge=0, le=1, allow_inf_nan=False)
    #: Who approves a promotion: ``auto`` or a ``person`` (the decision's approval form).
    promotion_approval: Literal["auto", "person"] = "auto"
    #: Minutes after a promotion before the stream's next one.
    cooldown_minutes: float = Field(60.0, ge=0, le=MAX_MINUTES, allow_inf_nan=False)
    #: A candidate equal to one of the stream's last N demoted or reverted champions is
    #: refused.
    reversal_window: int = Field(3, ge=0, le=10_000)
    #: The arbiter: scored draws of a champion's live predictions before its promise is
    #: judged, and the level of the anytime-valid test that demotes it.
    demotion_min_draws: int = Field(10, ge=1, le=MAX_DRAWS)
    demotion_alpha: float = Field(0.01, gt=0, lt=1, allow_inf_nan=False)
    space: ExplorationSpace = ExplorationSpace()


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Significance of every trigger that compares with chance or with a run's promise.
    alpha: float = Field(0.01, gt=0, lt=1, allow_inf_nan=False)
    #: W: the newest evaluated draws the hit-rate collapse test reads.
    collapse_window: int = Field(30, ge=1, le=MAX_DRAWS)
    #: N: draws since the last run or retrain that make the model stale.
    stale_draws: int = Field(500, ge=1, le=MAX_DRAWS)
    #: Draws since the last search that make a no-signal stream worth one more search.
    new_data_draws: int = Field(200, ge=1, le=MAX_DRAWS)
    #: Draws after a change point before they are searched: a search ranks only what it can
    #: hold draws out of, and too few draws match a chance seed as well as the true one.
    research_min_draws: int = Field(12, ge=1, le=MAX_DRAWS)
    #: Searches (research) per stream per day, at most; what is over it escalates or waits.
    searches_per_day: int = Field(2, ge=0, le=10_000)
    #: Ask the advisor when a trigger fired (its advice only proposes; see the acceptance).
    consult_advisor: StrictBool = True
    #: Who approves a retrain: ``auto`` or a ``person``.
    retrain_approval: Literal["auto", "person"] = "auto"
    #: Who approves a research: ``auto``, ``person``, or ``auto_if_no_bigger`` (auto when the
    #: search is no bigger than the stream's last completed one, a person otherwise).
    research_approval: Literal["auto", "person", "auto_if_no_bigger"] = "auto_if_no_bigger"
    #: A model type whose final fit was critical (its run not promoted) in this many trainings
    #: of a stream in a row is left out of the stream's next ``skip_for_trainings`` trainings
    #: (0: never left out); when every type would be left out, a person is asked.
    skip_after_critical: int = Field(1, ge=0, le=1000)
    skip_for_trainings: int = Field(3, ge=0, le=1000)
    #: Minutes a decision waits for a person before it is rejected.
    approval_timeout_minutes: float = Field(60.0, gt=0, le=MAX_MINUTES, allow_inf_nan=False)
    acceptance: Acceptance = Acceptance()
    selfplay: Selfplay = Selfplay()


def load_policy(path: Path) -> Policy:
    """The policy in ``path``; the defaults when it does not exist."""
    if not path.exists():
        return Policy()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{path}: cannot be read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not TOML ({error})") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        if first["type"] == "extra_forbidden":
            raise PolicyError(f"{path}: unknown key {key!r}") from None
        raise PolicyError(f"{path}: {key}: {first['msg']}") from None
