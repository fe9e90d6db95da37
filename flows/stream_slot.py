"""One search or retrain per stream at once for deployed runs (docs/design.md §17): a Prefect global
concurrency limit of one slot per stream, created on first use and held for the whole flow run. A
second deployment run on the same stream (the WATCHER's dispatch, an operator's or CI's trigger)
waits for the slot; the server's repossessor frees a slot whose holder died when its lease lapses.

Runs outside a deployment (``mimicry run``, the WATCHER's in-process dispatch) take no slot: they
report to a temporary server, which runs no repossessor, and every temporary server shares one
database, so a killed run's slot would never be freed and every later run on its stream would
wait for good (seen: three killed test runs hung the runs after them). The WATCHER's own rule,
one open decision per stream, holds in both cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from mimicry.names import stream_label


def slot_name(stream: str) -> str:
    """The limit's name, readable on the UI's Concurrency page (Prefect refuses ``/``, ``%``,
    ``&``, ``<`` and ``>`` in it), one per stream."""
    return f"mimicry-stream-{stream_label(stream)}"


@contextmanager
def one_run_per_stream(stream: str) -> Iterator[None]:
    """The stream's slot held while the body runs, in a deployment's flow run; else nothing."""
    from prefect.runtime import deployment

    if deployment.id is None:
        yield
        return
    with stream_slot(stream):
        yield


@contextmanager
def stream_slot(stream: str) -> Iterator[None]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = slot_name(stream)
    # Created once (read first: a refused duplicate is logged as an error by the server); an
    # operator's later change of its limit is kept.
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):  # another run created it just now
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )
    with concurrency(name, occupy=1, strict=True):
        yield
