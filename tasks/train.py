"""Step 5 as a Prefect task: anti-overfit training and the test
(:mod:`mimicry.ranking.training`)."""

from __future__ import annotations

from prefect import task

from mimicry.ranking.training import train_alternatives, train_and_test

train_task = task(train_and_test, name="anti-overfit-training", retries=1)
train_alternatives_task = task(train_alternatives, name="every-model-type", retries=1)
