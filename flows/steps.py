"""What every step of a flow shares: its wall time (the figures ``mimicry run --json`` reports as
``timings``), stopping at its boundary on SIGTERM, and closing the run as failed when a step
raises or a stop was requested."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flows.stopping import STOP, check_stop
from mimicry.records import close_run


@contextmanager
def step(timings: dict[str, float], name: str) -> Iterator[None]:
    """Adds the wall time of the block to ``timings[name]``; a stop requested before or during
    the step stops the flow at its boundary (:mod:`flows.stopping`)."""
    check_stop()
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
    check_stop()


@contextmanager
def failing_closes(run_id: str) -> Iterator[None]:
    """A run whose flow raises is closed as failed, with the error, before it propagates."""
    try:
        yield
        check_stop()
    except BaseException as error:
        reason = "stopped by SIGTERM" if STOP.is_set() else f"{type(error).__name__}: {error}"
        close_run(run_id, "failed", error=reason)
        raise
