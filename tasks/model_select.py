"""Step 4 as a Prefect task: model selection (:mod:`mimicry.selection`)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from mimicry.selection import select_model

select_model_task = task(
    select_model,
    name="model-selection",
    retries=1,
    cache_policy=INPUTS + TASK_SOURCE,
    persist_result=True,
)
