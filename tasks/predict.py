"""Step 6 as a Prefect task: the next-draw prediction (:mod:`mimicry.ranking.prediction`)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from mimicry.ranking.prediction import predict_next

# A fitted model is not an input Prefect can hash for a cache key; predicting is cheap anyway.
predict_task = task(predict_next, name="predictions", cache_policy=NO_CACHE)
