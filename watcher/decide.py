"""Decisions: from a stream's fired triggers (and the advisor's proposals, judged) to one action
and who must approve it (docs/design.md §17). Deterministic: the same inputs give the same decision.

The rules choose the action; the advisor only proposes parameter changes (judged by
:mod:`watcher.acceptance`) and may ask for a person (``escalate``) when the rules would wait.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from llm.schemas import Action, StreamAdvice
from watcher.acceptance import Outcome, ProposalVerdict
from watcher.policy import Policy
from watcher.triggers import StreamHealth, Trigger, TriggerName


class Approval(StrEnum):
    AUTO = "auto"
    PERSON = "person"


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)
    action: Action
    #: The rule that chose the action, in words.
    rule: str
    approval: Approval
    #: Why it is automatic or why it waits for a person.
    approval_rule: str
    #: For a research: where its searched segment starts (a change point, or the current one).
    segment_start: int | None = None
    #: For a research after a regime shift: calls by which the change may precede
    #: ``segment_start`` (the search's offsets reach that far back).
    segment_slack: int = 0


def _named(triggers: list[Trigger], name: TriggerName) -> Trigger | None:
    return next((t for t in triggers if t.name == name), None)


#: The most calls a research's offsets reach back before its segment for an uncertain change
#: point (each one more is one more hypothesis per seed).
MAX_SEGMENT_SLACK = 16
#: The fewest: the re-seeded generator's first draws may meet the old run's pool by chance (K/M
#: each), and a hit promised at P(hit) near 1 is never inside the likelihood's support when it
#: is chance (seen in CI: re-seeded at 330, a chance hit at 330, the split at 331 and no slack).
#: Two calls back leave it to three chance hits in a row, (K/M)^3.
MIN_SEGMENT_SLACK = 2


class Choice(NamedTuple):
    action: Action
    rule: str
    #: For a research: its segment's start, and how far before it the change may be.
    segment_start: int | None = None
    segment_slack: int = 0


def _in_progress(health: StreamHealth) -> Choice:
    # Its triggers read a run that is about to be replaced, and a search or retrain now would
    # race it: the stream is left alone until the run ends.
    since = health.run_in_progress_since
    started = f" (started {since:%Y-%m-%d %H:%M:%S} UTC)" if since else ""
    return Choice(
        Action.WAIT,
        f"run {health.run_in_progress} on the stream is in progress{started}; "
        "nothing is decided until it ends",
    )


def _after_regime_shift(
    health: StreamHealth, shift: Trigger, policy: Policy, budget_left: bool, budget: str
) -> Choice:
    """A search on the draws after the change point once enough have arrived, within the
    day's budget (else a person is asked)."""
    after = health.draws - shift.change_point
    if after < policy.research_min_draws:
        return Choice(
            Action.WAIT,
            f"regime shift at draw {shift.change_point}; {after} draws after it, a search "
            f"waits for {policy.research_min_draws}",
        )
    if not budget_left:
        return Choice(Action.ESCALATE, f"regime shift, but the search budget is spent ({budget})")
    earliest = shift.change_earliest if shift.change_earliest is not None else shift.change_point
    return Choice(
        Action.RESEARCH,
        f"regime shift at draw {shift.change_point}",
        shift.change_point,
        min(max(shift.change_point - earliest, MIN_SEGMENT_SLACK), MAX_SEGMENT_SLACK),
    )


def choose_action(
    health: StreamHealth,
    triggers: list[Trigger],
    advice: StreamAdvice | None,
    policy: Policy,
) -> Choice:
    """The action, the rule that chose it and, for a research, its segment."""
    if health.run_in_progress is not None:
        return _in_progress(health)
    budget_left = health.searches_today < policy.searches_per_day
    budget = f"{health.searches_today} of {policy.searches_per_day} searches today"
    shift = _named(triggers, TriggerName.REGIME_SHIFT)
    if shift is not None:
        return _after_regime_shift(health, shift, policy, budget_left, budget)
    shortfall = _named(triggers, TriggerName.HIT_RATE_COLLAPSE) or _named(
        triggers, TriggerName.MISS_STREAK
    )
    if shortfall is not None:
        # Below chance on a stream that promised only chance: the data or the scoring is off.
        return Choice(Action.ESCALATE, f"{shortfall.name.value} on a stream without signal")
    if health.signal and not health.ranked and health.rankable:
        # A search that predicts from its overwhelming survivor alone: rank it once it can.
        return Choice(Action.RETRAIN, "the segment now holds enough draws to rank its survivors")
    drift = _named(triggers, TriggerName.CALIBRATION_DRIFT)
    if drift is not None:
        # The run still hits, but less than it promised: a retrain recalibrates its promise on
        # the newest draws (a sharp change would have been a regime shift above).
        return Choice(Action.RETRAIN, "calibration drift: the run no longer keeps its promise")
    if _named(triggers, TriggerName.STALE) is not None:
        return Choice(Action.RETRAIN, "stale: the model has not seen the newest draws")
    if _named(triggers, TriggerName.NEW_DATA) is not None:
        if budget_left:
            return Choice(
                Action.RESEARCH, "new data on a stream without signal", health.segment_start
            )
        return Choice(Action.WAIT, f"new data, but the search budget is spent ({budget})")
    if advice is not None and advice.recommended_action == Action.ESCALATE:
        return Choice(Action.ESCALATE, "no rule fired; the advisor asks a person to look")
    return Choice(Action.WAIT, "no trigger fired" if not triggers else "no rule acts on these")


def approval_for(
    action: Action,
    policy: Policy,
    bigger_search: bool,
) -> tuple[Approval, str]:
    """Who approves: a person where the policy asks, automatic by a named rule otherwise.
    Proposals beyond the auto-accept limit ride only on an action a person approves
    (:func:`held_back`); they never make an automatic action wait."""
    if action == Action.ESCALATE:
        return Approval.PERSON, "an escalation is for a person"
    if action == Action.RETRAIN:
        if policy.retrain_approval == "person":
            return Approval.PERSON, "policy: retrain_approval = person"
        return Approval.AUTO, "policy: retrain_approval = auto"
    if action == Action.RESEARCH:
        mode = policy.research_approval
        if mode == "person" or (mode == "auto_if_no_bigger" and bigger_search):
            why = "bigger than the stream's last completed search" if bigger_search else ""
            return Approval.PERSON, f"policy: research_approval = {mode}" + (
                f" and the search is {why}" if why else ""
            )
        return Approval.AUTO, f"policy: research_approval = {mode}"
    return Approval.AUTO, "nothing to run"


def held_back(verdicts: list[ProposalVerdict], approval: Approval) -> list[ProposalVerdict]:
    """The verdicts as applied: a change that needs a person is applied only with an action a
    person approves; with an automatic one it is not applied, and the record says so (a large
    advisory change never holds a detected regime shift's search hostage)."""
    if approval == Approval.PERSON:
        return verdicts
    return [
        v.model_copy(
            update={
                "outcome": Outcome.REJECTED,
                "rule": f"{v.rule}; not applied: the action runs without a person",
            }
        )
        if v.outcome == Outcome.NEEDS_APPROVAL
        else v
        for v in verdicts
    ]


def decide(
    health: StreamHealth,
    triggers: list[Trigger],
    advice: StreamAdvice | None,
    policy: Policy,
    bigger_search: bool,
) -> Decision:
    choice = choose_action(health, triggers, advice, policy)
    approval, approval_rule = approval_for(choice.action, policy, bigger_search)
    return Decision(
        action=choice.action,
        rule=choice.rule,
        approval=approval,
        approval_rule=approval_rule,
        segment_start=choice.segment_start,
        segment_slack=choice.segment_slack,
    )
