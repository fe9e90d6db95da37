"""A decision's way from approved to done: a person's approval, rejection or cancel, the timeout
that rejects, the claim a dispatch makes before it starts anything, the heartbeat of the process
that runs it, and the end (docs/design.md §17, §18).

The rules are pure functions of a decision's state (:class:`~mimicry.store.decisions.DecisionState`)
that say where it goes (:class:`Move`); each is applied by the store as one conditional UPDATE
(:func:`~mimicry.store.decisions.transition`), so of two processes moving a decision at once one
wins and the other is told. Everything fails closed: an approval of a decision that expired, was
already answered or is unknown changes nothing and says why; a claim while the WATCHER is halted
records ``halted`` and starts nothing; a decision whose work cannot be started records
``failed``; a decision whose process died is failed by the next tick.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from mimicry.store import decisions as store
from mimicry.store import runs as store_runs
from mimicry.store.decisions import Claim, DecisionState, DecisionView
from mimicry.store.runs import STALE_BEATS
from mimicry.store.selfplay import settle_champion
from mimicry.store.statuses import FINAL_STATUSES, DecisionStatus, RunState


class DecisionRefused(ValueError):
    """An approval or rejection that cannot be taken; ``str()`` says why in one sentence."""


#: The longest note a person's answer may carry (it is stored with the decision and printed).
MAX_NOTE = 1000


class BadNote(DecisionRefused):
    """A note longer than :data:`MAX_NOTE`."""


def checked_note(note: str | None) -> str | None:
    if note is not None and len(note) > MAX_NOTE:
        raise BadNote(f"a note holds at most {MAX_NOTE:,} characters, this one has {len(note):,}")
    return note


class Move(BaseModel):
    """Where a rule sends a decision: its new status and the outcome in words."""

    model_config = ConfigDict(frozen=True)
    to: DecisionStatus
    outcome: str
    approval: dict | None = None
    run_id: str | None = None


# -- the rules (pure) ---------------------------------------------------------------------------


def expired(state: DecisionState, now: datetime) -> bool:
    return state.expires_at is not None and now >= state.expires_at


def timeout_move(state: DecisionState) -> Move:
    return Move(
        to=DecisionStatus.REJECTED,
        outcome=f"no answer by {state.expires_at:%Y-%m-%d %H:%M:%S} UTC: rejected by the "
        "approval timeout",
    )


def answer_move(
    state: DecisionState, approve: bool, by: str, note: str | None, now: datetime
) -> Move:
    """A person's answer: approved (an escalation is acknowledged: it runs nothing) or
    rejected. Raises :class:`DecisionRefused` for a decision not waiting for approval."""
    view = state.view
    if view.status != DecisionStatus.PENDING_APPROVAL:
        raise DecisionRefused(f"decision {view.id} is {view.status}, not waiting for approval")
    approval = {
        **view.approval,
        "by": by,
        "at": now.isoformat(),
        "note": note,
        "answer": "approved" if approve else "rejected",
    }
    if not approve:
        return Move(to=DecisionStatus.REJECTED, outcome=f"rejected by {by}", approval=approval)
    if view.action == "escalate":
        return Move(to=DecisionStatus.DONE, outcome=f"acknowledged by {by}", approval=approval)
    return Move(to=DecisionStatus.APPROVED, outcome=f"approved by {by}", approval=approval)


def cancel_move(state: DecisionState, by: str, note: str | None, now: datetime) -> Move:
    view = state.view
    if view.status in FINAL_STATUSES:
        raise DecisionRefused(f"decision {view.id} is {view.status}; there is nothing to cancel")
    approval = {
        **view.approval,
        "cancelled_by": by,
        "cancelled_at": now.isoformat(),
        "cancel_note": note,
    }
    return Move(
        to=DecisionStatus.CANCELLED,
        outcome=f"cancelled by {by} while {view.status}",
        approval=approval,
    )


#: A decision's status for the state its run ended in.
RUN_ENDINGS = {
    RunState.COMPLETED: DecisionStatus.DONE,
    RunState.CANCELLED: DecisionStatus.CANCELLED,
}


def run_move(
    run_id: str, run_state: RunState, run_error: str | None, not_promoted: str | None = None
) -> Move:
    """The end of a decision whose run ended: done, cancelled or failed, naming the run; a
    completed run whose model was not promoted says why (the stream kept its earlier model)."""
    status = RUN_ENDINGS.get(run_state, DecisionStatus.FAILED)
    why = f": {run_error}" if run_error and status != DecisionStatus.DONE else ""
    if status == DecisionStatus.DONE and not_promoted:
        why = f"; {not_promoted}"
    return Move(to=status, outcome=f"run {run_id} {run_state}{why}", run_id=run_id)


def resolution(
    state: DecisionState, ending: str | None, now: datetime, stale_after: timedelta
) -> Move | None:
    """How a running decision has ended, if it has: its deployment's flow run reached a final
    state (``ending``, in words) without its run ending first; its run ended; or its owner
    stopped beating. None while it runs."""
    view = state.view
    run_ended = state.run_state is not None and not state.run_state.in_progress
    if run_ended and view.run_id is not None:
        return run_move(view.run_id, state.run_state, state.run_error, state.run_not_promoted)
    if view.flow_run_id is not None:
        if ending is None:
            return None
        status = (
            DecisionStatus.CANCELLED
            if ending.lower().startswith("cancel")
            else DecisionStatus.FAILED
        )
        return Move(to=status, outcome=f"flow run ended {ending}")
    if now - state.heartbeat_at > stale_after:
        return Move(
            to=DecisionStatus.FAILED,
            outcome=f"{state.owner or 'its process'} stopped without finishing it: no heartbeat "
            f"since {state.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC",
        )
    return None


# -- applied through the store ------------------------------------------------------------------


def _state(decision_id: int) -> DecisionState:
    state = store.decision(decision_id)
    if state is None:
        raise DecisionRefused(
            f"no decision {decision_id} in the store (mimicry decisions lists them)"
        )
    return state


def _apply(state: DecisionState, move: Move) -> DecisionView | None:
    return store.transition(
        state.view.id,
        (state.view.status,),
        move.to,
        move.outcome,
        approval=move.approval,
        run_id=move.run_id,
    )


def expire_approvals(now: datetime) -> list[int]:
    """Reject every decision whose person did not answer in time; their ids. A champion that
    waited on one is rejected with it (docs/design.md §21)."""
    expired_ids = [
        state.view.id
        for state in store.decisions_with_status(DecisionStatus.PENDING_APPROVAL)
        if expired(state, now) and _apply(state, timeout_move(state)) is not None
    ]
    for decision_id in expired_ids:
        settle_champion(decision_id, False, "rejected by the approval timeout")
    return expired_ids


def answer(decision_id: int, approve: bool, by: str, note: str | None, now: datetime) -> str:
    """A person's answer to a decision waiting for approval: its new status. Raises
    :class:`DecisionRefused` for an unknown decision, one not waiting, or one past its time
    (then rejected by the timeout, recorded)."""
    checked_note(note)
    state = _state(decision_id)
    if state.view.status == DecisionStatus.PENDING_APPROVAL and expired(state, now):
        _apply(state, Move(to=DecisionStatus.REJECTED, outcome="rejected by the approval timeout"))
        raise DecisionRefused(
            f"decision {decision_id} expired at {state.expires_at:%Y-%m-%d %H:%M:%S} UTC and "
            "is rejected"
        )
    moved = _apply(state, answer_move(state, approve, by, note, now))
    if moved is None:  # answered elsewhere meanwhile
        raise DecisionRefused(
            f"decision {decision_id} is {_state(decision_id).view.status}, not waiting for approval"
        )
    # A selfplay promotion waits on its decision: approved, the champion takes over.
    settle_champion(decision_id, approve, f"rejected by {by}" + (f": {note}" if note else ""))
    return moved.status.value


def claim(decision_id: int, owner: str) -> Claim | None:
    """See :func:`mimicry.store.decisions.claim` (the halt is checked there, once)."""
    return store.claim(decision_id, owner)


def beat_decision(decision_id: int) -> DecisionStatus | None:
    """The running decision's heartbeat; its status now (``cancelled``: stop its run)."""
    return store.beat(decision_id)


def started(decision_id: int, flow_run_id: str) -> None:
    store.dispatched(decision_id, flow_run_id)


def finished(decision_id: int, result: object, error: str | None = None) -> str:
    """Record how a dispatched run ended (its answer, or the error): the decision's status. A
    decision that ended meanwhile (a person cancelled it, a tick found its run ended) keeps
    the status it ended with."""
    state = store.decision(decision_id)
    if state is None or state.view.status != DecisionStatus.RUNNING:
        return state.view.status.value if state else "unknown"
    run_id = state.view.run_id
    if run_id is None and isinstance(result, dict) and isinstance(result.get("run_id"), str):
        run_id = result["run_id"]
    ended = store_runs.run_ending(run_id) if run_id is not None else None
    if error is None and isinstance(result, dict) and result.get("halted"):
        move = Move(to=DecisionStatus.HALTED, outcome=result["halted"])
    elif ended is not None and not ended[0].in_progress:
        move = run_move(run_id, *ended)
    elif error is not None:
        move = Move(to=DecisionStatus.FAILED, outcome=error)
    else:
        move = Move(to=DecisionStatus.FAILED, outcome="the run gave no answer")
    moved = _apply(state, move)
    return (moved or _state(decision_id).view).status.value


def resolve_running(
    flow_run_ending: Callable[[str], str | None], now: datetime, heartbeat_seconds: float
) -> list[int]:
    """Decisions whose work has ended since, or whose owner is gone: done, failed or cancelled
    (:func:`resolution`). No decision stays ``running`` and blocks its stream for a process
    nothing will finish. Runs whose process died are marked crashed first.

    ``flow_run_ending`` reads a deployment's Prefect flow run: its final state in words, None
    while it is not final (asked only for a decision whose run has not ended)."""
    stale_after = timedelta(seconds=STALE_BEATS * heartbeat_seconds)
    store_runs.mark_crashed_runs(heartbeat_seconds)
    resolved = []
    for state in store.decisions_with_status(DecisionStatus.RUNNING):
        run_open = state.run_state is None or state.run_state.in_progress
        ending = None
        if state.view.flow_run_id is not None and run_open:
            ending = flow_run_ending(state.view.flow_run_id)
        move = resolution(state, ending, now, stale_after)
        if move is not None and _apply(state, move) is not None:
            resolved.append(state.view.id)
    return resolved


class Cancellation(BaseModel):
    """A decision a person cancelled, and what still runs for it that the caller should stop."""

    model_config = ConfigDict(frozen=True)
    decision_id: int
    status_before: str
    #: The deployment's flow run that runs its work, when it was dispatched to one.
    flow_run_id: str | None


def cancel(decision_id: int, by: str, note: str | None, now: datetime) -> Cancellation:
    """A person cancels a decision that has not ended: waiting for approval, approved, or
    running (its in-process run stops at its next boundary, told by its heartbeat; a
    deployment's flow run is the caller's to cancel in Prefect). Raises
    :class:`DecisionRefused` for an unknown decision or one that has ended."""
    checked_note(note)
    state = _state(decision_id)
    if _apply(state, cancel_move(state, by, note, now)) is None:
        state = _state(decision_id)  # it moved meanwhile: refused as it is now
        cancel_move(state, by, note, now)
        raise DecisionRefused(f"decision {decision_id} changed meanwhile; try again")
    settle_champion(decision_id, False, f"cancelled by {by}" + (f": {note}" if note else ""))
    return Cancellation(
        decision_id=decision_id,
        status_before=state.view.status.value,
        flow_run_id=state.view.flow_run_id,
    )


def not_waiting(decision_ids: list[int]) -> list[int]:
    """Those of ``decision_ids`` that no longer wait for a person (answered, expired, cancelled,
    or unknown)."""
    return [
        decision_id
        for decision_id in decision_ids
        if (state := store.decision(decision_id)) is None
        or state.view.status != DecisionStatus.PENDING_APPROVAL
    ]
