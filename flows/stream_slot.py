"""One search or retrain per stream at a time (DESIGN.md §8): a Prefect global concurrency limit
of one slot per stream, created on first use and held for the whole flow run. A second run on the
same stream (the WATCHER's, a person's ``mimicry run``, a deployment run) waits for the slot; the
slot's lease lapses if the holder's process dies, so a crash never blocks the stream for good.
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
