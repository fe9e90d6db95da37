"""Step 3 as Prefect tasks: the hypothesis population and full scoring (:mod:`mimicry.scoring`)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from mimicry.scoring import build_population, score_population

score_population_task = task(
    score_population,
    name="full-scoring",
    retries=1,
    cache_policy=INPUTS + TASK_SOURCE,
    persist_result=True,
)
build_population_task = task(build_population, name="hypothesis-population", retries=1)
