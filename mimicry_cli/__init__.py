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

import importlib  # noqa: E402

#: The module that registers each command. A command imports its own module only: ``mimicry
#: status`` need not load the advisor, Prefect's flows or the sieve's kernels to start (a third
#: of a second each time; the CLI is run by scripts and by every WATCHER dispatch).
COMMAND_MODULES = {
    "advise": "advise",
    "predict": "predict",
    "evaluate": "predict",
    "recover": "recover",
    "run": "run",
    "sieve": "sieve",
    "simulate": "sieve",
    "bench": "sieve",
    "families": "sieve",
    "db": "store",
    "ingest": "store",
    "status": "store",
    "watch": "watch",
    "decisions": "watch",
    "approve": "watch",
    "reject": "watch",
    "cancel": "watch",
    "health": "health",
    "selfplay": "selfplay",
    "champion": "selfplay",
}


def registered(*modules: str):
    """The app with the commands of ``modules`` registered (all of them when none is named)."""
    for module in modules or dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(f"mimicry_cli.{module}")
    from mimicry_cli.common import app

    return app


def main() -> None:
    """The ``mimicry`` command: the first argument that is not an option names the command; an
    unknown one (or none: ``mimicry --help``) loads every command, so typer lists or refuses."""
    command = next((argument for argument in sys.argv[1:] if not argument.startswith("-")), None)
    module = COMMAND_MODULES.get(command or "")
    registered(*([module] if module else []))()


def __getattr__(name: str):
    # ``mimicry_cli.app``: the whole app, for tools and tests that walk every command.
    if name == "app":
        return registered()
    raise AttributeError(name)


__all__ = ["COMMAND_MODULES", "main", "registered"]
