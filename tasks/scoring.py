"""Step 3 as Prefect tasks: the hypothesis population and full scoring
(:mod:`mimicry.ranking.scoring`)."""

from __future__ import annotations

from prefect import task

from mimicry.ranking.scoring import build_population, score_population
from tasks import INPUTS_CODE_AND_STORE

score_population_task = task(
    score_population,
    name="full-scoring",
    retries=1,
    cache_policy=INPUTS_CODE_AND_STORE,
    persist_result=True,
)
build_population_task = task(build_population, name="hypothesis-population", retries=1)
