"""Step 2.5 as a Prefect task: the scorer meta-optimisation (:mod:`mimicry.scorer_search`)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from mimicry.scorer_search import optimize_scorer

optimize_scorer_task = task(
    optimize_scorer,
    name="scorer-meta-optimisation",
    retries=1,
    cache_policy=INPUTS + TASK_SOURCE,
    persist_result=True,
)
