"""What a pipeline run is asked to do: the parameters of the ``pipeline`` and ``sieve`` flows.

Prefect validates a flow run's parameters against these models (a deployment run from CI with a
bad ``--param`` fails before any work starts), and the CLI builds the same models from its flags.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpu_kernels.backends import BACKEND_NAMES
from gpu_kernels.projections import MAX_MODULUS
from gpu_kernels.registry import FAMILIES, get_family
from mimicry.jobs import Mode
from mimicry.models import MODEL_NAMES

#: Families sieved when a run names none: every one whose whole seed space (at most 2^32
#: seeds) can be swept on one machine.
DEFAULT_FAMILIES = tuple(sorted(name for name, f in FAMILIES.items() if f.seed_bits <= 32))

Range = tuple[int, int]


def _check_range(name: str, value: Range | None) -> Range | None:
    if value is not None and not 0 <= value[0] <= value[1]:
        raise ValueError(f"{name} expects an inclusive range LO..HI with 0 <= LO <= HI")
    return value


class SieveSettings(BaseModel):
    """The sieve flags of ``mimicry sieve``, as given. ``None`` means "not given": Step 1 may
    choose such a value, where an explicit one is pinned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    projection: str = "mod"
    modulus: int = Field(1000, ge=2, le=MAX_MODULUS)
    window: int | None = Field(None, ge=1)
    window_start: int | None = Field(None, ge=0)
    #: Inclusive seed (or state) range; ``None``: the family's whole space.
    seeds: Range | None = None
    #: Calls made before the stream's first draw (seed mode), LO..HI: a bound Step 1 searches
    #: within, or the exact value when LO == HI. ``mimicry sieve --offsets`` counts from the
    #: window instead; the two agree when the window starts at the first draw.
    offsets: Range | None = None
    skip: Range | None = None
    variable_skip: bool | None = None
    max_misses: int | None = Field(None, ge=0)
    min_matches: int | None = Field(None, ge=1)
    mode: Mode = Mode.SEED
    backend: str = "cpu"
    chunk_size: int | None = Field(None, ge=1)
    predict: int = Field(5, ge=0)
    top: int = Field(20, ge=0)

    @field_validator("seeds", "offsets", "skip")
    @classmethod
    def _ranges(cls, value, info):
        return _check_range(info.field_name, value)

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value not in BACKEND_NAMES:
            raise ValueError(f"unknown backend {value!r}; known: {', '.join(BACKEND_NAMES)}")
        return value


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
    #: Label shuffles of the permutation null (p-value resolution 1 / (permutations + 1)).
    permutations: int = Field(19, ge=1)
    seed: int = 0

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

    stream: str = Field(min_length=1, max_length=200)
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

    @field_validator("families")
    @classmethod
    def _families(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one family")
        names = []
        for name in value:
            try:
                names.append(get_family(name).name)
            except KeyError as error:
                raise ValueError(error.args[0]) from None
        return tuple(dict.fromkeys(names))

    @model_validator(mode="after")
    def _candidates(self) -> PipelineRequest:
        if self.sieve.seeds is None:
            return self
        lo, hi = self.sieve.seeds
        for name in self.families:
            family = get_family(name)
            space = (
                family.full_state_range()
                if self.sieve.mode is Mode.STATE
                else (0, (1 << family.seed_bits) - 1)
            )
            if lo < space[0] or hi > space[1]:
                kind = "state" if self.sieve.mode is Mode.STATE else "seed"
                raise ValueError(
                    f"{kind} range {lo}..{hi} is outside {name}'s {kind} space "
                    f"{space[0]}..{space[1]}"
                )
        return self

    @model_validator(mode="after")
    def _state_mode(self) -> PipelineRequest:
        if self.sieve.mode is Mode.STATE:
            if self.sieve.offsets not in (None, (0, 0)):
                raise ValueError(
                    "state mode enumerates the state at the first window draw, so offsets must "
                    "be 0..0"
                )
            refused = [n for n in self.families if not get_family(n).state_search]
            if refused:
                raise ValueError(
                    f"state mode needs families whose whole state can be enumerated; "
                    f"not {', '.join(refused)}"
                )
        return self
