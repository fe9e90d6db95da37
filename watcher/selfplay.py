"""Selfplay's rules, pure (docs/design.md §21): when an episode may start, which promotion the
acceptance lets through and who approves it, and when the live scoring demotes a champion.
Snapshots in, verdicts out; the selfplay flow and the WATCHER tick do the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from mimicry.ranking.health import sequential_calibration_p_values
from mimicry.requests import PipelineRequest
from mimicry.selfplay.candidate import Candidate
from mimicry.store.selfplay import ChampionView, Usage
from mimicry.store.statuses import ChampionState
from watcher.acceptance import Outcome
from watcher.policy import Selfplay


def champion_request(base: PipelineRequest, knobs: dict | None) -> PipelineRequest:
    """What the stream's searches and retrains run with: its last search's request (stream,
    modulus, seeds, segment) with the active champion's knobs, when it has one. Knobs the
    request can no longer take (a pool not below a new modulus) leave it as it is."""
    if knobs is None:
        return base
    try:
        return Candidate.model_validate(knobs).applied_to(base)
    except ValueError:  # pydantic's ValidationError included
        return base


def budget_refusal(usage: Usage, policy: Selfplay, scheduled: bool) -> str | None:
    """Why no episode may start on the stream now, or None. ``usage``: what selfplay spent on
    it in the last 24 hours; ``scheduled``: the WATCHER asks (a person's ``mimicry selfplay``
    is held to the CPU budget and one episode at a time, not to the scheduling count)."""
    if usage.running:
        return "an episode of the stream is running"
    if scheduled and policy.episodes_per_day == 0:
        return "the policy schedules no episodes (selfplay.episodes_per_day = 0)"
    if scheduled and usage.episodes >= policy.episodes_per_day:
        return (
            f"{usage.episodes} episodes in the last 24 hours, the policy's "
            f"selfplay.episodes_per_day is {policy.episodes_per_day}"
        )
    if usage.cpu_seconds >= policy.cpu_seconds_per_day:
        return (
            f"{usage.cpu_seconds:.0f} CPU-seconds of replays in the last 24 hours, the policy's "
            f"selfplay.cpu_seconds_per_day is {policy.cpu_seconds_per_day:g}"
        )
    return None


class PromotionVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)
    outcome: Outcome
    rule: str


def promotion_verdict(
    candidate: Candidate,
    history: Sequence[ChampionView],
    policy: Selfplay,
    now: datetime,
) -> PromotionVerdict:
    """The acceptance of a candidate the gate passed: inside the policy's space, out of the
    cooldown of the stream's last promotion, not one of its last demoted or reverted champions;
    then automatic or a person's, as the policy says. ``history``: the stream's champions,
    newest first."""
    outside = candidate.outside(policy.space)
    if outside:
        return PromotionVerdict(outcome=Outcome.REJECTED, rule=outside)
    promoted = [c for c in history if c.state != ChampionState.REJECTED]
    if promoted:
        until = promoted[0].created_at + timedelta(minutes=policy.cooldown_minutes)
        if now < until:
            return PromotionVerdict(
                outcome=Outcome.REJECTED,
                rule=(
                    f"champion {promoted[0].version} was promoted at "
                    f"{promoted[0].created_at:%Y-%m-%d %H:%M:%S} UTC; in its cooldown until "
                    f"{until:%H:%M:%S}"
                ),
            )
    ended = [c for c in history if c.state in (ChampionState.DEMOTED, ChampionState.REVERTED)]
    for earlier in ended[: policy.reversal_window]:
        if Candidate.model_validate(earlier.candidate).key == candidate.key:
            return PromotionVerdict(
                outcome=Outcome.REJECTED,
                rule=(
                    f"it is champion {earlier.version}, {earlier.state.value}: "
                    f"{earlier.ended_reason}"
                ),
            )
    if policy.promotion_approval == "person":
        return PromotionVerdict(
            outcome=Outcome.NEEDS_APPROVAL,
            rule="selfplay.promotion_approval = person: a person approves the promotion",
        )
    return PromotionVerdict(
        outcome=Outcome.ACCEPTED,
        rule="selfplay.promotion_approval = auto: promoted without a person",
    )


class Shortfall(BaseModel):
    """The arbiter's evidence against a champion."""

    model_config = ConfigDict(frozen=True)
    draws: int
    hits: int
    promised: float
    p_value: float
    reason: str


def demotion(
    champion: ChampionView, live_hits: Sequence[bool], policy: Selfplay
) -> Shortfall | None:
    """The evidence that demotes ``champion``, or None. ``live_hits``: its stream's scored draws
    since it went live (``champion.live_from``), in order. The test is the anytime-valid
    calibration test of docs/design.md §20 against the replay's hit rate, read on every tick
    without inflating its level; it is read only after ``demotion_min_draws`` draws."""
    if len(live_hits) < policy.demotion_min_draws:
        return None
    promised = champion.promised_hit_rate
    p_value = float(
        sequential_calibration_p_values([promised] * len(live_hits), list(live_hits))[-1]
    )
    if p_value >= policy.demotion_alpha:
        return None
    hits = sum(map(bool, live_hits))
    return Shortfall(
        draws=len(live_hits),
        hits=hits,
        promised=promised,
        p_value=p_value,
        reason=(
            f"its live predictions hit {hits} of {len(live_hits)} draws against the "
            f"{promised:.3g} its replay promised (anytime-valid p = {p_value:.3g} < "
            f"{policy.demotion_alpha:g})"
        ),
    )


def idle(triggers: Sequence, in_progress: Sequence, open_run: object | None) -> bool:
    """A stream selfplay may explore now: no trigger fired at this tick, no run of it in
    flight and no decision of it on its way to run one."""
    return not triggers and not in_progress and open_run is None


def advised_proposals(advice: dict | None) -> list[dict]:
    """The parameter proposals of a recorded advice (``decisions.advice``), as a selfplay
    request takes them; none when it holds none."""
    proposals = ((advice or {}).get("advice") or {}).get("parameter_proposals") or []
    return [
        {"parameter": str(p["parameter"]), "value": float(p["value"])}
        for p in proposals
        if isinstance(p, dict) and "parameter" in p and "value" in p
    ]
