"""Selfplay's replays as a Prefect task (:mod:`mimicry.selfplay.replay`): one origin of one
configuration, its score kept in the store for the next episode."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from mimicry.selfplay.replay import kept_or_replayed
from tasks import transient

# The store keeps the scores (keyed on the configuration and the draws); Prefect's cache would
# be a second copy of them.
replay_origin_task = task(
    kept_or_replayed,
    name="replay-origin",
    task_run_name="origin {origin}",
    cache_policy=NO_CACHE,
    retries=1,
    retry_condition_fn=transient,
)
