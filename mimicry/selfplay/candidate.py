"""A candidate configuration: the knobs of a run that selfplay explores, and the bounded space
it explores them in (docs/design.md §21).

A candidate is applied over a *base* request (the stream's champion, else its last search):
the stream, its modulus and projection, the seed range and the mode stay the base's, so a
candidate changes how a run looks for the generator, never which generators could be found.
Every knob has the policy's bounds (``ExplorationSpace``); a proposal outside them, the
advisor's included, never reaches a replay.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gpu_kernels.registry import get_family
from mimicry.requests import DEFAULT_FAMILIES, PipelineRequest, Range
from mimicry.search.window import DEFAULT_WINDOW

if TYPE_CHECKING:
    import optuna


def _ordered(name: str, bounds: tuple[int, int]) -> tuple[int, int]:
    low, high = bounds
    if low > high:
        raise ValueError(f"{name}: expected low <= high, got {low}..{high}")
    return bounds


class ExplorationSpace(BaseModel):
    """The bounds of every knob selfplay may turn (the policy's ``[selfplay.space]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Families a candidate may search (a non-empty subset of these).
    families: tuple[str, ...] = DEFAULT_FAMILIES
    #: Window sizes and where the window may start (a draw index of the training draws).
    window: tuple[int, int] = (4, 16)
    window_start: tuple[int, int] = (0, 32)
    #: Matches a window needs; None in a candidate: the sieve's own threshold.
    min_matches: tuple[int, int] = (2, 16)
    #: The largest offset and skip a candidate's ranges may reach (ranges start at 0).
    max_offset: int = Field(64, ge=0, le=100_000)
    max_skip: int = Field(4, ge=0, le=1000)
    #: Whether a candidate may use a variable skip.
    variable_skip: bool = True
    window_trials: tuple[int, int] = (8, 64)
    trial_budget: tuple[int, int] = (1 << 12, 1 << 18)
    scorer_trials: tuple[int, int] = (4, 24)
    model_trials: tuple[int, int] = (2, 8)
    pool_size: tuple[int, int] = (5, 50)

    @model_validator(mode="after")
    def _bounds(self) -> ExplorationSpace:
        for name in (
            "window",
            "window_start",
            "min_matches",
            "window_trials",
            "trial_budget",
            "scorer_trials",
            "model_trials",
            "pool_size",
        ):
            _ordered(name, getattr(self, name))
        if not self.families:
            raise ValueError("families: name at least one")
        for name in self.families:
            get_family(name)  # KeyError names the known ones
        return self


class Candidate(BaseModel):
    """One configuration of the knobs; ``None`` leaves a knob to the run (Step 1 chooses)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    families: tuple[str, ...]
    window: int | None = None
    window_start: int | None = None
    min_matches: int | None = None
    offsets: Range | None = None
    skip: Range | None = None
    #: None: Step 1 chooses (with a skip range), as a run's flags leave it.
    variable_skip: bool | None = None
    window_trials: int
    trial_budget: int
    scorer_trials: int
    model_trials: int
    pool_size: int

    @model_validator(mode="after")
    def _matches_fit_the_window(self) -> Candidate:
        size = self.window or DEFAULT_WINDOW
        if self.min_matches is not None and self.min_matches > size:
            raise ValueError(f"min_matches {self.min_matches} is above the window size {size}")
        return self

    @property
    def key(self) -> str:
        """The candidate's content hash: the same configuration is the same candidate."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def of(cls, request: PipelineRequest) -> Candidate:
        """The knobs a request has set (the champion's, or a search's)."""
        sieve = request.sieve
        return cls(
            families=request.families,
            window=sieve.window,
            window_start=sieve.window_start,
            min_matches=sieve.min_matches,
            offsets=sieve.offsets,
            skip=sieve.skip,
            variable_skip=sieve.variable_skip,
            window_trials=request.window_trials,
            trial_budget=request.trial_budget,
            scorer_trials=request.ranking.scorer_trials,
            model_trials=request.ranking.model_trials,
            pool_size=request.ranking.pool_size,
        )

    def applied_to(self, base: PipelineRequest) -> PipelineRequest:
        """``base`` with these knobs: a request Prefect and the CLI validate like any other
        (a candidate the base cannot run, e.g. a pool not below the modulus, raises here)."""
        sieve = base.sieve.model_copy(
            update={
                "window": self.window,
                "window_start": self.window_start,
                "min_matches": self.min_matches,
                "offsets": self.offsets,
                "skip": self.skip,
                "variable_skip": self.variable_skip,
            }
        )
        ranking = base.ranking.model_copy(
            update={
                "scorer_trials": self.scorer_trials,
                "model_trials": self.model_trials,
                "pool_size": self.pool_size,
            }
        )
        data: dict[str, Any] = base.model_dump() | {
            "families": self.families,
            "sieve": sieve.model_dump(),
            "ranking": ranking.model_dump(),
            "window_trials": self.window_trials,
            "trial_budget": self.trial_budget,
        }
        return PipelineRequest.model_validate(data)

    def outside(self, space: ExplorationSpace) -> str | None:
        """The first knob outside ``space``, in words; None when every one is inside."""
        unknown = [name for name in self.families if name not in space.families]
        if unknown or not self.families:
            return f"families {', '.join(unknown) or '(none)'} are not in the policy's space"
        checks: list[tuple[str, int | None, tuple[int, int]]] = [
            ("window", self.window, space.window),
            ("window_start", self.window_start, space.window_start),
            ("min_matches", self.min_matches, space.min_matches),
            ("window_trials", self.window_trials, space.window_trials),
            ("trial_budget", self.trial_budget, space.trial_budget),
            ("scorer_trials", self.scorer_trials, space.scorer_trials),
            ("model_trials", self.model_trials, space.model_trials),
            ("pool_size", self.pool_size, space.pool_size),
            ("offsets", self.offsets and self.offsets[1], (0, space.max_offset)),
            ("skip", self.skip and self.skip[1], (0, space.max_skip)),
        ]
        for name, value, (low, high) in checks:
            if value is not None and not low <= value <= high:
                return f"{name} {value} is outside the policy's bounds [{low}, {high}]"
        may_vary = self.variable_skip is not False and bool(self.skip) and self.skip[1] > 0
        if may_vary and not space.variable_skip:
            return "the policy's space allows no variable skip"
        return None


def suggest(trial: optuna.Trial, space: ExplorationSpace) -> Candidate:
    """A candidate inside ``space``, proposed by Optuna's sampler (TPE in a stream's study)."""
    families = tuple(
        name for name in space.families if trial.suggest_categorical(f"family.{name}", [1, 0])
    ) or (trial.suggest_categorical("family", list(space.families)),)

    def integer(name: str, bounds: tuple[int, int], log: bool = False) -> int:
        return trial.suggest_int(name, bounds[0], bounds[1], log=log)

    def maybe(name: str, bounds: tuple[int, int]) -> int | None:
        # "Let the run choose" is a value of its own: Step 1 may do better than any pin.
        return (
            integer(name, bounds) if trial.suggest_categorical(f"{name}.pinned", [0, 1]) else None
        )

    max_offset = integer("max_offset", (0, space.max_offset))
    max_skip = integer("max_skip", (0, space.max_skip))
    variable: bool | None = None
    if max_skip > 0:
        kinds = ["step1", "constant", "variable"] if space.variable_skip else ["constant"]
        variable = {"step1": None, "constant": False, "variable": True}[
            trial.suggest_categorical("skip_kind", kinds)
        ]
    window = maybe("window", space.window)
    # A window of W draws matches at most W of them (without a pinned window, the one a run
    # falls back on when Step 1 finds nothing).
    size = window or DEFAULT_WINDOW
    low, high = space.min_matches
    low, high = min(low, size), min(high, size)
    return Candidate(
        families=families,
        window=window,
        window_start=maybe("window_start", space.window_start),
        min_matches=maybe("min_matches", (low, high)),
        offsets=(0, max_offset),
        skip=(0, max_skip),
        variable_skip=variable if max_skip > 0 else False,
        window_trials=integer("window_trials", space.window_trials),
        trial_budget=integer("trial_budget", space.trial_budget, log=True),
        scorer_trials=integer("scorer_trials", space.scorer_trials),
        model_trials=integer("model_trials", space.model_trials),
        pool_size=integer("pool_size", space.pool_size),
    )


def trial_params(candidate: Candidate, space: ExplorationSpace) -> dict[str, Any]:
    """The Optuna parameters that make :func:`suggest` propose ``candidate``: how the champion
    and the advisor's proposals are enqueued as trials of a stream's study."""
    params: dict[str, Any] = {
        f"family.{name}": int(name in candidate.families) for name in space.families
    }
    for name in ("window", "window_start", "min_matches"):
        value = getattr(candidate, name)
        params[f"{name}.pinned"] = int(value is not None)
        if value is not None:
            params[name] = value
    params |= {
        "max_offset": candidate.offsets[1] if candidate.offsets else 0,
        "max_skip": candidate.skip[1] if candidate.skip else 0,
        "skip_kind": {None: "step1", False: "constant", True: "variable"}[candidate.variable_skip],
        "window_trials": candidate.window_trials,
        "trial_budget": candidate.trial_budget,
        "scorer_trials": candidate.scorer_trials,
        "model_trials": candidate.model_trials,
        "pool_size": candidate.pool_size,
    }
    return params
