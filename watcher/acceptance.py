"""The acceptance engine: which parameter proposals of an advice may apply (docs/design.md §17).

Each proposal passes only if its parameter is whitelisted, its value inside the policy's absolute
bounds (never bounds derived from the advisor's own numbers), its change from the current value
within the relative limit, it does not reverse a recent change of the same parameter, the
parameter is out of its cooldown, and no more than ``max_changes`` pass at once. Everything else
is rejected with the rule that rejected it. The current values and the change history come from
the store (changes are recorded when applied), so these checks see what really happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mimicry.store.decisions import AppliedChange
from watcher.policy import Acceptance


class Outcome(StrEnum):
    #: Applied with the decision, no person needed.
    ACCEPTED = "accepted"
    #: Within the bounds but beyond the auto-accept change: a person approves the decision.
    NEEDS_APPROVAL = "needs_approval"
    REJECTED = "rejected"


class Proposal(BaseModel):
    model_config = ConfigDict(frozen=True)
    parameter: str
    value: float


class ProposalVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)
    parameter: str
    value: float
    current: float | None
    outcome: Outcome
    #: The rule that decided, in words.
    rule: str


def _sign(number: float) -> int:
    return (number > 0) - (number < 0)


def _rejection(
    proposal: Proposal,
    current: float | None,
    history: Sequence[AppliedChange],
    policy: Acceptance,
    now: datetime,
) -> str | None:
    """The first rule ``proposal`` breaks, or None."""
    name, value = proposal.parameter, proposal.value
    if name not in policy.whitelist:
        return f"{name} is not in the policy's whitelist"
    if name not in policy.bounds:
        return f"the policy gives no bounds for {name}"
    low, high = policy.bounds[name]
    if not low <= value <= high:
        return f"{value:g} is outside the policy's bounds [{low:g}, {high:g}] for {name}"
    if current is None:
        return f"{name} has no current value to change"
    if value == current:
        return f"{name} is already {current:g}"
    change = abs(value - current) / abs(current) if current else float("inf")
    if change > policy.max_relative_change:
        return (
            f"{name} {current:g} -> {value:g} changes it by {change:.0%}, over the policy's "
            f"{policy.max_relative_change:.0%}"
        )
    deciding = sorted({c.decision_id for c in history})[-policy.reversal_window :]
    recent = [c for c in history if c.parameter == name and c.decision_id in deciding]
    if policy.reversal_window and recent:
        last = recent[-1]
        if _sign(value - current) == -_sign(last.new_value - last.old_value):
            return (
                f"{name} {current:g} -> {value:g} reverses decision {last.decision_id}'s change "
                f"{last.old_value:g} -> {last.new_value:g}"
            )
    changes = [c for c in history if c.parameter == name]
    if changes:
        until = changes[-1].applied_at + timedelta(minutes=policy.cooldown_minutes)
        if now < until:
            return (
                f"{name} changed at {changes[-1].applied_at:%Y-%m-%d %H:%M:%S} UTC; in its "
                f"cooldown until {until:%H:%M:%S}"
            )
    return None


def judge_proposals(
    proposals: Sequence[Proposal],
    current: dict[str, float],
    history: Sequence[AppliedChange],
    policy: Acceptance,
    now: datetime,
) -> list[ProposalVerdict]:
    """A verdict for each proposal, in order. ``current``: the stream's values now; ``history``:
    its applied changes, oldest first."""
    verdicts, passed, seen = [], 0, set()
    for proposal in proposals:
        value_now = current.get(proposal.parameter)
        rule = _rejection(proposal, value_now, history, policy, now)
        if rule is None and proposal.parameter in seen:
            rule = f"{proposal.parameter} is proposed twice in one advice"
        if rule is None and passed >= policy.max_changes:
            rule = f"the policy applies at most {policy.max_changes} changes at once"
        seen.add(proposal.parameter)
        if rule is not None:
            verdicts.append(
                ProposalVerdict(
                    parameter=proposal.parameter,
                    value=proposal.value,
                    current=value_now,
                    outcome=Outcome.REJECTED,
                    rule=rule,
                )
            )
            continue
        passed += 1
        change = abs(proposal.value - value_now) / abs(value_now)
        automatic = change <= policy.auto_accept_relative_change
        verdicts.append(
            ProposalVerdict(
                parameter=proposal.parameter,
                value=proposal.value,
                current=value_now,
                outcome=Outcome.ACCEPTED if automatic else Outcome.NEEDS_APPROVAL,
                rule=(
                    f"within bounds; a {change:.0%} change "
                    + ("applies without a person" if automatic else "needs a person's approval")
                    + f" (auto-accept up to {policy.auto_accept_relative_change:.0%})"
                ),
            )
        )
    return verdicts
