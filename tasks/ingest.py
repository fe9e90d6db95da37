"""Ingest as a Prefect task (:mod:`mimicry.ingest`): retried only when retrying can help."""

from __future__ import annotations

from prefect import task

from mimicry.draws import DrawFileError
from mimicry.ingest import ingest_file
from mimicry.names import BadName
from mimicry.store.streams import StoreConflict

#: Bad input stays bad: a retry would fail the same way (and say so twice).
NOT_RETRIED = (DrawFileError, StoreConflict, BadName)


def transient(task, task_run, state) -> bool:
    """Retry a failed ingest unless its input was at fault."""
    return not isinstance(state.result(raise_on_failure=False), NOT_RETRIED)


ingest_task = task(
    ingest_file, name="ingest", retries=2, retry_delay_seconds=1, retry_condition_fn=transient
)
