"""Predictions from a search's best survivor, before any draw can be held out.

A search on a short segment (just after a change point) cannot hold draws out to train and test a
ranking, but when its best survivor is overwhelmingly significant (the expected number of chance
survivors of the whole search at most :data:`OVERWHELMING`) it is the generator with probability
about one minus that number, and its continuation predicts the next draw at once. The pool puts
the survivor's value first; the statement says the confidence comes from the search's statistics,
not from held-out draws. The ML ranking takes over when the segment is long enough (a retrain).
"""

from __future__ import annotations

from collections.abc import Sequence

from mimicry.ranking.next_draw import NextDraw
from mimicry.ranking.population import Hypothesis, Source
from mimicry.search.results import JobBest

#: Expected chance survivors of a whole search below which its best survivor predicts alone.
OVERWHELMING = 1e-6


def best_survivor(jobs: Sequence[JobBest]) -> tuple[Hypothesis, float] | None:
    """The run's best survivor (from its jobs' bests, :func:`mimicry.store.runs.jobs_best`) as a
    hypothesis, with its search's expected chance survivors; None unless that is at most
    :data:`OVERWHELMING`."""
    overwhelming = [
        best
        for best in jobs
        if best.match is not None
        and best.expected_false_survivors is not None
        and best.expected_false_survivors <= OVERWHELMING
    ]
    if not overwhelming:
        return None
    best = min(overwhelming, key=lambda b: b.p_value)
    hypothesis = Hypothesis(job=best.job, match=best.match, source=Source.SURVIVOR)
    return hypothesis, best.expected_false_survivors


def continuation_prediction(
    stream: str,
    run_id: str,
    hypothesis: Hypothesis,
    expected_false: float,
    segment: Sequence[int],
    first_position: int,
    modulus: int,
    pool_size: int,
) -> NextDraw:
    """The next draw after ``segment`` (the stream's draws from ``first_position``) under the
    survivor: its value first in the pool, the rest of the pool the smallest other values."""
    index = len(segment)
    value = hypothesis.track(segment, index + 1)[index]
    chance = pool_size / modulus
    p_right = max(0.0, 1.0 - expected_false)
    # The survivor's value carries P(it is the generator); the rest is spread uniformly.
    rest = (1.0 - p_right) / modulus
    distribution = [rest] * modulus
    distribution[value] += p_right
    pool = [value, *[v for v in range(modulus) if v != value][: pool_size - 1]]
    p_hit = p_right + (1.0 - p_right) * chance
    return NextDraw(
        stream=stream,
        run_id=run_id,
        position=first_position + index,
        signal="signal",
        pool=pool,
        p_hit=p_hit,
        p_hit_interval=(p_hit, 1.0),
        chance=chance,
        distribution=distribution,
        statement=(
            f"Signal from the search alone (no draws held out yet): its best survivor, "
            f"{hypothesis.label()}, would be matched by chance {expected_false:.3g} times in the "
            f"whole search, so it is the generator with probability about {p_right:.6g}; its "
            f"next value {value} leads the pool. P(hit) = {p_hit:.6g} against the chance rate "
            f"{chance:.3g} of {pool_size} values out of {modulus}."
        ),
        top_hypotheses=[{"hypothesis": hypothesis.label(), "score": p_right, "predicts": value}],
    )
