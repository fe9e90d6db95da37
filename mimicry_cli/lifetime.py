"""What a command that runs a flow owns for its lifetime: its Prefect server and its signals.

* **The Prefect server.** With no ``PREFECT_API_URL`` Prefect would start a temporary server
  (uvicorn) of its own, which outlives the command when the command is killed: it is stopped only
  by an ``atexit`` hook, and a SIGKILL runs none. :func:`prefect_api` starts that server itself,
  on the loopback interface, in a child the kernel stops when the command dies however it dies
  (Linux's parent-death signal), and points the command's Prefect client at it. The command's
  Dask worker processes, when it has any, already exit when their parent does (Dask watches a
  pipe to it).
* **SIGTERM.** When a flow runs in the main thread Prefect installs a SIGTERM handler of its own,
  whose exception lands wherever the flow is: it came out as an ordinary task failure, or was
  swallowed and the run completed with exit 0. :func:`run_stoppable` runs the flow in a thread
  instead (Prefect installs no handler there), the main thread keeps :mod:`flows.stopping`'s
  handler, and the flow stops at its next step or chunk boundary, closing its run as failed.
  :func:`exit_143_on_sigterm` then exits 143, as a shell expects of a process stopped by SIGTERM.
"""

from __future__ import annotations

import contextvars
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")

#: Exit status of a command stopped by SIGTERM (128 + the signal's number), as a shell reports it.
EXIT_TERMINATED = 128 + signal.SIGTERM
#: Linux's prctl option that asks for a signal when the parent dies.
_PR_SET_PDEATHSIG = 1


#: Seconds a stopped flow has to reach a boundary and close its run before the command exits
#: without it (the run then goes stale and is marked crashed, ``mimicry.store.records``).
STOP_GRACE_SECONDS = 30


def run_stoppable(call: Callable[[], T]) -> T:
    """``call()`` (a flow) in a thread of its own, while the main thread waits and takes signals
    (see the module doc); raises what ``call`` raised, or :class:`~flows.stopping.Terminated`."""
    from flows.stopping import Terminated

    outcome: dict[str, object] = {}
    finished = threading.Event()
    context = contextvars.copy_context()  # the Prefect settings prefect_api() put in place

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as error:  # handed to the main thread, which raises it
            outcome["error"] = error
        finally:
            finished.set()

    # Waited for on an Event, not Thread.join: a join interrupted by the signal handler's
    # exception marks the thread as stopped while it still runs (CPython 3.11, bpo-45274).
    threading.Thread(target=target, name="flow", daemon=True).start()
    try:
        while not finished.wait(0.5):
            pass
    except Terminated:
        finished.wait(STOP_GRACE_SECONDS)
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


@contextmanager
def exit_143_on_sigterm() -> Iterator[None]:
    """The whole of a command under :func:`flows.stopping.sigterm_stops`: a SIGTERM is one
    sentence on stderr and exit 143, whatever the command was doing when it came."""
    import typer

    from flows.stopping import STOP, sigterm_stops

    try:
        with sigterm_stops():
            yield
    except BaseException:
        # The handler's exception may come out as another one (pydantic wraps an exception
        # raised inside its serialisation; a failed flow becomes an exit): the flag decides.
        if not STOP.is_set():
            raise
    else:
        if not STOP.is_set():
            return
    print(
        "mimicry: error: stopped by SIGTERM; a run in progress was closed as failed "
        "(a rerun of the same command resumes its sieve)",
        file=sys.stderr,
    )
    raise typer.Exit(EXIT_TERMINATED)


def _free_loopback_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: ``python -c _DIE_WITH_PARENT PARENT PROGRAM ARGS…``: ask the kernel to SIGTERM this process
#: when its parent dies (Linux's PR_SET_PDEATHSIG, which an exec keeps), then become PROGRAM. A
#: parent already gone has handed the child to another process: exit instead. (Done in a child
#: of its own, not a ``preexec_fn``, which may deadlock in a process that runs threads.)
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    f"    ctypes.CDLL(None).prctl({_PR_SET_PDEATHSIG}, signal.SIGTERM, 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


#: The services a served flow needs from a server of its own: the scheduler makes the runs, the
#: repossessor frees a concurrency slot whose holder died, the task-run recorder keeps task runs.
#: The rest (the event persister above all) only add writers to its SQLite database, where a
#: write that meets another fails at once with "database is locked" (SQLite's lock upgrade).
_SERVED_SERVICES_OFF = (
    "EVENT_PERSISTER",
    "TRIGGERS",
    "LATE_RUNS",
    "FOREMAN",
    "PAUSE_EXPIRATIONS",
    "CANCELLATION_CLEANUP",
    "CLEANUP_RECONCILER",
)


def _services_environment(home: Path) -> dict[str, str]:
    environment = {
        f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in _SERVED_SERVICES_OFF
    }
    if not os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        database = home / "prefect-services.db"
        environment["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{database}"
    return environment


def start_prefect_server(
    port: int, timeout: float, services_home: Path | None = None
) -> subprocess.Popen:
    """Prefect's API server (the same app Prefect's own temporary server runs, without its UI)
    on ``127.0.0.1:port``, answering ``/health`` before this returns. ``services_home``: also its
    background services (the scheduler that makes a served flow's scheduled runs among them),
    which a temporary server does not run, on a SQLite database of its own under MIMICRY_HOME
    unless PREFECT_SERVER_DATABASE_CONNECTION_URL names one: beside other commands' servers on
    Prefect's shared file, their writes failed with "database is locked"."""
    import prefect
    from prefect.settings import get_current_settings

    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _DIE_WITH_PARENT,
            str(os.getpid()),
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(prefect.__module_path__.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env={
            **os.environ,
            **get_current_settings().to_environment_variables(exclude_unset=True),
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_FINAL": "1",
        }
        | (
            _services_environment(services_home)
            if services_home is not None
            else {"PREFECT__SERVER_EPHEMERAL": "1"}
        ),
        stdin=subprocess.DEVNULL,
        # Out of the terminal's process group: a Ctrl-C (or a signal to the group) reaches the
        # command, which stops its flows while the server still records their states, then
        # stops the server. The server still dies with the command (the prctl above).
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(
                    f"the Prefect server exited with code {server.returncode} while starting"
                )
            try:
                if client.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    server.kill()
    server.wait()
    raise RuntimeError(f"the Prefect server did not answer within {timeout:.0f} s")


#: Seconds the flow's last log lines and events may take to reach the server before it stops.
DRAIN_SECONDS = 10


def _drain_to(url: str) -> None:
    """Send the logs and events Prefect still queues to the server while it runs: after it stops
    they would be retried against a closed port until Prefect's exit hook gives up."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=DRAIN_SECONDS, at_exit=False)


@contextmanager
def prefect_api(services_home: Path | None = None) -> Iterator[str]:
    """The Prefect API the command's flows report to: ``PREFECT_API_URL`` when it is set (a
    server of the rig's, whose UI shows the runs), else a server this command starts and stops
    (see the module doc; ``services_home``: with its scheduler, for a served flow, its database
    under that MIMICRY_HOME). Yields the API's
    URL."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    port = _free_loopback_port()
    server = start_prefect_server(
        port, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), services_home
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain_to(url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
