"""One search or retrain per stream at a time (DESIGN.md §8): a Prefect global concurrency limit
of one slot per stream, created on first use and held for the whole flow run. A second run on the
same stream (the WATCHER's, a person's ``mimicry run``, a deployment run) waits for the slot; the
slot's lease lapses if the holder's process dies, so a crash never blocks the stream for good.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress

#: Characters Prefect refuses in a limit's name (and anything else not plainly readable).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def slot_name(stream: str) -> str:
    """The limit's name: readable in the UI's Concurrency page, unique per stream (a digest
    tells apart names that read the same once their unsafe characters are replaced)."""
    digest = hashlib.sha256(stream.encode()).hexdigest()[:8]
    return f"mimicry-stream-{_UNSAFE.sub('_', stream)[:60]}-{digest}"


@contextmanager
def one_run_per_stream(stream: str) -> Iterator[None]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = slot_name(stream)
    # Created once; an operator's later change of its limit is kept.
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    with concurrency(name, occupy=1, strict=True):
        yield
