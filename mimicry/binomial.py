"""Exact binomial tails, quantiles and Clopper–Pearson intervals, from ``scipy.special``.

Every count the project tests against chance (hits of a pool, matches of a window, the
WATCHER's triggers, the promotion gate) is binomial. ``scipy.stats`` gives the same numbers but
costs 0.7 s to import, paid by every ``mimicry watch`` tick and ``mimicry evaluate``; these are
the incomplete-beta identities ``scipy.stats`` itself evaluates. ``scipy.special`` (a third of a
second) is imported when a number is first asked for: ``mimicry status`` and the other commands
that print no p-value do not pay it.
"""

from __future__ import annotations

import numpy as np


def at_most(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p); elementwise over arrays."""
    from scipy.special import bdtr

    k, n = np.floor(k), np.asarray(n)
    result = bdtr(np.clip(k, 0, n), n, p)
    return np.where(k < 0, 0.0, np.where(k >= n, 1.0, result))


def at_least(k, n, p):
    """P(X >= k) for X ~ Binomial(n, p); elementwise over arrays."""
    from scipy.special import bdtrc

    k, n = np.ceil(k), np.asarray(n)
    # P(X >= k) = P(X > k - 1), computed as an upper tail (no 1 - cdf cancellation).
    result = bdtrc(np.clip(k - 1, 0, n), n, p)
    return np.where(k <= 0, 1.0, np.where(k > n, 0.0, result))


def quantile(q: float, n: int, p: float) -> int:
    """The smallest k with P(X <= k) >= q (``scipy.stats.binom.ppf``)."""
    cumulative = at_most(np.arange(n + 1), n, p)
    # A relative tolerance as scipy's, so that a cdf a rounding error below q still counts.
    return int(np.searchsorted(cumulative, q * (1 - 64 * np.finfo(float).eps), side="left"))


def p_value_above_chance(hits: int, draws: int, chance: float) -> float:
    """One-sided exact binomial test of "hits more often than ``chance``" (1 for no draw)."""
    if draws == 0:
        return 1.0
    return float(at_least(hits, draws, chance))


def clopper_pearson(hits: int, draws: int, level: float = 0.95) -> tuple[float, float]:
    """The exact two-sided interval for a hit rate of ``hits`` in ``draws``."""
    from scipy.special import betaincinv

    if draws == 0:
        return (0.0, 1.0)
    tail = (1 - level) / 2
    low = 0.0 if hits == 0 else float(betaincinv(hits, draws - hits + 1, tail))
    high = 1.0 if hits == draws else float(betaincinv(hits + 1, draws - hits, 1 - tail))
    return (low, high)
