"""Step 1, window optimisation: which window, offsets, skips and match threshold to sieve with.

Optuna's TPE sampler proposes a configuration per trial within the bounds the request gives
(flags given as a single value are pinned; a range such as ``--offsets 0..64`` is a bound the
trial may narrow), and each trial sieves a *budget* of candidates (the first ``trial_budget``
seeds or states of the range) with it. The objective is the significance of what the trial finds
over chance, ``-log10`` of its best survivor's search-wide p-value (0 when nothing survives), never
the raw survivor count, which rewards short windows and chance. Each trial's chance expectation
is recorded beside it.

When no trial is significant (the truth lies outside the budget, or there is no generator) the
choice falls back to the request's own configuration, so Step 2 sieves exactly what the user
asked for. The study lives in the store's database (Optuna's RDB storage), named after its
inputs, so an interrupted run resumes it instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from gpu_kernels.job import JobFieldError, Mode, SieveJob, check_search_space
from gpu_kernels.registry import get_family
from mimicry.requests import PipelineRequest, SieveSettings
from mimicry.search.sieve import run_sieve
from mimicry.search.statistics import SIGNIFICANCE_LEVEL

if TYPE_CHECKING:
    import optuna

#: The window a run sieves when ``--window`` is not given and Step 1 finds nothing better.
DEFAULT_WINDOW = 8
#: Window sizes Step 1 tries when ``--window`` is not given.
WINDOW_SIZES = (4, 16)
#: Step 1 places windows in the oldest part of the training draws: the draws after a window are
#: its bidirectional check and the walk-forward folds of Steps 2.5–5 (whose features may not
#: read a window draw after their cut).
WINDOW_REGION = 0.5
#: A trial is significant when its best survivor's p-value is below the sieve's level.
SIGNIFICANT = -math.log10(SIGNIFICANCE_LEVEL)
#: Caps -log10(p) so that an exact hit (p underflows to 0) stays a finite objective. Trials at
#: the cap are told apart by the share of checked draws their best survivor matched, then by the
#: smaller search (a constant skip that explains every draw beats a variable one that explains
#: fewer; Occam's razor among equally certain answers).
MAX_SIGNIFICANCE = 300.0


class WindowConfig(BaseModel):
    """A sieve configuration for one stream: everything of a :class:`SieveJob` but the family,
    the candidate range and the window values.

    ``offsets`` count the calls made before the stream's first draw, as a job's do, so moving
    the window never moves the generator. (State mode enumerates the state at the window
    itself: its offsets are always 0.)
    """

    model_config = ConfigDict(frozen=True)

    window_start: int
    window_size: int
    offsets: tuple[int, int]
    skips: tuple[int, int]
    variable_skip: bool
    min_matches: int | None
    max_misses: int | None

    def job(
        self,
        history: Sequence[int],
        family: str,
        sieve: SieveSettings,
        candidates: tuple[int, int] | None = None,
        source: str = "the history",
    ) -> SieveJob:
        """The one way a job is built from flags (``mimicry sieve``, ``mimicry run``, Step 1's
        trials): :class:`JobFieldError` (or pydantic's error carrying one) names the field at
        fault. ``candidates``: the flags' seeds, else the family's whole space; ``source``:
        what the history is called in an error (a file's name)."""
        start, size = self.window_start, self.window_size
        if start + size > len(history):
            raise JobFieldError(
                "window_start",
                f"a window of {size} draws from index {start} needs draws {start}.."
                f"{start + size - 1}, but {source} has {len(history)} draws",
            )
        if candidates is None:
            candidates = candidate_range(family, sieve)
        return SieveJob(
            family=family,
            projection=sieve.projection,
            modulus=sieve.modulus,
            window=tuple(history[start : start + size]),
            window_start=start,
            mode=sieve.mode,
            candidate_range=candidates,
            offsets=self.offsets if sieve.mode is Mode.SEED else (0, 0),
            skips=self.skips,
            variable_skip=self.variable_skip,
            min_matches=self.min_matches,
            max_misses=self.max_misses,
        )


class WindowChoice(BaseModel):
    """What Step 1 decided and why."""

    config: WindowConfig
    #: "pinned" (nothing to search), "optimised" (a significant trial), "fallback" (none was).
    source: str
    trials: int
    best_significance: float
    study_name: str | None = None


def candidate_range(family: str, sieve: SieveSettings) -> tuple[int, int]:
    """The seeds (or states) the flags name, else the family's default range in the mode."""
    if sieve.seeds is not None:
        return sieve.seeds
    check_search_space(family, sieve.mode, None)
    return get_family(family).default_candidates(sieve.mode)


def requested_config(history_size: int, sieve: SieveSettings) -> WindowConfig:
    """The configuration the flags say, with ``mimicry sieve``'s defaults where they are silent."""
    size = sieve.window or min(DEFAULT_WINDOW, history_size)
    return WindowConfig(
        window_start=sieve.window_start or 0,
        window_size=size,
        offsets=sieve.offsets or (0, 0),
        skips=sieve.skip or (0, 0),
        variable_skip=bool(sieve.variable_skip),
        min_matches=sieve.min_matches,
        max_misses=sieve.max_misses,
    )


def _free_choices(history_size: int, sieve: SieveSettings) -> list[str]:
    free = []
    if sieve.window is None and history_size > WINDOW_SIZES[0]:
        free.append("window")
    if sieve.window_start is None:
        free.append("window_start")
    if sieve.min_matches is None:
        free.append("min_matches")
    if sieve.offsets is not None and sieve.offsets[1] > sieve.offsets[0]:
        free.append("offsets")
    if sieve.skip is not None and sieve.skip[1] > sieve.skip[0]:
        free.append("skips")
        if sieve.variable_skip is None:
            free.append("variable_skip")
    return free


def _suggest(trial: optuna.Trial, history_size: int, sieve: SieveSettings) -> WindowConfig:
    base = requested_config(history_size, sieve)
    free = set(_free_choices(history_size, sieve))
    size = base.window_size
    if "window" in free:
        size = trial.suggest_int("window", WINDOW_SIZES[0], min(WINDOW_SIZES[1], history_size))
    start = base.window_start
    if "window_start" in free:
        # A fraction, so the range does not depend on the window size TPE chose.
        fraction = trial.suggest_float("window_start_fraction", 0.0, 1.0)
        start = round(fraction * max(0, int(WINDOW_REGION * history_size) - size))
    start = min(start, history_size - size)
    offsets, skips, variable = base.offsets, base.skips, base.variable_skip
    if "offsets" in free:
        lo, hi = sieve.offsets
        offsets = (lo, trial.suggest_int("offset_max", lo, hi, log=lo > 0))
    if "skips" in free:
        lo, hi = sieve.skip
        skips = (lo, trial.suggest_int("skip_max", lo, hi))
    if "variable_skip" in free:
        variable = trial.suggest_categorical("variable_skip", [False, True])
    min_matches = base.min_matches
    if "min_matches" in free:
        min_matches = trial.suggest_int("min_matches", max(1, (size + 1) // 2), size)
    elif min_matches is not None:
        min_matches = min(min_matches, size)
    max_misses = base.max_misses if variable else None
    if max_misses is not None:
        max_misses = min(max_misses, size - 1)
    return WindowConfig(
        window_start=start,
        window_size=size,
        offsets=offsets,
        skips=skips,
        variable_skip=variable,
        min_matches=min_matches,
        max_misses=max_misses,
    )


def study_name(family: str, history: Sequence[int], request: PipelineRequest) -> str:
    """Named after its inputs (not the stream's name): the same question on the same draws
    resumes the same study."""
    inputs = json.dumps(
        [list(history), request.sieve.model_dump(mode="json"), request.trial_budget],
        separators=(",", ":"),
    )
    digest = hashlib.sha256(inputs.encode()).hexdigest()[:16]
    return f"window-{family}-{digest}"


def optimize_window(
    history: Sequence[int],
    family: str,
    request: PipelineRequest,
    storage_url: str,
    seed: int = 0,
) -> WindowChoice:
    """Step 1 for one family on one stream's training draws (see the module doc)."""
    sieve = request.sieve
    requested = requested_config(len(history), sieve)
    if not _free_choices(len(history), sieve) or request.window_trials == 0:
        return WindowChoice(config=requested, source="pinned", trials=0, best_significance=0.0)
    # Imported only when there is a study to run: Optuna costs 0.1 s, a pinned run never needs it.
    from mimicry.store.studies import complete_trials, resumable_study

    lo, hi = candidate_range(family, sieve)
    budget = (lo, min(hi, lo + request.trial_budget - 1))

    def objective(trial: optuna.Trial) -> float:
        config = _suggest(trial, len(history), sieve)
        job = config.job(history, family, sieve, budget)
        # The run's backend, as Step 2's (the flow resolved it from the flags and settings); a
        # request nobody resolved names none, and its trials sieve on the cpu.
        result = run_sieve(
            history,
            job,
            backend=sieve.backend or "cpu",
            top=1,
            extension_limit=sieve.extension_limit,
        )
        best = result.survivors[0] if result.survivors else None
        best_p = best.p_value if best else 1.0
        checked = best.window["size"] + best.checked_before + best.checked_after if best else 1
        trial.set_user_attr("config", config.model_dump(mode="json"))
        trial.set_user_attr("match_rate", best.evidence / checked if best else 0.0)
        trial.set_user_attr("hypotheses", result.stats.hypotheses)
        trial.set_user_attr("expected_false_survivors", result.stats.expected_false_survivors)
        trial.set_user_attr("survivor_count", result.stats.survivor_count)
        trial.set_user_attr("best_p_value", best_p)
        if best_p <= 0.0:
            return MAX_SIGNIFICANCE
        return min(MAX_SIGNIFICANCE, -math.log10(best_p))

    name = study_name(family, history, request)
    study = resumable_study(name, storage_url, seed)
    complete_trials(study, objective, request.window_trials)
    best = max(
        (t for t in study.trials if t.value is not None),
        key=lambda t: (
            t.value,
            t.user_attrs.get("match_rate", 0.0),
            -t.user_attrs.get("hypotheses", 0),
        ),
    )
    significance = float(best.value)
    if significance < SIGNIFICANT:
        return WindowChoice(
            config=requested,
            source="fallback",
            trials=len(study.trials),
            best_significance=significance,
            study_name=name,
        )
    return WindowChoice(
        config=WindowConfig.model_validate(best.user_attrs["config"]),
        source="optimised",
        trials=len(study.trials),
        best_significance=significance,
        study_name=name,
    )
