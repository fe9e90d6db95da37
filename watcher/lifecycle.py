"""A decision's way from approved to done, in the store: a person's approval or rejection, the
timeout that rejects, the claim a dispatch makes before it starts anything, and the end.

Everything fails closed: an approval of a decision that expired, was already answered or is
unknown changes nothing and says why; a claim while the WATCHER is halted records ``halted``
and starts nothing; a decision whose work cannot be started records ``failed`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select, update

from mimicry.store.database import connect
from mimicry.store.decisions import (
    decisions_with_status,
    finish_decision,
    halt_state,
    record_change,
    require_decision,
)
from mimicry.store.models import DecisionRecord, Run, Stream, as_utc


class DecisionRefused(ValueError):
    """An approval or rejection that cannot be taken; ``str()`` says why in one sentence."""


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
    with connect() as session:
        try:
            record = require_decision(session, decision_id)
        except LookupError as error:
            raise DecisionRefused(str(error)) from None
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


def claim(decision_id: int) -> Claim | None:
    """Move an approved decision to ``running`` and apply its accepted parameter changes, in one
    transaction; None (and the reason recorded) when it must not start: halted, or already
    claimed by another tick."""
    with connect() as session:
        # The claim is one conditional UPDATE: of two ticks claiming at once, one wins.
        claimed = session.execute(
            update(DecisionRecord)
            .where(DecisionRecord.id == decision_id, DecisionRecord.status == "approved")
            .values(status="running")
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


def started(decision_id: int, flow_run_id: str | None) -> None:
    with connect() as session:
        record = require_decision(session, decision_id)
        record.flow_run_id = flow_run_id
        session.flush()


def finished(decision_id: int, result: object, error: str | None = None) -> str:
    """Record how a dispatched run ended (its answer, or the error): the decision's status."""
    with connect() as session:
        record = require_decision(session, decision_id)
        if error is not None:
            return finish_decision(session, record, "failed", error).status
        if isinstance(result, dict) and result.get("halted"):
            return finish_decision(session, record, "halted", result["halted"]).status
        run_id = result.get("run_id") if isinstance(result, dict) else None
        record.run_id = run_id
        if run_id is None:
            return finish_decision(session, record, "failed", "the run gave no answer").status
        run = session.get(Run, run_id)
        state = run.state if run is not None else "missing"
        status = "done" if state == "completed" else "failed"
        return finish_decision(session, record, status, f"run {run_id} {state}").status


def resolve_running(flow_run_ending: Callable[[str], str | None]) -> list[int]:
    """Decisions dispatched to a deployment whose run has ended since: done or failed.

    ``flow_run_ending`` reads the Prefect flow run: its final state in words, None while it is
    not final. A flow run that ended without a finished run in the store (it crashed, was
    cancelled, its parameters were refused, the server lost it) fails its decision with that
    state: the stream is not blocked by a decision nothing will finish.
    """
    resolved = []
    with connect() as session:
        for record in decisions_with_status(session, "running"):
            if record.flow_run_id is None:
                continue
            run = session.scalar(select(Run).where(Run.flow_run_id == record.flow_run_id).limit(1))
            if run is None or run.state in ("pending", "running"):
                ending = flow_run_ending(record.flow_run_id)
                if ending is None:
                    continue
                if run is not None:
                    record.run_id = run.id
                finish_decision(session, record, "failed", f"flow run ended {ending}")
            else:
                record.run_id = run.id
                status = "done" if run.state == "completed" else "failed"
                finish_decision(session, record, status, f"run {run.id} {run.state}")
            resolved.append(record.id)
    return resolved
