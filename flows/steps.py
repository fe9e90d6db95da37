"""What every step of a flow shares: its wall time (the figures ``mimicry run --json`` reports as
``timings``), and closing the run as failed when a step raises."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from mimicry.records import close_run


@contextmanager
def step(timings: dict[str, float], name: str) -> Iterator[None]:
    """Adds the wall time of the block to ``timings[name]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


@contextmanager
def failing_closes(run_id: str) -> Iterator[None]:
    """A run whose flow raises is closed as failed, with the error, before it propagates."""
    try:
        yield
    except BaseException as error:
        close_run(run_id, "failed", error=f"{type(error).__name__}: {error}")
        raise
