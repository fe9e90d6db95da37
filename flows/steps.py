"""Wall time per pipeline step: the figures ``mimicry run --json`` reports as ``timings``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def step(timings: dict[str, float], name: str) -> Iterator[None]:
    """Adds the wall time of the block to ``timings[name]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
