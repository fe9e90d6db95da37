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

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Set once a SIGTERM arrived; never cleared in the process.
STOP = threading.Event()
#: Set while the decision this process runs in-process was cancelled by a person (``mimicry
#: cancel``): its run stops at the next boundary as on SIGTERM, but is closed ``cancelled``, and
#: the process goes on (a WATCHER tick has other streams to review). Cleared by the dispatch
#: once that run has ended.
CANCEL = threading.Event()


class Terminated(BaseException):
    """The process received SIGTERM. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way out (a task's, a retry's) takes it for a task's failure."""


class Cancelled(Terminated):
    """The decision whose run this process runs was cancelled (:data:`CANCEL`)."""


def stop_requested() -> bool:
    return STOP.is_set() or CANCEL.is_set()


def check_stop() -> None:
    """Raise :class:`Terminated` if a stop was requested (:class:`Cancelled` for a cancel)."""
    if STOP.is_set():
        raise Terminated()
    if CANCEL.is_set():
        raise Cancelled()


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


#: The variable through which a command that serves flows (``mimicry watch --serve``) names its
#: process to the flow runs Prefect starts for it in processes of their own.
OWNER_VARIABLE = "MIMICRY_OWNER_PID"
#: Seconds between a served flow run's looks at its owner.
OWNER_POLL_SECONDS = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (the pid was reused): not ours
        return False
    return True


def exit_with_owner() -> None:
    """In a flow run that a serving command started in a process of its own: exit at once when
    that command is gone. A SIGKILL of the command runs no handler, its Prefect server dies with
    it (parent-death signal), and the flow run's process would otherwise live on for minutes,
    retrying the dead server. What it left in the store is recovered by the next tick (its
    run's and decision's heartbeats stop: crashed, failed). Nothing here outside such a run."""
    owner = os.environ.get(OWNER_VARIABLE)
    if not owner or not owner.isdigit() or int(owner) == os.getpid():
        return
    owner_pid = int(owner)

    def watch() -> None:
        while _alive(owner_pid):
            time.sleep(OWNER_POLL_SECONDS)
        os._exit(137)  # as SIGKILL'd: no handler or hook may wait on the dead server

    threading.Thread(target=watch, name="exit with the owner", daemon=True).start()
