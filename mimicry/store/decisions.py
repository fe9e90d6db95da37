"""The WATCHER's records in the store: decisions, the parameter changes they applied, and the one
halt switch (docs/design.md §17.1).

The façade (Optuna's storages are the model): every function below the session helpers opens its
own transaction and hands back frozen snapshots (:class:`DecisionView`, :class:`AppliedChange`,
:class:`Claim`); nothing outside the store sees a session or a row. A decision changes status
only through :func:`transition`, one conditional UPDATE: of two processes moving it at once, one
wins and the other is told.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mimicry.store.database import connect
from mimicry.store.models import (
    DecisionRecord,
    ParameterChange,
    Run,
    Stream,
    WatcherHalt,
    as_utc,
    utcnow,
)
from mimicry.store.statuses import FINAL_STATUSES, DecisionStatus, RunState

# -- snapshots ----------------------------------------------------------------------------------


class DecisionView(BaseModel):
    """A decision as the store holds it: what ``mimicry decisions --json`` and a tick print,
    and what the WATCHER's lifecycle rules read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: int
    stream: str
    created_at: datetime
    triggers: list[dict]
    advice: dict | None
    action: str
    rule: str
    proposals: list[dict]
    approval: dict
    status: DecisionStatus
    run_id: str | None
    flow_run_id: str | None
    outcome: str | None
    #: The tick that made it: a tick tells apart the decisions it made from earlier ones it
    #: found standing (not printed; None in a view read back from its printed form).
    tick_id: str | None = Field(None, exclude=True)

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class DecisionState(BaseModel):
    """What the lifecycle's rules read of a decision beyond its view: when it expires, who runs
    it and when that process last beat, and how its run stands."""

    model_config = ConfigDict(frozen=True)
    view: DecisionView
    expires_at: datetime | None
    owner: str | None
    heartbeat_at: datetime | None
    run_state: RunState | None
    run_error: str | None
    #: Why the run's model was not promoted (docs/design.md §20); None: it was, or no model.
    run_not_promoted: str | None = None


class AppliedChange(BaseModel):
    """A change the WATCHER applied to a stream's parameter."""

    model_config = ConfigDict(frozen=True)
    decision_id: int
    parameter: str
    old_value: float
    new_value: float
    applied_at: datetime


class NewDecision(BaseModel):
    """A decision to record, as the WATCHER's review made it."""

    model_config = ConfigDict(frozen=True)
    stream: str
    tick_id: str
    draws: int
    triggers: list[dict]
    bundle_fingerprint: str | None
    advice: dict | None
    action: str
    rule: str
    proposals: list[dict]
    approval: dict
    status: DecisionStatus
    request: dict | None
    idempotency_key: str
    expires_at: datetime | None
    outcome: str | None


class Claim(BaseModel):
    """What a dispatch may start for a decision it claimed."""

    model_config = ConfigDict(frozen=True)
    decision_id: int
    stream: str
    flow: str
    request: dict
    idempotency_key: str


# -- session helpers (the store's own) ----------------------------------------------------------


def halt_state(session: Session) -> tuple[bool, str | None]:
    """Whether the WATCHER is halted, and why."""
    row = session.get(WatcherHalt, 1)
    return (row.halted, row.reason) if row is not None else (False, None)


def set_halt(session: Session, halted: bool, reason: str | None) -> None:
    row = session.get(WatcherHalt, 1)
    if row is None:
        session.add(WatcherHalt(id=1, halted=halted, reason=reason))
    else:
        row.halted, row.reason, row.changed_at = halted, reason, datetime.now(UTC)
    session.flush()


def list_decisions(
    session: Session, stream_id: int | None = None, limit: int = 50
) -> list[DecisionRecord]:
    """The newest decisions first."""
    query = select(DecisionRecord)
    if stream_id is not None:
        query = query.where(DecisionRecord.stream_id == stream_id)
    return list(session.scalars(query.order_by(DecisionRecord.id.desc()).limit(limit)))


def finish_decision(
    session: Session, record: DecisionRecord, status: DecisionStatus, outcome: str
) -> DecisionRecord:
    record.status, record.outcome = DecisionStatus(status), outcome
    if record.status in FINAL_STATUSES:
        record.finished_at = datetime.now(UTC)
    session.flush()
    return record


def searches_today(session: Session, stream_id: int, now: datetime) -> int:
    """Searches the WATCHER started (or that wait to start) for the stream in the last day."""
    counted = (
        DecisionStatus.PENDING_APPROVAL,
        DecisionStatus.APPROVED,
        DecisionStatus.RUNNING,
        DecisionStatus.DONE,
        DecisionStatus.FAILED,
    )
    return session.scalar(
        select(func.count())
        .select_from(DecisionRecord)
        .where(
            DecisionRecord.stream_id == stream_id,
            DecisionRecord.action == "research",
            DecisionRecord.status.in_(counted),
            DecisionRecord.created_at >= now - timedelta(days=1),
        )
    )


def applied_changes(session: Session, stream_id: int) -> list[AppliedChange]:
    """The stream's applied parameter changes, oldest first."""
    return [
        AppliedChange(
            decision_id=change.decision_id,
            parameter=change.parameter,
            old_value=change.old_value,
            new_value=change.new_value,
            applied_at=as_utc(change.applied_at),
        )
        for change in session.scalars(
            select(ParameterChange)
            .where(ParameterChange.stream_id == stream_id)
            .order_by(ParameterChange.id)
        )
    ]


def open_decision(
    session: Session, stream_id: int, actions: Collection[str]
) -> DecisionRecord | None:
    """The stream's oldest decision on its way among ``actions``."""
    return session.scalar(
        select(DecisionRecord)
        .where(
            DecisionRecord.stream_id == stream_id,
            DecisionRecord.status.not_in(FINAL_STATUSES),
            DecisionRecord.action.in_(actions),
        )
        .order_by(DecisionRecord.id)
        .limit(1)
    )


def _view(session: Session, record: DecisionRecord) -> DecisionView:
    return DecisionView(
        id=record.id,
        stream=session.get(Stream, record.stream_id).name,
        created_at=as_utc(record.created_at),
        triggers=record.triggers,
        advice=record.advice,
        action=record.action,
        rule=record.rule,
        proposals=record.proposals,
        approval=record.approval,
        status=DecisionStatus(record.status),
        run_id=record.run_id,
        flow_run_id=record.flow_run_id,
        outcome=record.outcome,
        tick_id=record.tick_id,
    )


def _state(session: Session, record: DecisionRecord) -> DecisionState:
    run = session.get(Run, record.run_id) if record.run_id else None
    if run is None and record.flow_run_id:
        run = session.scalar(select(Run).where(Run.flow_run_id == record.flow_run_id).limit(1))
    return DecisionState(
        view=_view(session, record),
        expires_at=as_utc(record.expires_at) if record.expires_at else None,
        owner=record.owner,
        heartbeat_at=as_utc(record.heartbeat_at or record.created_at),
        run_state=RunState(run.state) if run is not None else None,
        run_error=run.error if run is not None else None,
        run_not_promoted=run.not_promoted if run is not None else None,
    )


# -- the façade ---------------------------------------------------------------------------------


def halt() -> tuple[bool, str | None]:
    """Whether the WATCHER is halted, and why."""
    with connect(read_only=True) as session:
        return halt_state(session)


def switch_halt(halted: bool, reason: str | None) -> None:
    with connect() as session:
        set_halt(session, halted, reason)


def decision(decision_id: int) -> DecisionState | None:
    with connect(read_only=True) as session:
        record = session.get(DecisionRecord, decision_id)
        return _state(session, record) if record is not None else None


def decision_views(ids: list[int]) -> list[DecisionView]:
    """The decisions ``ids`` as the store holds them now, in that order."""
    with connect(read_only=True) as session:
        return [_view(session, session.get(DecisionRecord, i)) for i in ids]


def newest_decisions(stream: str | None, limit: int) -> list[DecisionView]:
    """The newest decisions first, of one stream or of all."""
    with connect(read_only=True) as session:
        stream_id = None
        if stream is not None:
            stream_id = session.scalar(select(Stream.id).where(Stream.name == stream))
        return [_view(session, r) for r in list_decisions(session, stream_id, limit)]


def decisions_with_status(status: DecisionStatus) -> list[DecisionState]:
    """Every decision of ``status``, oldest first."""
    with connect(read_only=True) as session:
        records = session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.status == status)
            .order_by(DecisionRecord.id)
        )
        return [_state(session, record) for record in records]


def save_decision(new: NewDecision) -> DecisionView:
    """Record a decision; the one recorded earlier under the same idempotency key, if any (the
    same decision on the same store state, made by a repeated tick)."""
    with connect() as session:
        earlier = session.scalar(
            select(DecisionRecord).where(DecisionRecord.idempotency_key == new.idempotency_key)
        )
        if earlier is not None:
            return _view(session, earlier)
        stream_id = session.scalar(select(Stream.id).where(Stream.name == new.stream))
        record = DecisionRecord(stream_id=stream_id, **new.model_dump(exclude={"stream"}))
        session.add(record)
        session.flush()
        return _view(session, record)


def decision_by_key(idempotency_key: str) -> DecisionView | None:
    with connect(read_only=True) as session:
        record = session.scalar(
            select(DecisionRecord).where(DecisionRecord.idempotency_key == idempotency_key)
        )
        return _view(session, record) if record is not None else None


def transition(
    decision_id: int,
    expect: Collection[DecisionStatus],
    to: DecisionStatus,
    outcome: str,
    *,
    approval: dict | None = None,
    run_id: str | None = None,
    flow_run_id: str | None = None,
) -> DecisionView | None:
    """Move the decision to ``to`` (recording the outcome, and the approval record, run or flow
    run when given) if its status is one of ``expect``: one conditional UPDATE. None, changing
    nothing, when it was not (another process moved it first)."""
    values: dict[str, Any] = {"status": DecisionStatus(to), "outcome": outcome}
    if to in FINAL_STATUSES:
        values["finished_at"] = utcnow()
    if approval is not None:
        values["approval"] = approval
    if run_id is not None:
        values["run_id"] = run_id
    if flow_run_id is not None:
        values["flow_run_id"] = flow_run_id
    with connect() as session:
        moved = session.execute(
            update(DecisionRecord)
            .where(DecisionRecord.id == decision_id, DecisionRecord.status.in_(list(expect)))
            .values(**values)
        ).rowcount
        if not moved:
            return None
        return _view(session, session.get(DecisionRecord, decision_id))


def dispatched(decision_id: int, flow_run_id: str) -> None:
    """The deployment's flow run that runs the decision's work."""
    with connect() as session:
        session.execute(
            update(DecisionRecord)
            .where(DecisionRecord.id == decision_id)
            .values(flow_run_id=flow_run_id)
        )


def claim(decision_id: int, owner: str) -> Claim | None:
    """Move an approved decision to ``running`` and apply its accepted parameter changes, in one
    transaction; None (and the reason recorded) when it must not start: halted (the one place a
    dispatch checks the halt), nothing to run, or already claimed by another tick. ``owner``
    (``host:pid``) beats the decision's heartbeat while it runs the decision's work."""
    with connect() as session:
        claimed = session.execute(
            update(DecisionRecord)
            .where(
                DecisionRecord.id == decision_id,
                DecisionRecord.status == DecisionStatus.APPROVED,
            )
            .values(status=DecisionStatus.RUNNING, owner=owner, heartbeat_at=utcnow())
        ).rowcount
        if not claimed:
            return None
        record = session.get(DecisionRecord, decision_id)
        halted, reason = halt_state(session)
        if halted:
            finish_decision(
                session, record, DecisionStatus.HALTED, f"the WATCHER is halted: {reason}"
            )
            return None
        if not record.request:
            finish_decision(session, record, DecisionStatus.FAILED, "nothing to run was recorded")
            return None
        for verdict in record.proposals:
            if verdict["outcome"] != "rejected":  # the acceptance engine's word
                session.add(
                    ParameterChange(
                        stream_id=record.stream_id,
                        decision_id=record.id,
                        parameter=verdict["parameter"],
                        old_value=verdict["current"],
                        new_value=verdict["value"],
                    )
                )
        finish_decision(session, record, DecisionStatus.RUNNING, "dispatched")
        return Claim(
            decision_id=record.id,
            stream=session.get(Stream, record.stream_id).name,
            flow=record.request["flow"],
            request=record.request["request"] | {"decision_id": record.id},
            idempotency_key=record.idempotency_key,
        )


def beat(decision_id: int) -> DecisionStatus | None:
    """Say the process running the decision in-process is alive (only while it is running);
    the decision's status as it is now (``cancelled`` tells the process to stop its run)."""
    with connect() as session:
        session.execute(
            update(DecisionRecord)
            .where(
                DecisionRecord.id == decision_id,
                DecisionRecord.status == DecisionStatus.RUNNING,
            )
            .values(heartbeat_at=utcnow())
        )
        status = session.scalar(
            select(DecisionRecord.status).where(DecisionRecord.id == decision_id)
        )
        return DecisionStatus(status) if status is not None else None
