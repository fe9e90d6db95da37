"""What a pipeline run is asked to do: the parameters of the ``pipeline`` and ``sieve`` flows.

Prefect validates a flow run's parameters against these models (a deployment run from CI with a
bad ``--param`` fails before any work starts), and the CLI builds the same models from its flags.
"""

from __future__ import annotations

from pathlib import Path

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

Range = tuple[int, int]
#: The most draws a survivor's continuation may predict.
MAX_PREDICT = 100_000


class SieveSettings(BaseModel):
    """The sieve flags of ``mimicry sieve`` and ``mimicry run``, as given. ``None`` means "not
    given": Step 1 may choose such a value, where an explicit one is pinned; the machine's
    settings fill ``backend``, ``chunk_size`` and ``extension_limit`` (:meth:`resolved`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    projection: str = "mod"
    #: Up to 2^31 where the projection takes a bound, its own range (up to 2^64) where it has
    #: one; the ranking pipeline takes 2^31 at most (:class:`PipelineRequest`).
    modulus: int = Field(1000, ge=2, le=MAX_FIXED_MODULUS)
    window: int | None = Field(None, ge=1)
    window_start: int | None = Field(None, ge=0)
    #: Inclusive seed (or state) range; ``None``: the family's whole space.
    seeds: Range | None = None
    #: Calls made before the stream's first draw (seed mode), LO..HI: a bound Step 1 searches
    #: within, or the exact value when LO == HI.
    offsets: Range | None = None
    skip: Range | None = None
    variable_skip: bool | None = None
    max_misses: int | None = Field(None, ge=0)
    min_matches: int | None = Field(None, ge=1)
    mode: Mode = Mode.SEED
    #: Sieve backend (``None``: ``MIMICRY_BACKEND``).
    backend: str | None = None
    #: Candidates per chunk (``None``: ``MIMICRY_CHUNK_SIZE``, else the backend's default).
    chunk_size: int | None = Field(None, ge=1)
    #: Draws the bidirectional check compares on each side (``None``:
    #: ``MIMICRY_EXTENSION_LIMIT``).
    extension_limit: int | None = Field(None, ge=0)
    #: Draws to predict past the newest (a continuation is held in memory: bounded).
    predict: int = Field(5, ge=0, le=MAX_PREDICT)
    top: int = Field(20, ge=0)

    @field_validator("seeds", "offsets", "skip")
    @classmethod
    def _ranges(cls, value, info):
        if value is not None:
            check_range(info.field_name, value)
        return value

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str | None) -> str | None:
        if value is not None and value not in BACKEND_NAMES:
            raise ValueError(f"unknown backend {value!r}; known: {', '.join(BACKEND_NAMES)}")
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
    """Steps 2.5–6: held-out draws, folds, searches, the permutation null, the pool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Newest draws held out: max(holdout_min, ceil(holdout_fraction · N)).
    holdout_fraction: float = Field(0.1, gt=0, lt=0.5)
    holdout_min: int = Field(20, ge=5)
    #: K: values in the predicted pool (chance of a hit: K/M).
    pool_size: int = Field(10, ge=1)
    #: Walk-forward cuts in the training draws, and the draws each cut's labels cover.
    folds: int = Field(6, ge=3)
    label_span: int = Field(100, ge=5)
    #: Chance decoys added to the sieve's survivors for the ranking.
    decoys: int = Field(200, ge=10)
    #: Optuna trials: Step 2.5, and Step 4 per model type.
    scorer_trials: int = Field(12, ge=1)
    model_trials: int = Field(4, ge=1)
    model_types: tuple[str, ...] = MODEL_NAMES
    #: Label shuffles of the permutation null (p-value resolution 1 / (permutations + 1)):
    #: at least 19, the fewest whose p-value can reach Step 5's gate at 0.05 (with fewer, no
    #: run could ever find signal).
    permutations: int = Field(19, ge=19)
    #: Hyperparameters pinned per model type (``{"mlp": {"learning_rate": 0.01}}``): every
    #: Optuna trial of that type takes them and searches the rest. Out-of-range values are
    #: allowed (the training-health checks are what judge the fit).
    model_params: dict[str, dict[str, float | int | str]] = Field(default_factory=dict)
    #: Register every model type's best, not only the winner's (docs/design.md §20): each
    #: fitted on every training cut, checked and tested once, for comparison or roll-back.
    save_all_models: bool = False
    #: TensorBoard event files of the training under this folder, on the machine that runs the
    #: flow (the ``tensorboard`` extra); unset: the ``MIMICRY_TENSORBOARD_DIR`` setting's.
    tensorboard_dir: str | None = None
    seed: int = 0

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
        unknown = [name for name in value if name not in MODEL_NAMES]
        if unknown or not value:
            raise ValueError(
                f"unknown model types {unknown}; known: {', '.join(MODEL_NAMES)}"
                if unknown
                else "name at least one model type"
            )
        return value


class PipelineRequest(BaseModel):
    """One run of the pipeline on one stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamName
    #: A draw file to ingest into the stream first (on the machine that runs the flow).
    draws_file: str | None = None
    #: Stream to read from a multi-session file, and the CSV column, as in ``mimicry ingest``.
    session: str | None = None
    column: str | None = None
    families: tuple[str, ...] = DEFAULT_FAMILIES
    sieve: SieveSettings = SieveSettings()
    #: Step 1: Optuna trials, and seeds (or states) each trial sieves.
    window_trials: int = Field(24, ge=0)
    trial_budget: int = Field(1 << 16, ge=1)
    ranking: RankingSettings = RankingSettings()
    #: Steps 2.5–6 after the sieve. Without them no draw is held out: Steps 1–2 read them all,
    #: so a history too short to hold out can still be searched.
    rank: bool = True
    #: The first searched draw: 0, or a change point (docs/design.md §17). Offsets, windows and
    #: the held-out split count from it; predictions keep the stream's positions.
    segment_start: int = Field(0, ge=0)
    #: The WATCHER decision that started the run, if one did (traced both ways).
    decision_id: int | None = None

    @field_validator("families")
    @classmethod
    def _families(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise JobFieldError("family", "name at least one family")
        names = []
        for name in value:
            try:
                names.append(get_family(name).name)
            except KeyError as error:
                raise JobFieldError("family", error.args[0]) from None
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
    (the WATCHER's ``retrain``): a new scorer, ranking, model, test and prediction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamName
    #: The completed search (a ``pipeline`` run) whose sieve jobs give the survivors.
    search_run_id: str
    ranking: RankingSettings = RankingSettings()
    decision_id: int | None = None


class SelfplayRequest(BaseModel):
    """Selfplay on one stream (the ``selfplay`` flow, ``mimicry selfplay``; docs/design.md §21)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: StreamName
    #: Episodes to run, at most (fewer when the budget is spent or one promotes).
    episodes: int = Field(1, ge=1, le=1000)
    #: CPU-seconds of replays this request may spend, at most (``None``: the policy's daily
    #: budget alone).
    budget_seconds: float | None = Field(None, gt=0, le=10**9, allow_inf_nan=False)
    #: The WATCHER's policy file (``None``: ``MIMICRY_HOME/watcher.toml``, or the defaults).
    policy_file: str | None = None
    #: The advisor's parameter proposals, enqueued as a candidate (``{"parameter", "value"}``).
    proposals: tuple[dict[str, float | str], ...] = ()
    #: The WATCHER decision that scheduled it, if one did.
    decision_id: int | None = None
