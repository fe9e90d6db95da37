"""One stream's review in a WATCHER tick, pure (docs/design.md §17.1): the store's
snapshot of the stream, the advisor's consultation (or none), the policy and the time in, one
:class:`DecisionPlan` out (action, rule, approval, proposal verdicts, the work it runs, its
status and idempotency key). No I/O: :mod:`watcher.tick` loads the snapshot, consults the
advisor, calls :func:`review` and saves the plan.

The plan's idempotency key is made from what it decided on (the stream, the action, the draws it
saw, the run it judged, the segment), so a tick repeated on the same store state finds its
earlier decision instead of making a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from gpu_kernels.job import Mode
from llm.advisor import AdviceReport
from llm.schemas import Action, StreamAdvice
from mimicry.ranking.splits import HistoryTooShort, split_history
from mimicry.requests import PipelineRequest, RankingSettings, RetrainRequest
from mimicry.store.decisions import NewDecision
from mimicry.store.statuses import DecisionStatus
from mimicry.store.watch import OpenDecision, RunFacts, StreamSnapshot
from watcher.acceptance import Outcome, Proposal, ProposalVerdict, judge_proposals
from watcher.decide import Approval, Choice, Decision, approval_for, choose_action, held_back
from watcher.health import last_search, stream_health
from watcher.policy import Policy
from watcher.selfplay import champion_request
from watcher.skips import skipped_model_types
from watcher.triggers import StreamHealth, Trigger, fired_triggers


class Consultation(BaseModel):
    """What the advisor said, and the SHA-256 of the bundle it was given."""

    model_config = ConfigDict(frozen=True)
    report: AdviceReport
    fingerprint: str


class DecisionPlan(BaseModel):
    """What the review decided for one stream, ready to record."""

    model_config = ConfigDict(frozen=True)
    stream: str
    draws: int
    triggers: list[Trigger]
    consultation: Consultation | None
    decision: Decision
    verdicts: list[ProposalVerdict]
    #: What it runs: ``{"flow": "pipeline" | "retrain", "request": {...}}``, or None.
    work: dict | None
    status: DecisionStatus
    idempotency_key: str
    expires_at: datetime | None
    #: Whether the advisor has something to say (a trigger fired, the policy consults it, and no
    #: run of the stream is in progress): the tick asks it, then reviews again with its advice.
    wants_advice: bool
    #: The key of what the rules chose before anything held it back (None for a wait): the
    #: decision an earlier tick recorded on the same store state has it, and stands.
    rules_key: str | None

    @property
    def action(self) -> Action:
        return self.decision.action

    def record(self, tick_id: str) -> NewDecision:
        report = self.consultation.report if self.consultation else None
        return NewDecision(
            stream=self.stream,
            tick_id=tick_id,
            draws=self.draws,
            triggers=[t.model_dump(mode="json") for t in self.triggers],
            bundle_fingerprint=self.consultation.fingerprint if self.consultation else None,
            advice=report.model_dump(mode="json", exclude={"bundle"}) if report else None,
            action=self.decision.action.value,
            rule=self.decision.rule,
            proposals=[v.model_dump(mode="json") for v in self.verdicts],
            approval={"mode": self.decision.approval.value, "rule": self.decision.approval_rule},
            status=self.status,
            request=self.work,
            idempotency_key=self.idempotency_key,
            expires_at=self.expires_at,
            outcome=self.decision.rule if self.decision.action == Action.WAIT else None,
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


def search_request(run: RunFacts | None, stream: str) -> PipelineRequest:
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


def stream_request(last: RunFacts | None, snapshot: StreamSnapshot) -> PipelineRequest:
    """What a new search of the stream runs: its last search's request with its selfplay
    champion's knobs (docs/design.md §21)."""
    return champion_request(search_request(last, snapshot.stream), snapshot.champion)


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


def trained_types(ranking: RankingSettings, skipped: Collection[str]) -> tuple[str, ...]:
    """The model types a training takes: the request's, less those the registry skips (all of
    them when it would skip every one: that case asks a person before anything runs)."""
    kept = tuple(t for t in ranking.model_types if t not in skipped)
    return kept or ranking.model_types


def every_type_skipped(choice: Choice, ranking: RankingSettings, skipped: dict[str, str]) -> Choice:
    """A retrain or research that would train no model type asks a person instead."""
    if choice.action not in (Action.RETRAIN, Action.RESEARCH):
        return choice
    if not set(ranking.model_types) <= set(skipped):
        return choice
    return Choice(
        Action.ESCALATE,
        f"{choice.action.value} ({choice.rule}) has no model type to train: "
        + "; ".join(skipped[t] for t in ranking.model_types),
    )


def can_rank(draws: int, ranking: RankingSettings) -> bool:
    try:
        split_history(range(draws), ranking.holdout_fraction, ranking.holdout_min)
    except HistoryTooShort:
        return False
    return True


def idempotency_key(health: StreamHealth, decision: Decision | Choice, tick_id: str) -> str:
    """Made from what the decision was made on; a wait is recorded once per tick."""
    parts = [health.stream, decision.action.value, str(health.draws), str(health.run_id)]
    parts.append(str(decision.segment_start))
    if decision.action == Action.WAIT:
        parts.append(tick_id)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def planned_work(
    decision: Decision | Choice,
    base: PipelineRequest,
    values: dict[str, float],
    last: RunFacts | None,
    health: StreamHealth,
    stream: str,
    skipped: Collection[str] = (),
) -> dict:
    """What a retrain or research decision will run: the flow and its request, training the
    model types the skip registry leaves in."""
    base = base.model_copy(
        update={
            "ranking": base.ranking.model_copy(
                update={"model_types": trained_types(base.ranking, skipped)}
            )
        }
    )
    if decision.action == Action.RETRAIN:
        ranking = with_values(base, values).ranking
        request = RetrainRequest(stream=stream, search_run_id=last.id, ranking=ranking)
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


def gated(choice: Choice, snapshot: StreamSnapshot, last: RunFacts | None) -> Choice:
    """The rules' choice, held where it may not run now: one run in flight per stream and one
    escalation waiting (a new one waits for it to end); a retrain needs a search to retrain."""
    if choice.action == Action.WAIT:
        return choice
    waiting: OpenDecision | None = (
        snapshot.open_escalation if choice.action == Action.ESCALATE else snapshot.open_run
    )
    if waiting is not None:
        return Choice(
            Action.WAIT,
            f"{choice.action.value} ({choice.rule}) waits: decision {waiting.id} is "
            f"{waiting.status.value}",
        )
    if choice.action == Action.RETRAIN and last is None:
        return Choice(Action.WAIT, "stale, but the stream was never searched: nothing to retrain")
    return choice


def applied(verdicts: list[ProposalVerdict], current: dict[str, float]) -> dict[str, float]:
    """The parameter values a decision runs with: the current ones, changed where accepted."""
    values = dict(current)
    for verdict in verdicts:
        if verdict.outcome != Outcome.REJECTED:
            values[verdict.parameter] = verdict.value
    return values


class Judged(NamedTuple):
    """What a retrain or research runs, after the acceptance engine judged the proposals."""

    verdicts: list[ProposalVerdict]
    work: dict | None
    approval: Approval
    approval_rule: str


def judged(
    choice: Choice,
    advice: StreamAdvice | None,
    snapshot: StreamSnapshot,
    health: StreamHealth,
    policy: Policy,
    now: datetime,
    skipped: Collection[str] = (),
) -> Judged:
    """The work of an action that runs something (proposals judged and applied, the model types
    ``skipped`` left out), and who approves it: a search bigger than the last one asks a person
    where the policy says so, and changes that need a person ride only on an action a person
    approves."""
    if choice.action not in (Action.RETRAIN, Action.RESEARCH):
        return Judged([], None, *approval_for(choice.action, policy, False))
    last = last_search(snapshot)
    base = stream_request(last, snapshot)
    current = current_values(base)
    proposals = [
        Proposal(parameter=p.parameter, value=p.value)
        for p in (advice.parameter_proposals if advice else [])
    ]
    verdicts = judge_proposals(proposals, current, snapshot.applied_changes, policy.acceptance, now)

    def work_with(kept: list[ProposalVerdict]) -> dict:
        return planned_work(
            choice, base, applied(kept, current), last, health, snapshot.stream, skipped
        )

    work = work_with(verdicts)
    bigger = work["flow"] == "pipeline" and bigger_search(
        PipelineRequest.model_validate(work["request"]), base if last else None
    )
    approval, approval_rule = approval_for(choice.action, policy, bigger)
    kept = held_back(verdicts, approval)
    if kept != verdicts:
        verdicts, work = kept, work_with(kept)
    return Judged(verdicts, work, approval, approval_rule)


def status_of(action: Action, approval: Approval) -> DecisionStatus:
    if action == Action.WAIT:
        return DecisionStatus.DONE
    return (
        DecisionStatus.PENDING_APPROVAL if approval == Approval.PERSON else DecisionStatus.APPROVED
    )


def review(
    snapshot: StreamSnapshot,
    consultation: Consultation | None,
    policy: Policy,
    now: datetime,
    tick_id: str,
) -> DecisionPlan:
    """Decide for the stream, once: the rules choose the action (the advice may only turn a wait
    into an escalation), proposals are judged for an action that runs something and applied to
    what it runs, and the policy says who approves."""
    last = last_search(snapshot)
    health = stream_health(snapshot)
    ranking = stream_request(last, snapshot).ranking
    health = health.model_copy(
        update={"rankable": can_rank(health.draws - health.segment_start, ranking)}
    )
    triggers = fired_triggers(health, policy)
    advice = consultation.report.advice if consultation else None
    skipped = skipped_model_types(snapshot.completed, policy)
    chosen = every_type_skipped(choose_action(health, triggers, advice, policy), ranking, skipped)
    choice = gated(chosen, snapshot, last)
    verdicts, work, approval, approval_rule = judged(
        choice, advice, snapshot, health, policy, now, skipped
    )
    left_out = [
        reason for model_type, reason in skipped.items() if model_type in ranking.model_types
    ]
    runs_training = choice.action in (Action.RETRAIN, Action.RESEARCH) and left_out
    decision = Decision(
        action=choice.action,
        rule=f"{choice.rule}; {'; '.join(left_out)}" if runs_training else choice.rule,
        approval=approval,
        approval_rule=approval_rule,
        segment_start=choice.segment_start,
        segment_slack=choice.segment_slack,
    )
    status = status_of(choice.action, approval)
    person = status == DecisionStatus.PENDING_APPROVAL
    return DecisionPlan(
        stream=snapshot.stream,
        draws=health.draws,
        triggers=triggers,
        consultation=consultation,
        decision=decision,
        verdicts=verdicts,
        work=work,
        status=status,
        idempotency_key=idempotency_key(health, decision, tick_id),
        expires_at=now + timedelta(minutes=policy.approval_timeout_minutes) if person else None,
        wants_advice=bool(triggers) and policy.consult_advisor and health.run_in_progress is None,
        rules_key=(
            None if chosen.action == Action.WAIT else idempotency_key(health, chosen, tick_id)
        ),
    )
