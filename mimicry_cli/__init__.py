"""The ``mimicry`` command line: one typer app, its commands in one module per area."""

import atexit
import gc
import os
import signal
import sys


def _stopped_while_starting(signum, frame) -> None:
    """A SIGTERM before a command installs its own handler (the imports below take seconds):
    nothing was started or written yet, so the process ends at once with exit 143."""
    sys.stderr.write("mimicry: error: stopped by SIGTERM while starting; nothing was written\n")
    os._exit(143)


signal.signal(signal.SIGTERM, _stopped_while_starting)


def _leave_objects_to_the_os() -> None:
    """Runs last at exit (atexit is last-in, first-out, and this registers first), after Prefect
    has drained its log and event queues and every store write has committed. Interpreter
    teardown then garbage-collects every object of Prefect, Dask, SQLAlchemy and numba: 0.8 s
    measured after a ``mimicry run``, for memory the OS frees anyway. Frozen objects are left out
    of that collection."""
    gc.freeze()


atexit.register(_leave_objects_to_the_os)

from mimicry_cli import advise as _advise  # noqa: E402, F401  (each registers its commands)
from mimicry_cli import predict as _predict  # noqa: E402, F401
from mimicry_cli import recover as _recover  # noqa: E402, F401
from mimicry_cli import run as _run  # noqa: E402, F401
from mimicry_cli import sieve as _sieve  # noqa: E402, F401
from mimicry_cli import store as _store  # noqa: E402, F401
from mimicry_cli import watch as _watch  # noqa: E402, F401
from mimicry_cli.common import EXIT_BAD_INPUT, app, fail  # noqa: E402

__all__ = ["EXIT_BAD_INPUT", "app", "fail"]
