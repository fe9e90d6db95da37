"""Step 2.5 as a Prefect task: the scorer meta-optimisation
(:mod:`mimicry.ranking.scorer_search`)."""

from __future__ import annotations

from prefect import task

from mimicry.ranking.scorer_search import optimize_scorer
from tasks import INPUTS_CODE_AND_STORE

optimize_scorer_task = task(
    optimize_scorer,
    name="scorer-meta-optimisation",
    retries=1,
    cache_policy=INPUTS_CODE_AND_STORE,
    persist_result=True,
)
