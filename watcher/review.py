"""One stream's review in a WATCHER tick: its health, the triggers, the advisor when one fired, the
decision, and its record in the store (DESIGN.md §8). Dispatching what was decided is the flow's
(``flows/watcher.py``); everything here is plain code over the store, callable without Prefect.

A decision that would start work carries an idempotency key made from what it decided on (the
stream, the action, the draws it saw, the run it judged, the segment), so a tick repeated on the
same store state finds its earlier decision instead of making a second one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select

from gpu_kernels.job import Mode
from llm.advisor import AdviceReport, advise
from llm.backends import AdvisorUnavailable, HeuristicBackend, backend_from, sized_bundle
from llm.schemas import Action
from mimicry.ranking.splits import HistoryTooShort, split_history
from mimicry.requests import PipelineRequest, RankingSettings, RetrainRequest
from mimicry.settings import get_settings
from mimicry.store.database import connect
from mimicry.store.decisions import applied_changes, find_decision
from mimicry.store.models import DecisionRecord, Run, Stream
from mimicry.store.streams import require_stream
from watcher.acceptance import (
    AppliedChange,
    Outcome,
    Proposal,
    ProposalVerdict,
    judge_proposals,
)
from watcher.decide import Approval, Decision, decide, held_back
from watcher.health import completed_runs, is_search, stream_health
from watcher.policy import Policy
from watcher.triggers import StreamHealth, Trigger, fired_triggers


class DecisionView(BaseModel):
    """A decision as ``mimicry watch --once --json`` and ``mimicry decisions --json`` print it."""

    model_config = ConfigDict(extra="forbid")
    id: int
    stream: str
    created_at: datetime
    triggers: list[dict]
    advice: dict | None
    action: str
    rule: str
    proposals: list[dict]
    approval: dict
    status: str
    run_id: str | None
    flow_run_id: str | None
    outcome: str | None

    @classmethod
    def of(cls, record: DecisionRecord, stream: str) -> DecisionView:
        return cls(
            id=record.id,
            stream=stream,
            created_at=record.created_at,
            triggers=record.triggers,
            advice=record.advice,
            action=record.action,
            rule=record.rule,
            proposals=record.proposals,
            approval=record.approval,
            status=record.status,
            run_id=record.run_id,
            flow_run_id=record.flow_run_id,
            outcome=record.outcome,
        )


#: Decisions on their way. A stream has at most one that runs something (retrain or
#: research) and at most one escalation waiting; an escalation never holds up a run.
OPEN_STATUSES = ("pending_approval", "approved", "running")


def open_decision_of(session, stream_id: int, actions: tuple[str, ...]) -> DecisionRecord | None:
    return session.scalar(
        select(DecisionRecord)
        .where(
            DecisionRecord.stream_id == stream_id,
            DecisionRecord.status.in_(OPEN_STATUSES),
            DecisionRecord.action.in_(actions),
        )
        .order_by(DecisionRecord.id)
        .limit(1)
    )


def current_values(request: PipelineRequest) -> dict[str, float]:
    """The stream's values of the parameters an advice may propose, from its last search."""
    ranking = request.ranking
    return {
        "pool_size": ranking.pool_size,
        "holdout_fraction": ranking.holdout_fraction,
        "model_trials": ranking.model_trials,
        "window_trials": request.window_trials,
    }


def with_values(request: PipelineRequest, values: dict[str, float]) -> PipelineRequest:
    ranking = request.ranking.model_copy(
        update={
            "pool_size": int(values["pool_size"]),
            "holdout_fraction": float(values["holdout_fraction"]),
            "model_trials": int(values["model_trials"]),
        }
    )
    return request.model_copy(
        update={"ranking": ranking, "window_trials": int(values["window_trials"])}
    )


def search_request(run: Run | None, stream: str) -> PipelineRequest:
    """The request of the stream's last search, as a new search would make it again (no file
    to ingest); the defaults when it was never searched."""
    if run is None:
        return PipelineRequest(stream=stream)
    parameters = {
        k: v
        for k, v in run.parameters.items()
        if k in PipelineRequest.model_fields and k not in ("draws_file", "session", "column")
    }
    try:
        return PipelineRequest.model_validate(parameters | {"decision_id": None})
    except ValidationError:  # a run recorded by an older version: search with the defaults
        return PipelineRequest(stream=stream)


def bigger_search(new: PipelineRequest, last: PipelineRequest | None) -> bool:
    """More work than the stream's last completed search: more families, Step 1 trials or
    seeds per trial (the sieve's space per family is the same)."""
    if last is None:
        return True
    return (
        not set(new.families) <= set(last.families)
        or new.window_trials > last.window_trials
        or new.trial_budget > last.trial_budget
    )


def can_rank(draws: int, ranking: RankingSettings) -> bool:
    try:
        split_history(range(draws), ranking.holdout_fraction, ranking.holdout_min)
    except HistoryTooShort:
        return False
    return True


def idempotency_key(health: StreamHealth, decision: Decision, tick_id: str) -> str:
    """Made from what the decision was made on; a wait is recorded once per tick."""
    parts = [health.stream, decision.action.value, str(health.draws), str(health.run_id)]
    parts.append(str(decision.segment_start))
    if decision.action == Action.WAIT:
        parts.append(tick_id)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def consult(stream: str, triggers: list[Trigger], backend=None) -> tuple[AdviceReport, str]:
    """The advice for the stream's bundle and the bundle's fingerprint. A backend that cannot be
    used here (the extra missing, a corrupt model, no URL) gives the heuristic's advice,
    degraded, with the reason."""
    lines = [t.line() for t in triggers]
    try:
        if backend is None:
            backend = backend_from(get_settings())
        with connect(read_only=True) as session:
            bundle = sized_bundle(session, stream, backend, triggers=lines)
        report = advise(bundle, backend)
    except AdvisorUnavailable as error:
        heuristic = HeuristicBackend()
        with connect(read_only=True) as session:
            bundle = sized_bundle(session, stream, heuristic, triggers=lines)
        report = advise(bundle, heuristic).model_copy(
            update={
                "backend": get_settings().llm_backend,
                "degraded": True,
                "failures": [f"the advisor is unavailable: {error}"],
            }
        )
    finally:
        if backend is not None:
            backend.close()  # the model's memory goes back before any sieve needs it
    fingerprint = hashlib.sha256(bundle.as_text().encode()).hexdigest()
    return report, fingerprint


def planned_work(
    decision: Decision,
    base: PipelineRequest,
    values: dict[str, float],
    last_search: Run | None,
    health: StreamHealth,
    stream: str,
) -> dict:
    """What a retrain or research decision will run: the flow and its request."""
    if decision.action == Action.RETRAIN:
        ranking = with_values(base, values).ranking
        request = RetrainRequest(stream=stream, search_run_id=last_search.id, ranking=ranking)
        return {"flow": "retrain", "request": request.model_dump(mode="json")}
    segment_start = decision.segment_start or 0
    searched = with_values(base, values)
    sieve = searched.sieve
    if decision.segment_slack and sieve.mode is Mode.SEED:
        # The change may precede the segment by up to the slack: the re-seeded generator's
        # first draws in the segment are then its calls 1, 2, ..., which offsets reach.
        low, high = sieve.offsets or (0, 0)
        sieve = sieve.model_copy(update={"offsets": (low, high + decision.segment_slack)})
    request = searched.model_copy(
        update={
            "segment_start": segment_start,
            "sieve": sieve,
            "rank": can_rank(health.draws - segment_start, base.ranking),
        }
    )
    return {"flow": "pipeline", "request": request.model_dump(mode="json")}


def review_stream(
    stream: str, policy: Policy, tick_id: str, now: datetime, backend=None
) -> DecisionView:
    """Decide for ``stream`` and record the decision (or find the same one recorded earlier).
    ``backend``: the advisor's (default: the one the settings name)."""
    with connect(read_only=True) as session:
        record = require_stream(session, stream)
        health = stream_health(session, record, now)
        searches = [run for run in completed_runs(session, record.id) if is_search(run)]
        last_search = searches[0] if searches else None
        base = search_request(last_search, stream)
        history = [
            AppliedChange.model_validate(change, from_attributes=True)
            for change in applied_changes(session, record.id)
        ]
        open_run = open_decision_of(session, record.id, (Action.RETRAIN, Action.RESEARCH))
        open_escalation = open_decision_of(session, record.id, (Action.ESCALATE,))
    health = health.model_copy(
        update={"rankable": can_rank(health.draws - health.segment_start, base.ranking)}
    )
    triggers = fired_triggers(health, policy)
    by_rules = decide(health, triggers, None, policy, bigger_search=False)
    if by_rules.action != Action.WAIT:
        # The same decision on the same store state, made by an earlier tick: that one stands
        # (and the advisor is not asked again).
        with connect(read_only=True) as session:
            earlier = find_decision(session, idempotency_key(health, by_rules, tick_id))
            if earlier is not None:
                return DecisionView.of(earlier, stream)
    report = fingerprint = None
    if triggers and policy.consult_advisor and health.run_in_progress is None:
        report, fingerprint = consult(stream, triggers, backend)
    advice = report.advice if report is not None else None
    # A first decision without proposals chooses the action; proposals are judged only for an
    # action that runs something, and applied to what it runs.
    decision = decide(health, triggers, advice, policy, bigger_search=False)
    verdicts = []
    request_json = None
    open_decision = open_escalation if decision.action == Action.ESCALATE else open_run
    if open_decision is not None and decision.action != Action.WAIT:
        # One run in flight per stream, one escalation waiting: a new one waits for it to end.
        decision = decision.model_copy(
            update={
                "action": Action.WAIT,
                "rule": (
                    f"{decision.action.value} ({decision.rule}) waits: decision "
                    f"{open_decision.id} is {open_decision.status}"
                ),
                "segment_start": None,
                "segment_slack": 0,
            }
        )
    if decision.action == Action.RETRAIN and last_search is None:
        decision = decision.model_copy(
            update={
                "action": Action.WAIT,
                "rule": "stale, but the stream was never searched: nothing to retrain",
            }
        )
    if decision.action in (Action.RETRAIN, Action.RESEARCH):
        proposals = [
            Proposal(parameter=p.parameter, value=p.value)
            for p in (advice.parameter_proposals if advice else [])
        ]
        current = current_values(base)
        judged = judge_proposals(proposals, current, history, policy.acceptance, now)

        def decided_with(verdicts: list[ProposalVerdict]) -> tuple[Decision, dict]:
            values = dict(current)
            for verdict in verdicts:
                if verdict.outcome != Outcome.REJECTED:
                    values[verdict.parameter] = verdict.value
            work = planned_work(decision, base, values, last_search, health, stream)
            bigger = work["flow"] == "pipeline" and bigger_search(
                PipelineRequest.model_validate(work["request"]), base if last_search else None
            )
            made = decide(health, triggers, advice, policy, bigger_search=bigger)
            return made, work

        verdicts = judged
        decision, request_json = decided_with(judged)
        if decision.approval == Approval.AUTO and held_back(judged, Approval.AUTO) != judged:
            verdicts = held_back(judged, Approval.AUTO)
            decision, request_json = decided_with(verdicts)
    key = idempotency_key(health, decision, tick_id)
    with connect() as session:
        earlier = find_decision(session, key)
        if earlier is not None:
            return DecisionView.of(earlier, stream)
        waits = decision.approval == Approval.PERSON
        status = (
            "done"
            if decision.action == Action.WAIT
            else ("pending_approval" if waits else "approved")
        )
        record = DecisionRecord(
            stream_id=require_stream(session, stream).id,
            tick_id=tick_id,
            draws=health.draws,
            triggers=[t.model_dump(mode="json") for t in triggers],
            bundle_fingerprint=fingerprint,
            advice=(
                report.model_dump(mode="json", exclude={"bundle"}) if report is not None else None
            ),
            action=decision.action.value,
            rule=decision.rule,
            proposals=[v.model_dump(mode="json") for v in verdicts],
            approval={"mode": decision.approval.value, "rule": decision.approval_rule},
            status=status,
            request=request_json,
            idempotency_key=key,
            expires_at=(
                now + timedelta(minutes=policy.approval_timeout_minutes) if waits else None
            ),
            outcome=decision.rule if decision.action == Action.WAIT else None,
        )
        session.add(record)
        session.flush()
        return DecisionView.of(record, stream)


def record_halted(stream: str, tick_id: str, reason: str | None) -> DecisionView:
    """The tick's record for a stream while the WATCHER is halted: nothing was decided."""
    with connect() as session:
        record = DecisionRecord(
            stream_id=require_stream(session, stream).id,
            tick_id=tick_id,
            draws=0,
            triggers=[],
            action=Action.WAIT.value,
            rule=f"halted: {reason}",
            proposals=[],
            approval={"mode": "auto", "rule": "nothing to run"},
            status="halted",
            idempotency_key=hashlib.sha256(f"{stream}|halted|{tick_id}".encode()).hexdigest(),
            outcome=f"the WATCHER is halted: {reason}",
        )
        session.add(record)
        session.flush()
        return DecisionView.of(record, stream)


def stream_pool_size(stream: str) -> int:
    """K for the stream's next predictions: its last search's pool size."""
    with connect(read_only=True) as session:
        record = require_stream(session, stream)
        searches = [run for run in completed_runs(session, record.id) if is_search(run)]
        base = search_request(searches[0] if searches else None, stream)
    return base.ranking.pool_size


def decision_views(session, ids: list[int]) -> list[DecisionView]:
    """The decisions ``ids`` as the store holds them now, in that order."""
    views = []
    for decision_id in ids:
        record = session.get(DecisionRecord, decision_id)
        stream = session.get(Stream, record.stream_id)
        views.append(DecisionView.of(record, stream.name))
    return views
