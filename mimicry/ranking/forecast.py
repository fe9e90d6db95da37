"""From weighted hypotheses to a next-draw distribution, a pool, and honest scores of both.

The distribution for one draw is a mixture: ``uniform_mix`` spread evenly over ``[0, M)`` and the
rest split among the values the hypotheses predict, in proportion to their weights. The pool is
its K most probable values. A pool of K values out of M hits by chance with probability K/M;
every hit rate here is set beside that rate with an exact binomial test, and log-losses beside
the uniform distribution's ``log M``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mimicry.binomial import p_value_above_chance
from mimicry.search.hypothesis import NO_CALL


def weights_from_scores(scores: np.ndarray, power: float) -> np.ndarray:
    return np.maximum(np.asarray(scores, dtype=np.float64), 0.0) ** power


def distribution(
    predicted: np.ndarray, weights: np.ndarray, modulus: int, uniform_mix: float
) -> np.ndarray:
    """P(next draw = v) for v in [0, M), from each hypothesis's predicted value."""
    probabilities = np.full(modulus, 1.0 / modulus)
    valid = (predicted != NO_CALL) & (weights > 0)
    total = float(weights[valid].sum())
    if total <= 0.0:
        return probabilities
    mass = np.bincount(predicted[valid], weights=weights[valid], minlength=modulus)[:modulus]
    return uniform_mix * probabilities + (1.0 - uniform_mix) * mass / total


def pool(probabilities: np.ndarray, size: int) -> list[int]:
    """The ``size`` most probable values, most probable first (ties: the smaller value)."""
    order = np.lexsort((np.arange(probabilities.size), -probabilities))
    return [int(v) for v in order[:size]]


class PoolHits:
    """Pool hits on a run of draws beside chance, for any record with ``draws``, ``hits``,
    ``pool_size`` and ``modulus`` (the scores here and the reports stored from them)."""

    draws: int
    hits: int
    pool_size: int
    modulus: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.draws if self.draws else 0.0

    @property
    def chance(self) -> float:
        return self.pool_size / self.modulus

    @property
    def p_value(self) -> float:
        """One-sided exact binomial test of the hits against the chance rate K/M."""
        return p_value_above_chance(self.hits, self.draws, self.chance)


@dataclass(frozen=True)
class SpanScore(PoolHits):
    """How a ranking's pools and distributions did on a run of known draws."""

    draws: int
    hits: int
    pool_size: int
    modulus: int
    #: Sum over the draws of log(p(actual)) - log(1/M), in nats.
    log_loss_gain: float

    def __add__(self, other: SpanScore) -> SpanScore:
        return SpanScore(
            self.draws + other.draws,
            self.hits + other.hits,
            self.pool_size,
            self.modulus,
            self.log_loss_gain + other.log_loss_gain,
        )


def score_span(
    tracks: np.ndarray,
    weights: np.ndarray,
    draws: Sequence[int],
    start: int,
    stop: int,
    modulus: int,
    pool_size: int,
    uniform_mix: float,
) -> SpanScore:
    """Pools and distributions for ``draws[start:stop]`` from tracks with fixed weights."""
    hits, gain = 0, 0.0
    for index in range(start, stop):
        probabilities = distribution(tracks[:, index], weights, modulus, uniform_mix)
        actual = draws[index]
        hits += actual in pool(probabilities, pool_size)
        gain += math.log(probabilities[actual]) + math.log(modulus)
    return SpanScore(stop - start, hits, pool_size, modulus, gain)
