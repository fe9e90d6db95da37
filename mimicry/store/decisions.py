"""The WATCHER's records in the store: decisions, the parameter changes they applied, and the one
halt switch (DESIGN.md §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mimicry.store.models import DecisionRecord, ParameterChange, Stream, WatcherHalt

#: Statuses a decision ends in; ``pending_approval``, ``approved`` and ``running`` are on their
#: way.
FINAL_STATUSES = ("done", "failed", "rejected", "halted", "cancelled")


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


def find_decision(session: Session, idempotency_key: str) -> DecisionRecord | None:
    return session.scalar(
        select(DecisionRecord).where(DecisionRecord.idempotency_key == idempotency_key)
    )


def require_decision(session: Session, decision_id: int) -> DecisionRecord:
    record = session.get(DecisionRecord, decision_id)
    if record is None:
        raise LookupError(f"no decision {decision_id} in the store (mimicry decisions lists them)")
    return record


def list_decisions(
    session: Session, stream_id: int | None = None, limit: int = 50
) -> list[DecisionRecord]:
    """The newest decisions first."""
    query = select(DecisionRecord)
    if stream_id is not None:
        query = query.where(DecisionRecord.stream_id == stream_id)
    return list(session.scalars(query.order_by(DecisionRecord.id.desc()).limit(limit)))


def decisions_with_status(session: Session, status: str) -> list[DecisionRecord]:
    return list(
        session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.status == status)
            .order_by(DecisionRecord.id)
        )
    )


def finish_decision(
    session: Session, record: DecisionRecord, status: str, outcome: str
) -> DecisionRecord:
    record.status, record.outcome = status, outcome
    if status in FINAL_STATUSES:
        record.finished_at = datetime.now(UTC)
    session.flush()
    return record


def beat_decision(session: Session, decision_id: int) -> str | None:
    """Say the process running the decision in-process is alive (only while it is running);
    the decision's status as it is now (``cancelled`` tells the process to stop its run)."""
    session.execute(
        update(DecisionRecord)
        .where(DecisionRecord.id == decision_id, DecisionRecord.status == "running")
        .values(heartbeat_at=datetime.now(UTC))
    )
    return session.scalar(select(DecisionRecord.status).where(DecisionRecord.id == decision_id))


def searches_since(session: Session, stream_id: int, since: datetime) -> int:
    """Searches the WATCHER started (or that wait for a person) for the stream since ``since``."""
    return session.scalar(
        select(func.count())
        .select_from(DecisionRecord)
        .where(
            DecisionRecord.stream_id == stream_id,
            DecisionRecord.action == "research",
            DecisionRecord.status.in_(("pending_approval", "running", "done", "failed")),
            DecisionRecord.created_at >= since,
        )
    )


def searches_today(session: Session, stream_id: int, now: datetime) -> int:
    return searches_since(session, stream_id, now - timedelta(days=1))


def applied_changes(session: Session, stream_id: int) -> list[ParameterChange]:
    """The stream's applied parameter changes, oldest first."""
    return list(
        session.scalars(
            select(ParameterChange)
            .where(ParameterChange.stream_id == stream_id)
            .order_by(ParameterChange.id)
        )
    )


def record_change(
    session: Session, decision: DecisionRecord, parameter: str, old: float, new: float
) -> None:
    session.add(
        ParameterChange(
            stream_id=decision.stream_id,
            decision_id=decision.id,
            parameter=parameter,
            old_value=old,
            new_value=new,
        )
    )
    session.flush()


def stream_names(session: Session) -> list[str]:
    return list(session.scalars(select(Stream.name).order_by(Stream.name)))
