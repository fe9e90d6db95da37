"""What every step of a flow shares: its wall time (the figures ``mimicry run --json`` reports as
``timings``), stopping at its boundary on SIGTERM, and the run's record while it is in progress
(its heartbeat; closed as failed when a step raises or a stop was requested)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flows.stopping import STOP, check_stop
from mimicry.records import beat_run, close_run
from mimicry.settings import get_settings


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
def run_in_progress(run_id: str) -> Iterator[None]:
    """The run's record while the flow works on it: a heartbeat every
    ``MIMICRY_HEARTBEAT_SECONDS`` says its process is alive (a run whose process dies is marked
    crashed, ``mimicry.store.runs.mark_crashed``), and a block that raises, or a stop, closes it
    as failed, with the reason, before the error propagates."""
    done = threading.Event()
    interval = get_settings().heartbeat_seconds

    def keep_beating() -> None:
        while not done.wait(interval):
            # A failed beat is left to the flow's own next write to report.
            with contextlib.suppress(Exception):
                beat_run(run_id)

    beating = threading.Thread(target=keep_beating, name=f"heartbeat {run_id}", daemon=True)
    beating.start()
    try:
        yield
        check_stop()
    except BaseException as error:
        reason = "stopped by SIGTERM" if STOP.is_set() else f"{type(error).__name__}: {error}"
        close_run(run_id, "failed", error=reason)
        raise
    finally:
        done.set()
        beating.join()
