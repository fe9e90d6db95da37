"""Stopping a flow on SIGTERM, whatever it is doing when the signal lands.

A signal handler that raises is not enough on its own: the exception appears wherever the main
thread happens to be, and Prefect's code there may turn it into an ordinary failure (seen: a
``TerminationSignal`` raised inside pydantic's serialisation of a task's context came out as a
``PydanticSerializationError``) or an ``except Exception`` may swallow it and let the run go on.
So the handler also sets :data:`STOP`, which every step boundary (:func:`check_stop`) and the
sieve's chunk loop read, and which the command reads after the flow: a requested stop is never
forgotten, and the run is closed as failed (``flows.steps.run_in_progress``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Set once a SIGTERM arrived; never cleared in the process.
STOP = threading.Event()


class Terminated(BaseException):
    """The process received SIGTERM. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way out (a task's, a retry's) takes it for a task's failure."""


def check_stop() -> None:
    """Raise :class:`Terminated` if a stop was requested."""
    if STOP.is_set():
        raise Terminated()


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Within the block a SIGTERM sets :data:`STOP` and raises :class:`Terminated` in the main
    thread. While a flow runs Prefect's own handler takes over and, on a SIGTERM, re-sends it
    here."""

    def stop(signum, frame):
        STOP.set()
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
