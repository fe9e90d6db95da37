"""Triggers: what in a stream's scored draws is worth acting on, each with its evidence and the
chance baseline it was tested against (docs/design.md §17).

A trigger compares with what the stream's current run promised, never with zero: each scored
prediction carries its calibrated P(hit) (the held-out rate of a run with signal, K/M without), and
the tests use the low end of its interval, so only a shortfall unlikely even under the most modest
promise fires, and one miss never means anything. A stream without signal promised nothing beyond
chance (its pools are uniform): a shortfall there says nothing about a generator, so neither a
collapse nor a miss streak is tested on it (a 459-miss streak at K/M = 0.01 would otherwise fire
at rate alpha on every tick of an honest chance stream).
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mimicry.binomial import at_most
from mimicry.ranking.health import DEFAULT_THRESHOLDS, sequential_calibration_p_values
from watcher.policy import Policy


class TriggerName(StrEnum):
    HIT_RATE_COLLAPSE = "hit_rate_collapse"
    MISS_STREAK = "miss_streak"
    REGIME_SHIFT = "regime_shift"
    CALIBRATION_DRIFT = "calibration_drift"
    STALE = "stale"
    NEW_DATA = "new_data"


class Scored(BaseModel):
    """One scored draw of the current run's predictions."""

    model_config = ConfigDict(frozen=True)
    position: int
    hit: bool
    #: The low end of the prediction's calibrated P(hit) interval.
    promised: float
    chance: float


class StreamHealth(BaseModel):
    """What the triggers read about one stream, taken from the store at one moment."""

    model_config = ConfigDict(frozen=True)
    stream: str
    draws: int
    #: The stream's current run (the newest completed one), or None.
    run_id: str | None
    signal: bool
    #: Where the current run's searched draws start (0, or a change point).
    segment_start: int = 0
    #: Whether the current run ranked its hypotheses (an unranked one predicts from its best
    #: survivor), and whether its segment now holds enough draws to rank.
    ranked: bool = True
    rankable: bool = False
    #: Scored draws of the current run's predictions, oldest first.
    scored: tuple[Scored, ...] = ()
    #: Draws since the newest run (search or retrain) of the stream was made.
    draws_since_run: int = 0
    #: Draws since the newest search (a full pipeline run).
    draws_since_search: int = 0
    #: Searches the WATCHER started for the stream in the last 24 hours.
    searches_today: int = 0
    #: A run on the stream still in progress (started by a decision or by a person), and when it
    #: started: a tick leaves such a stream alone.
    run_in_progress: str | None = None
    run_in_progress_since: datetime | None = None


class Trigger(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: TriggerName
    #: One sentence with the numbers.
    reason: str
    #: The probability of what was seen under the promise (None for counting triggers).
    p_value: float | None = None
    #: What the numbers were compared with.
    baseline: float | None = None
    #: For a regime shift: the first draw after which the run's hypotheses stop matching.
    change_point: int | None = None
    #: For a regime shift: the earliest draw the change may have come at (the likelihood's
    #: support interval; chance hits of a pool after the change make the estimate late).
    change_earliest: int | None = None

    def line(self) -> str:
        return f"{self.name.value}: {self.reason}"


def hit_rate_collapse(health: StreamHealth, policy: Policy) -> Trigger | None:
    """Over the newest W scored draws, hits this few under the promised rate have one-sided
    binomial probability below alpha."""
    window = health.scored[-policy.collapse_window :]
    if not health.signal or not window:
        return None
    hits = sum(s.hit for s in window)
    promised = sum(s.promised for s in window) / len(window)
    p_value = float(at_most(hits, len(window), promised))  # P(X <= hits) under the promise
    if p_value >= policy.alpha:
        return None
    return Trigger(
        name=TriggerName.HIT_RATE_COLLAPSE,
        reason=(
            f"{hits} hits in the last {len(window)} scored draws where the run promised "
            f"{promised:.3f} a draw (P = {p_value:.2g} < alpha {policy.alpha:g})"
        ),
        p_value=p_value,
        baseline=promised,
    )


def miss_streak(health: StreamHealth, policy: Policy) -> Trigger | None:
    """The newest draws missed in a row, with probability below alpha under the promise."""
    if not health.signal:
        return None
    streak = []
    for scored in reversed(health.scored):
        if scored.hit:
            break
        streak.append(scored)
    if not streak:
        return None
    p_value = math.prod(1.0 - s.promised for s in streak)
    if p_value >= policy.alpha:
        return None
    return Trigger(
        name=TriggerName.MISS_STREAK,
        reason=(
            f"{len(streak)} misses in a row (P = {p_value:.2g} under the promised rate, "
            f"alpha {policy.alpha:g})"
        ),
        p_value=p_value,
        baseline=sum(s.promised for s in streak) / len(streak),
    )


#: How much less likely than the best split a split may be and still be where the change was
#: (a likelihood ratio of 20, the usual support interval).
CHANGE_SUPPORT = math.log(20)


def change_points(health: StreamHealth) -> tuple[int, int]:
    """The first draw after which the run's predictions stop hitting, and the earliest draw it
    may be: the maximum-likelihood split of the scored draws into "as promised" before it and
    "at chance" after it (the latest of equally likely splits), and the earliest split within
    :data:`CHANGE_SUPPORT` of it. Unlike "the draw after the last hit", a pool that hits by
    chance after the change (K/M of the time) does not move the estimate far, and the support
    says how far it may have moved it: two misses, a chance hit and misses again tie the split
    before the misses with the one after the hit."""
    scored = health.scored

    def log_p(hit: bool, rate: float) -> float:
        rate = min(max(rate, 1e-9), 1 - 1e-9)
        return math.log(rate if hit else 1.0 - rate)

    # Log-likelihood with the split before index k, for every k, in one pass each way.
    before = [0.0]
    for s in scored:
        before.append(before[-1] + log_p(s.hit, s.promised))
    after = [0.0]
    for s in reversed(scored):
        after.append(after[-1] + log_p(s.hit, s.chance))
    after.reverse()
    likelihood = [before[k] + after[k] for k in range(len(scored))]
    best = max(range(len(scored)), key=lambda k: (likelihood[k], k))
    earliest = min(k for k in range(best + 1) if likelihood[k] >= likelihood[best] - CHANGE_SUPPORT)
    return scored[best].position, scored[earliest].position


def regime_shift(fired: list[Trigger], health: StreamHealth) -> Trigger | None:
    """A collapse or a miss streak on a stream whose run had signal: what a re-seeded generator
    looks like."""
    if not health.signal:
        return None
    evidence = [
        t for t in fired if t.name in (TriggerName.HIT_RATE_COLLAPSE, TriggerName.MISS_STREAK)
    ]
    if not evidence:
        return None
    strongest = min(evidence, key=lambda t: t.p_value)
    point, earliest = change_points(health)
    return Trigger(
        name=TriggerName.REGIME_SHIFT,
        reason=(
            f"the run with signal stopped matching at draw {point} ({strongest.name.value}, "
            f"P = {strongest.p_value:.2g})"
        ),
        p_value=strongest.p_value,
        baseline=strongest.baseline,
        change_point=point,
        change_earliest=earliest,
    )


def calibration_drift(health: StreamHealth, policy: Policy) -> Trigger | None:
    """Over every scored draw of the current run, in order, fewer hits than its promises allow
    (each draw's promised P(hit) is the low end of its interval): an anytime-valid test, because
    the WATCHER reads it on every tick and a fixed-sample test read that often fires on kept
    promises (docs/design.md §20); from the training-health calibration check's minimum of
    scored draws on. A slow drift that no window of the newest draws shows (a promise of 0.9
    kept at 0.75) is caught here."""
    if not health.signal or len(health.scored) < DEFAULT_THRESHOLDS.calibration_min_draws:
        return None
    promised = [s.promised for s in health.scored]
    hits = [s.hit for s in health.scored]
    p_value = float(sequential_calibration_p_values(promised, hits)[-1])
    if p_value >= policy.alpha:
        return None
    expected = sum(promised)
    return Trigger(
        name=TriggerName.CALIBRATION_DRIFT,
        reason=(
            f"{sum(hits)} hits in the run's {len(promised)} scored draws where its promises add "
            f"up to {expected:.1f} (anytime-valid P = {p_value:.2g} < alpha {policy.alpha:g})"
        ),
        p_value=p_value,
        baseline=expected / len(promised),
    )


def stale(health: StreamHealth, policy: Policy) -> Trigger | None:
    if health.run_id is None or health.draws_since_run < policy.stale_draws:
        return None
    return Trigger(
        name=TriggerName.STALE,
        reason=f"{health.draws_since_run} draws since the last run (policy: {policy.stale_draws})",
    )


def new_data(health: StreamHealth, policy: Policy) -> Trigger | None:
    """Enough new draws for a stream without signal (or never searched) to be searched again."""
    if health.signal or health.draws_since_search < policy.new_data_draws:
        return None
    return Trigger(
        name=TriggerName.NEW_DATA,
        reason=(
            f"{health.draws_since_search} draws since the last search of a stream without "
            f"signal (policy: {policy.new_data_draws})"
        ),
    )


def fired_triggers(health: StreamHealth, policy: Policy) -> list[Trigger]:
    """Every trigger that fires on ``health``, in a fixed order."""
    fired = [t for t in (hit_rate_collapse(health, policy), miss_streak(health, policy)) if t]
    shift = regime_shift(fired, health)
    drift = calibration_drift(health, policy)
    counting = [t for t in (stale(health, policy), new_data(health, policy)) if t]
    return fired + ([shift] if shift else []) + ([drift] if drift else []) + counting
