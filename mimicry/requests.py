"""What a pipeline run is asked to do: the parameters of the ``pipeline`` and ``sieve`` flows.

Prefect validates a flow run's parameters against these models (a deployment run from CI with a
bad ``--param`` fails before any work starts), and the CLI builds the same models from its flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpu_kernels.backends import BACKEND_NAMES
from gpu_kernels.job import (
    JobFieldError,
    Mode,
    check_range,
    check_search_space,
    check_state_offsets,
)
from gpu_kernels.projections import MAX_FIXED_MODULUS, MAX_MODULUS, PROJECTIONS, bound_problem
from gpu_kernels.registry import FAMILIES, get_family
from mimicry.draws import COLUMN_DESCRIPTION, SESSION_DESCRIPTION
from mimicry.names import StreamName
from mimicry.ranking.models import MODEL_NAMES
from mimicry.settings import Settings

#: Families sieved when a run names none: every one whose default seed range (at most 2^32
#: seeds) can be swept on one machine.
DEFAULT_FAMILIES = tuple(
    sorted(
        name
        for name, f in FAMILIES.items()
        if f.default_candidates("seed")[1] - f.default_candidates("seed")[0] < 1 << 32
    )
)

#: Names the run form offers as lists (docs/design.md §22): a misspelt one is refused before a
#: run starts. A family's aliases (``minstd``) are accepted and stored under the exact name.
FamilyName = Literal[tuple(sorted(FAMILIES))]
ProjectionName = Literal[tuple(sorted(PROJECTIONS))]
BackendName = Literal[BACKEND_NAMES]
ModelType = Literal[MODEL_NAMES]
#: An inclusive range [LO, HI] of non-negative integers (LO <= HI is checked with the field).
Range = tuple[
    Annotated[int, Field(ge=0, title="LO")],
    Annotated[int, Field(ge=0, title="HI")],
]
#: The most draws a survivor's continuation may predict.
MAX_PREDICT = 100_000


class SieveSettings(BaseModel):
    """How the sieve searches (Steps 1 and 2). A field left empty is Step 1's to choose in a
    pipeline run; one given is pinned. The machine's settings fill the backend, the chunk size
    and the extension limit."""

    # The descriptions are what the run form shows and what the CLI's --help says (one text:
    # docs/design.md §22); the Range fields take [LO, HI] here and LO..HI on the command line.
    model_config = ConfigDict(extra="forbid", frozen=True)

    projection: ProjectionName = Field(
        "mod",
        description="How the generator's words become draws (`mimicry families` lists the "
        "projections).",
    )
    # Up to 2^31 where the projection takes a bound, its own range (up to 2^64) where it has
    # one; the ranking pipeline takes 2^31 at most (PipelineRequest).
    modulus: int = Field(
        1000,
        ge=2,
        le=MAX_FIXED_MODULUS,
        description="M: draws are in [0, M) (a pipeline run takes up to 2^31).",
    )
    window: int | None = Field(
        None,
        ge=1,
        description="Window size W: the draws every candidate is compared with (default: Step "
        "1 chooses it; a sieve alone takes 8, or every draw if there are fewer).",
    )
    window_start: int | None = Field(
        None,
        ge=0,
        description="History index of the window's first draw (default: Step 1 chooses it; a "
        "sieve alone takes 0).",
    )
    seeds: Range | None = Field(
        None,
        description="Seeds (seed mode) or states (state mode) to search, an inclusive range "
        "(default: the family's whole space).",
    )
    offsets: Range | None = Field(
        None,
        description="Calls made before the stream's first draw (seed mode), an inclusive range: "
        "Step 1 searches within it, or takes it exactly when LO = HI (default: 0).",
    )
    skip: Range | None = Field(
        None, description="Calls dropped between observed draws, an inclusive range (default: 0)."
    )
    variable_skip: bool | None = Field(
        None,
        description="Choose each gap from the skip range (true), or keep one skip for every "
        "gap (false); empty: Step 1 tries both.",
    )
    max_misses: int | None = Field(
        None, ge=0, description="With a variable skip: window draws allowed to go unmatched."
    )
    min_matches: int | None = Field(
        None, ge=1, description="Window draws a candidate must match to survive (default: W)."
    )
    mode: Mode = Field(
        Mode.SEED,
        description="seed: enumerate seeds; state: enumerate the generator's state at the window.",
    )
    backend: BackendName | None = Field(
        None,
        description="Sieve backend: reference, cpu or gpu (default: the MIMICRY_BACKEND "
        "setting, else cpu).",
    )
    chunk_size: int | None = Field(
        None,
        ge=1,
        description="Candidates per chunk task (default: the MIMICRY_CHUNK_SIZE setting, else "
        "the backend's).",
    )
    extension_limit: int | None = Field(
        None,
        ge=0,
        description="Draws the bidirectional check compares on each side of the window "
        "(default: the MIMICRY_EXTENSION_LIMIT setting).",
    )
    # A continuation is held in memory: bounded.
    predict: int = Field(
        5, ge=0, le=MAX_PREDICT, description="Draws to predict past the newest one."
    )
    top: int = Field(20, ge=0, description="Survivors to show in the answer.")

    @field_validator("seeds", "offsets", "skip")
    @classmethod
    def _ranges(cls, value, info):
        if value is not None:
            check_range(info.field_name, value)
        return value

    @model_validator(mode="after")
    def _state_offsets(self) -> SieveSettings:
        check_state_offsets(self.mode, self.offsets)
        return self

    def resolved(self, settings: Settings) -> SieveSettings:
        """These flags with the machine's settings where they are silent: what a run records
        and every step reads, so no step looks the settings up again."""
        return self.model_copy(
            update={
                "backend": self.backend or settings.backend,
                "chunk_size": self.chunk_size or settings.chunk_size,
                "extension_limit": (
                    settings.extension_limit
                    if self.extension_limit is None
                    else self.extension_limit
                ),
            }
        )


class RankingSettings(BaseModel):
    """How Steps 2.5–6 rank, test and predict: the held-out draws, the walk-forward folds, the
    Optuna searches, the permutation null and the predicted pool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holdout_fraction: float = Field(
        0.1,
        gt=0,
        lt=0.5,
        description="Share of the newest draws held out for Step 5's test: max(holdout_min, "
        "ceil(share × draws)).",
    )
    holdout_min: int = Field(20, ge=5, description="Fewest newest draws held out.")
    pool_size: int = Field(
        10,
        ge=1,
        description="K: values in the predicted pool (a pool hits by chance with probability K/M).",
    )
    folds: int = Field(
        6, ge=3, description="Walk-forward cuts in the training draws (Steps 2.5 and 4)."
    )
    label_span: int = Field(100, ge=5, description="Draws each cut's labels cover.")
    decoys: int = Field(
        200, ge=10, description="Chance hypotheses added to the sieve's survivors for ranking."
    )
    scorer_trials: int = Field(12, ge=1, description="Step 2.5: Optuna trials of the scorer.")
    model_trials: int = Field(4, ge=1, description="Step 4: Optuna trials per model type.")
    model_types: tuple[ModelType, ...] = Field(
        MODEL_NAMES, description="Step 4: the model types compared."
    )
    # At least 19: the fewest whose p-value can reach Step 5's gate at 0.05 (with fewer, no
    # run could ever find signal).
    permutations: int = Field(
        19,
        ge=19,
        description="Step 5: label shuffles of the permutation null (p-values in steps of "
        "1/(shuffles + 1); at least 19).",
    )
    # Out-of-range values are allowed: the training-health checks are what judge the fit.
    model_params: dict[str, dict[str, float | int | str]] = Field(
        default_factory=dict,
        description='Step 4: hyperparameters pinned per model type, e.g. {"mlp": '
        '{"learning_rate": 0.01}}; every trial of that type takes them and searches the rest.',
    )
    # docs/design.md §20: each fitted on every training cut, checked and tested once.
    save_all_models: bool = Field(
        False,
        description="Register the best model of every type, not only the winner's (for "
        "comparison or roll-back).",
    )
    tensorboard_dir: str | None = Field(
        None,
        description="Folder for TensorBoard event files of the training, on the machine that "
        "runs the flow (the tensorboard extra; default: the MIMICRY_TENSORBOARD_DIR setting).",
    )
    seed: int = Field(
        0, description="Seed of the ranking's own randomness (decoys, folds, searches, shuffles)."
    )

    @field_validator("model_params")
    @classmethod
    def _model_params(cls, value: dict) -> dict:
        from mimicry.ranking.models import parameter_names

        for model_type, params in value.items():
            if model_type not in MODEL_NAMES:
                raise ValueError(
                    f"unknown model type {model_type!r}; known: {', '.join(MODEL_NAMES)}"
                )
            known = parameter_names(model_type)
            unknown = sorted(set(params) - set(known))
            if unknown:
                raise ValueError(
                    f"{model_type} has no hyperparameter {', '.join(map(repr, unknown))}; it "
                    f"searches {', '.join(known)}"
                )
        return value

    @field_validator("tensorboard_dir")
    @classmethod
    def _tensorboard_dir(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from mimicry.render.tensorboard import require_tensorboard

        require_tensorboard()
        if not value.strip() or Path(value).is_file():
            raise ValueError(f"expected a folder for the event files, got {value!r}")
        return value

    @field_validator("model_types")
    @classmethod
    def _model_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one model type")
        return value


class PipelineRequest(BaseModel):
    """One run of the pipeline on one stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamName = Field(
        description="The stream to search: its draws in the store, after draws_file's if given."
    )
    draws_file: str | None = Field(
        None,
        description="A draw file to ingest into the stream first (.txt, .csv or .json, oldest "
        "first; a path on the machine that runs the flow).",
    )
    session: str | None = Field(None, description=SESSION_DESCRIPTION)
    column: str | None = Field(None, description=COLUMN_DESCRIPTION)
    families: tuple[FamilyName, ...] = Field(
        DEFAULT_FAMILIES,
        description="Families to search (default: every one whose seeds are at most 2^32).",
    )
    sieve: SieveSettings = Field(
        SieveSettings(), description="How the sieve searches (Steps 1 and 2)."
    )
    window_trials: int = Field(
        24, ge=0, description="Step 1: Optuna trials per family choosing the window."
    )
    trial_budget: int = Field(
        1 << 16, ge=1, description="Step 1: seeds (or states) each trial sieves."
    )
    ranking: RankingSettings = Field(
        RankingSettings(), description="How Steps 2.5–6 rank, test and predict."
    )
    # Without Steps 2.5–6 no draw is held out: a history too short to hold out can still be
    # searched.
    rank: bool = Field(
        True,
        description="Rank, test and predict after the sieve (Steps 2.5–6); false: Steps 1–2 "
        "alone, on every draw.",
    )
    # docs/design.md §17: offsets, windows and the held-out split count from it; predictions
    # keep the stream's positions.
    segment_start: int = Field(
        0, ge=0, description="The first searched draw: 0, or a change point of the stream."
    )
    decision_id: int | None = Field(
        None,
        ge=1,
        description="The WATCHER decision that started the run (set by the WATCHER; leave empty).",
    )

    @field_validator("families", mode="before")
    @classmethod
    def _families(cls, value: object) -> object:
        """Exact names for aliases, each once; an unknown name is refused in the job's words."""
        if isinstance(value, str):
            value = (value,)
        if not isinstance(value, list | tuple):
            return value  # not a list: the type's own error
        if not value:
            raise JobFieldError("family", "name at least one family")
        names = []
        for name in value:
            try:
                names.append(get_family(name).name)
            except (KeyError, TypeError) as error:
                raise JobFieldError("family", str(error.args[0])) from None
        return tuple(dict.fromkeys(names))

    @model_validator(mode="after")
    def _ranked_projection(self) -> PipelineRequest:
        """The ranking reads draws in [0, M) with M <= 2^31 (its features, pools and
        distributions are over every value): the projections of a program's own output form
        (raw words, Java's nextInt() and nextLong(), the doubles) are `mimicry sieve`'s."""
        chosen = PROJECTIONS.get(self.sieve.projection)
        if chosen is not None and not chosen.in_pipeline:
            raise JobFieldError(
                "projection",
                f"`mimicry run` ranks draws in [0, M) with M up to {MAX_MODULUS}, and "
                f"projection {chosen.name} makes draws of its own form; search them with "
                "`mimicry sieve`",
            )
        if problem := bound_problem(self.sieve.modulus):
            raise JobFieldError("modulus", problem)
        return self

    @model_validator(mode="after")
    def _pool_below_modulus(self) -> PipelineRequest:
        """A pool of K values out of M hits by chance with probability K/M: K must leave values
        out, or every pool hits and nothing can be learned."""
        modulus, pool_size = self.sieve.modulus, self.ranking.pool_size
        if pool_size >= modulus:
            raise JobFieldError(
                "pool_size",
                f"must be below the modulus {modulus} (a pool of every value always "
                f"hits), got {pool_size}",
            )
        return self

    @model_validator(mode="after")
    def _search_spaces(self) -> PipelineRequest:
        """Every family can be searched in the mode, over the seeds given: the job's rules."""
        for name in self.families:
            check_search_space(name, self.sieve.mode, self.sieve.seeds)
        return self


#: ``runs.parameters['kind']`` of a retrain; a search (a ``pipeline`` run) has no kind.
RETRAIN_KIND = "retrain"


class RetrainRequest(BaseModel):
    """Steps 2.5–6 again on a search's stored survivors and the stream's draws as they are now
    (the WATCHER's `retrain`): a new scorer, ranking, model, test and prediction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamName = Field(description="The stream to rank again.")
    search_run_id: str = Field(
        description="The completed search (a pipeline run's id in the store) whose survivors "
        "are ranked again."
    )
    ranking: RankingSettings = Field(
        RankingSettings(), description="How Steps 2.5–6 rank, test and predict."
    )
    decision_id: int | None = Field(
        None,
        ge=1,
        description="The WATCHER decision that started the run (set by the WATCHER; leave empty).",
    )


class SelfplayRequest(BaseModel):
    """Selfplay on one stream (the `selfplay` flow, `mimicry selfplay`; docs/design.md §21)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamName = Field(description="The stream whose history the episodes replay.")
    episodes: int = Field(
        1,
        ge=1,
        le=1000,
        description="Episodes to run, at most (fewer when the budget is spent or one promotes).",
    )
    budget_seconds: float | None = Field(
        None,
        gt=0,
        le=10**9,
        allow_inf_nan=False,
        description="CPU-seconds of replays to spend, at most (default: the policy's daily "
        "budget).",
    )
    policy_file: str | None = Field(
        None,
        description="The WATCHER's policy TOML (default: watcher.toml in MIMICRY_HOME, else "
        "the defaults).",
    )
    proposals: tuple[dict[str, float | str], ...] = Field(
        (),
        description='The advisor\'s parameter proposals, tried as one candidate: {"parameter": '
        'NAME, "value": VALUE} each.',
    )
    decision_id: int | None = Field(
        None,
        ge=1,
        description="The WATCHER decision that scheduled it (set by the WATCHER; leave empty).",
    )
