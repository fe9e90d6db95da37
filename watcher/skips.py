"""The skip registry (docs/design.md §20), pure: a model type whose training went wrong on a
stream sits out that stream's next trainings. A training went wrong when the type won its run
and its final fit was critical, so the run was not promoted
(:func:`mimicry.ranking.health.promotion_refusal`). After ``Policy.skip_after_critical`` such
trainings in a row, the type is left out of the next ``Policy.skip_for_trainings`` ranked runs
of the stream; when every type a run would train is left out, the WATCHER asks a person."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from mimicry.store.watch import RunFacts
from watcher.policy import Policy


def skipped_model_types(completed: Sequence[RunFacts], policy: Policy) -> dict[str, str]:
    """The model types the stream's next training leaves out, each with why. ``completed``:
    the stream's completed runs, newest first (as the snapshot holds them)."""
    if policy.skip_after_critical == 0 or policy.skip_for_trainings == 0:
        return {}
    streak: Counter[str] = Counter()
    left: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for run in reversed(completed):  # oldest first
        if not run.ranked or run.model_type is None:
            continue
        for model_type in left:
            left[model_type] -= 1  # a training since the type was left out
        if run.not_promoted is None:
            streak[run.model_type] = 0
            continue
        streak[run.model_type] += 1
        if streak[run.model_type] >= policy.skip_after_critical:
            streak[run.model_type] = 0
            left[run.model_type] = policy.skip_for_trainings
            reasons[run.model_type] = (
                f"{run.model_type} left out of {policy.skip_for_trainings} trainings: its final "
                f"fit was critical in {policy.skip_after_critical} training(s) in a row "
                f"(last: run {run.id})"
            )
    return {model_type: reasons[model_type] for model_type, n in left.items() if n > 0}
