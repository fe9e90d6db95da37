"""A decision's way from approved to done, in the store: a person's approval, rejection or
cancel, the timeout that rejects, the claim a dispatch makes before it starts anything, the
heartbeat of the process that runs it, and the end.

Everything fails closed: an approval of a decision that expired, was already answered or is
unknown changes nothing and says why; a claim while the WATCHER is halted records ``halted``
and starts nothing; a decision whose work cannot be started records ``failed`` with the reason;
a decision whose process died is failed by the next tick (docs/design.md, "The WATCHER").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select, update

from mimicry.store.database import connect
from mimicry.store.decisions import (
    FINAL_STATUSES,
    decisions_with_status,
    finish_decision,
    halt_state,
    record_change,
    require_decision,
)
from mimicry.store.decisions import (
    beat_decision as beat,
)
from mimicry.store.models import DecisionRecord, Run, Stream, as_utc, utcnow
from mimicry.store.runs import STALE_BEATS, mark_crashed


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


def _decision(session, decision_id: int) -> DecisionRecord:
    """The decision a person answers; :class:`DecisionRefused` naming an unknown one."""
    try:
        return require_decision(session, decision_id)
    except LookupError as error:
        raise DecisionRefused(str(error)) from None


def _expired(record: DecisionRecord, now: datetime) -> bool:
    return record.expires_at is not None and now >= as_utc(record.expires_at)


def expire_approvals(now: datetime) -> list[int]:
    """Reject every decision whose person did not answer in time; their ids."""
    expired = []
    with connect() as session:
        for record in decisions_with_status(session, "pending_approval"):
            if _expired(record, now):
                finish_decision(
                    session,
                    record,
                    "rejected",
                    f"no answer by {as_utc(record.expires_at):%Y-%m-%d %H:%M:%S} UTC: "
                    "rejected by the approval timeout",
                )
                expired.append(record.id)
    return expired


def answer(decision_id: int, approve: bool, by: str, note: str | None, now: datetime) -> str:
    """A person's answer to a decision waiting for approval: its new status. An escalation
    approved is acknowledged (``done``): it runs nothing. Raises :class:`DecisionRefused` for
    an unknown decision, one not waiting, or one past its time (then rejected, committed)."""
    refusal = None
    checked_note(note)
    with connect() as session:
        record = _decision(session, decision_id)
        if record.status != "pending_approval":
            raise DecisionRefused(
                f"decision {decision_id} is {record.status}, not waiting for approval"
            )
        if _expired(record, now):
            finish_decision(session, record, "rejected", "rejected by the approval timeout")
            refusal = (
                f"decision {decision_id} expired at {as_utc(record.expires_at):%Y-%m-%d %H:%M:%S}"
                " UTC and is rejected"
            )
        else:
            record.approval = {
                **record.approval,
                "by": by,
                "at": now.isoformat(),
                "note": note,
                "answer": "approved" if approve else "rejected",
            }
            if not approve:
                finish_decision(session, record, "rejected", f"rejected by {by}")
            elif record.action == "escalate":
                finish_decision(session, record, "done", f"acknowledged by {by}")
            else:
                finish_decision(session, record, "approved", f"approved by {by}")
        status = record.status
    if refusal is not None:  # raised once the rejection is committed
        raise DecisionRefused(refusal)
    return status


class Claim(BaseModel):
    """What a dispatch may start for a decision it claimed."""

    decision_id: int
    stream: str
    flow: str
    request: dict
    idempotency_key: str


def claim(decision_id: int, owner: str) -> Claim | None:
    """Move an approved decision to ``running`` and apply its accepted parameter changes, in one
    transaction; None (and the reason recorded) when it must not start: halted, or already
    claimed by another tick. ``owner`` (``host:pid``) beats the decision's heartbeat while it
    runs the decision's work (:func:`resolve_running` fails it when the beats stop)."""
    with connect() as session:
        # The claim is one conditional UPDATE: of two ticks claiming at once, one wins.
        claimed = session.execute(
            update(DecisionRecord)
            .where(DecisionRecord.id == decision_id, DecisionRecord.status == "approved")
            .values(status="running", owner=owner, heartbeat_at=utcnow())
        ).rowcount
        if not claimed:
            return None
        record = session.get(DecisionRecord, decision_id)
        halted, reason = halt_state(session)
        if halted:
            finish_decision(session, record, "halted", f"the WATCHER is halted: {reason}")
            return None
        if not record.request:
            finish_decision(session, record, "failed", "nothing to run was recorded")
            return None
        for verdict in record.proposals:
            if verdict["outcome"] != "rejected":
                record_change(
                    session, record, verdict["parameter"], verdict["current"], verdict["value"]
                )
        finish_decision(session, record, "running", "dispatched")
        stream = session.get(Stream, record.stream_id)
        return Claim(
            decision_id=record.id,
            stream=stream.name,
            flow=record.request["flow"],
            request=record.request["request"] | {"decision_id": record.id},
            idempotency_key=record.idempotency_key,
        )


def not_waiting(decision_ids: list[int]) -> list[int]:
    """Those of ``decision_ids`` that no longer wait for a person (answered, expired, cancelled,
    or unknown)."""
    with connect(read_only=True) as session:
        return [
            decision_id
            for decision_id in decision_ids
            if (record := session.get(DecisionRecord, decision_id)) is None
            or record.status != "pending_approval"
        ]


def beat_decision(decision_id: int) -> str | None:
    """The running decision's heartbeat; its status now (``cancelled``: stop its run)."""
    with connect() as session:
        return beat(session, decision_id)


def started(decision_id: int, flow_run_id: str | None) -> None:
    with connect() as session:
        record = require_decision(session, decision_id)
        record.flow_run_id = flow_run_id
        session.flush()


#: A decision's status for the state its run ended in.
RUN_ENDINGS = {"completed": "done", "cancelled": "cancelled"}


def _end_with_run(session, record: DecisionRecord, run: Run) -> str:
    status = RUN_ENDINGS.get(run.state, "failed")
    record.run_id = run.id
    why = f": {run.error}" if run.error and status != "done" else ""
    return finish_decision(session, record, status, f"run {run.id} {run.state}{why}").status


def finished(decision_id: int, result: object, error: str | None = None) -> str:
    """Record how a dispatched run ended (its answer, or the error): the decision's status. A
    decision that ended meanwhile (a person cancelled it, a tick found its run ended) keeps
    the status it ended with."""
    with connect() as session:
        record = require_decision(session, decision_id)
        if record.status != "running":
            return record.status
        if error is not None:
            run = session.get(Run, record.run_id) if record.run_id else None
            if run is not None and run.state not in ("pending", "running"):
                return _end_with_run(session, record, run)
            return finish_decision(session, record, "failed", error).status
        if isinstance(result, dict) and result.get("halted"):
            return finish_decision(session, record, "halted", result["halted"]).status
        run_id = result.get("run_id") if isinstance(result, dict) else None
        run = session.get(Run, run_id) if run_id is not None else None
        if run is None:
            return finish_decision(session, record, "failed", "the run gave no answer").status
        return _end_with_run(session, record, run)


def resolve_running(
    flow_run_ending: Callable[[str], str | None], now: datetime, heartbeat_seconds: float
) -> list[int]:
    """Decisions whose work has ended since, or whose owner is gone: done, failed or cancelled.

    * Dispatched to a deployment (a flow run id): ``flow_run_ending`` reads the Prefect flow
      run, its final state in words, None while it is not final. A flow run that ended without
      a finished run in the store (it crashed, was cancelled, its parameters were refused, the
      server lost it) ends its decision with that state.
    * Run in-process by a tick: its run ended (the run the decision started is linked from its
      start), or its owner stopped beating (killed, its machine gone) for
      :data:`~mimicry.store.runs.STALE_BEATS` heartbeats: failed, saying so.

    No decision stays ``running`` and blocks its stream for a process nothing will finish. Runs
    whose process died (``heartbeat_seconds``: the settings' beat) are marked crashed first.
    """
    stale_after = timedelta(seconds=STALE_BEATS * heartbeat_seconds)
    resolved = []
    with connect() as session:
        mark_crashed(session, heartbeat_seconds)
        for record in decisions_with_status(session, "running"):
            run = session.get(Run, record.run_id) if record.run_id else None
            if record.flow_run_id is not None:
                if run is None:
                    run = session.scalar(
                        select(Run).where(Run.flow_run_id == record.flow_run_id).limit(1)
                    )
                if run is None or run.state in ("pending", "running"):
                    ending = flow_run_ending(record.flow_run_id)
                    if ending is None:
                        continue
                    if run is not None:
                        record.run_id = run.id
                    status = "cancelled" if ending.lower().startswith("cancel") else "failed"
                    finish_decision(session, record, status, f"flow run ended {ending}")
                else:
                    _end_with_run(session, record, run)
                resolved.append(record.id)
                continue
            if run is not None and run.state not in ("pending", "running"):
                _end_with_run(session, record, run)
                resolved.append(record.id)
                continue
            last = as_utc(record.heartbeat_at or record.created_at)
            if now - last > stale_after:
                owner = record.owner or "its process"
                finish_decision(
                    session,
                    record,
                    "failed",
                    f"{owner} stopped without finishing it: no heartbeat since "
                    f"{last:%Y-%m-%d %H:%M:%S} UTC",
                )
                resolved.append(record.id)
    return resolved


class Cancellation(BaseModel):
    """A decision a person cancelled, and what still runs for it that the caller should stop."""

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
    with connect() as session:
        record = _decision(session, decision_id)
        if record.status in FINAL_STATUSES:
            raise DecisionRefused(
                f"decision {decision_id} is {record.status}; there is nothing to cancel"
            )
        before = record.status
        record.approval = {
            **record.approval,
            "cancelled_by": by,
            "cancelled_at": now.isoformat(),
            "cancel_note": note,
        }
        finish_decision(session, record, "cancelled", f"cancelled by {by} while {before}")
        return Cancellation(
            decision_id=decision_id, status_before=before, flow_run_id=record.flow_run_id
        )
