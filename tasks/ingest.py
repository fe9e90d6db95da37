"""Ingest as a Prefect task (:mod:`mimicry.draws.ingest`): retried only when retrying can help."""

from __future__ import annotations

from prefect import task

from mimicry.draws.ingest import ingest_file
from tasks import transient

ingest_task = task(
    ingest_file, name="ingest", retries=2, retry_delay_seconds=1, retry_condition_fn=transient
)
