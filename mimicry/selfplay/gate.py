"""The promotion gate: a candidate configuration replaces the champion only on evidence
(docs/design.md §21).

On the same replay draws, each draw is a pair: did the candidate's pool hit, did the champion's.
Only the draws where exactly one of them hit say anything about which is better; under "the
candidate is no better" a discordant draw favours the candidate with probability at most 1/2,
so the one-sided exact McNemar p-value is a binomial tail over the discordant draws.

Selfplay tries candidate after candidate on the same history, so the level is spent, not
reused: the k-th candidate tried since the last promotion is tested at
``alpha · 6 / (π² k²)``. These levels sum to ``alpha`` over every candidate that could ever be
tried, so by the union bound a stream with no generator is promoted with probability at most
``alpha`` however many episodes run (Holm's correction needs the family's size in advance; an
open-ended exploration has none). A minimum effect size (hit-rate gain per draw) keeps a
significant but useless difference out as well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from mimicry.binomial import at_least


def exact_mcnemar(candidate_only: int, champion_only: int) -> float:
    """One-sided p-value of "the candidate hits more often than the champion": of the
    ``candidate_only + champion_only`` discordant draws, at least ``candidate_only`` favour
    the candidate under a fair coin. 1 with no discordant draw."""
    if candidate_only < 0 or champion_only < 0:
        raise ValueError("counts of draws are never negative")
    discordant = candidate_only + champion_only
    if discordant == 0:
        return 1.0
    return float(at_least(candidate_only, discordant, 0.5))


def spent_level(alpha: float, tried: int) -> float:
    """The level of the ``tried``-th candidate (1-based) since the last promotion."""
    if tried < 1:
        raise ValueError("the first candidate tried is number 1")
    return alpha * 6.0 / (math.pi**2 * tried**2)


class GateVerdict(BaseModel):
    """What the gate saw and concluded, for the store, the UI and ``mimicry selfplay --json``."""

    model_config = ConfigDict(frozen=True)

    draws: int
    candidate_hits: int
    champion_hits: int
    candidate_only: int
    champion_only: int
    p_value: float
    #: The level this candidate was tested at (its share of alpha).
    level: float
    #: Hit-rate gain per draw over the champion, and the least the policy accepts.
    effect: float
    min_effect: float
    passed: bool
    #: Why, in one sentence.
    reason: str


def gate(
    candidate_hits: Sequence[bool],
    champion_hits: Sequence[bool],
    tried: int,
    alpha: float,
    min_effect: float,
) -> GateVerdict:
    """The verdict on a candidate whose pools hit ``candidate_hits`` on the replay draws where
    the champion's hit ``champion_hits`` (the same draws, in the same order)."""
    if len(candidate_hits) != len(champion_hits):
        raise ValueError("the candidate and the champion are compared on the same draws")
    draws = len(candidate_hits)
    pairs = list(zip(map(bool, candidate_hits), map(bool, champion_hits), strict=True))
    candidate_only = pairs.count((True, False))
    champion_only = pairs.count((False, True))
    p_value = exact_mcnemar(candidate_only, champion_only)
    level = spent_level(alpha, tried)
    effect = (candidate_only - champion_only) / draws if draws else 0.0
    if draws == 0:
        passed, reason = False, "no replay draw to compare on"
    elif p_value > level:
        passed = False
        reason = (
            f"not better on the evidence: p = {p_value:.3g} over {candidate_only} draws only it "
            f"hit and {champion_only} only the champion hit, above its level {level:.3g} "
            f"(candidate {tried} since the last promotion)"
        )
    elif effect < min_effect:
        passed = False
        reason = (
            f"better, but by {effect:.3g} hits a draw, under the policy's minimum {min_effect:.3g}"
        )
    else:
        passed = True
        reason = (
            f"better: p = {p_value:.3g} <= {level:.3g} (candidate {tried} since the last "
            f"promotion), {effect:.3g} more hits a draw than the champion"
        )
    return GateVerdict(
        draws=draws,
        candidate_hits=sum(map(bool, candidate_hits)),
        champion_hits=sum(map(bool, champion_hits)),
        candidate_only=candidate_only,
        champion_only=champion_only,
        p_value=p_value,
        level=level,
        effect=effect,
        min_effect=min_effect,
        passed=passed,
        reason=reason,
    )
