"""Step 4 as a Prefect task: model selection (:mod:`mimicry.ranking.selection`)."""

from __future__ import annotations

from prefect import task

from mimicry.ranking.selection import select_model
from tasks import INPUTS_CODE_AND_STORE

select_model_task = task(
    select_model,
    name="model-selection",
    retries=1,
    cache_policy=INPUTS_CODE_AND_STORE,
    persist_result=True,
)
