"""What every step of a flow shares: its wall time (the figures ``mimicry run --json`` reports as
``timings``), stopping at its boundary on SIGTERM or a cancel, and the record of what is in
progress (a run's or an in-process decision's heartbeat; a run closed failed or cancelled when a
step raises or a stop was requested)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flows.stopping import CANCEL, STOP, check_stop
from mimicry.store.records import beat_run, close_run
from mimicry.store.statuses import RunState


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
def beating(name: str, beat: Callable[[], None], interval: float) -> Iterator[None]:
    """``beat()`` every ``interval`` seconds (``MIMICRY_HEARTBEAT_SECONDS``) in a thread of its
    own while the block runs: the store's proof that this process is alive. A failed beat is
    left to the next one (and to the flow's own next write to report)."""
    done = threading.Event()

    def keep_beating() -> None:
        while not done.wait(interval):
            with contextlib.suppress(Exception):
                beat()

    thread = threading.Thread(target=keep_beating, name=f"heartbeat {name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def prefect_cancelled() -> bool:
    """Whether this process's flow run is being cancelled in Prefect (the UI's Cancel, or
    ``prefect flow-run cancel``): Prefect then stops the process with SIGTERM, which reaches a
    flow as its ``TerminationSignal``, the same as a plain SIGTERM."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if not flow_run.id:
        return False
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run.id).state
    except Exception:  # the server gone: no word of a cancel
        return False
    return state is not None and (state.is_cancelling() or state.is_cancelled())


def _terminated(error: BaseException) -> bool:
    """Whether ``error`` is, or wraps, Prefect's TerminationSignal (a BaseException): pydantic
    wraps one raised inside its serialisation in an ordinary exception, which names it."""
    seen = error
    while seen is not None:
        if not isinstance(seen, Exception) or "TerminationSignal" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def ending(error: BaseException) -> tuple[RunState, str]:
    """The state a run closes in when ``error`` stopped it, and why: ``cancelled`` (its decision
    cancelled, or its flow run cancelled in Prefect) or ``failed``."""
    if CANCEL.is_set():
        return (
            RunState.CANCELLED,
            "cancelled by a person: its decision was cancelled (mimicry cancel)",
        )
    if STOP.is_set():
        return RunState.FAILED, "stopped by SIGTERM"
    if _terminated(error) and prefect_cancelled():
        return RunState.CANCELLED, "cancelled in Prefect (its flow run was cancelled)"
    return RunState.FAILED, f"{type(error).__name__}: {error}"


@contextmanager
def run_in_progress(run_id: str, heartbeat_seconds: float) -> Iterator[None]:
    """The run's record while the flow works on it: a heartbeat every
    ``MIMICRY_HEARTBEAT_SECONDS`` says its process is alive (a run whose process dies is marked
    crashed, ``mimicry.store.runs.mark_crashed``), and a block that raises, or a stop, closes it
    as failed or cancelled (:func:`ending`), with the reason, before the error propagates."""
    with beating(run_id, lambda: beat_run(run_id), heartbeat_seconds):
        try:
            yield
            check_stop()
        except BaseException as error:
            state, reason = ending(error)
            close_run(run_id, state, error=reason)
            raise
