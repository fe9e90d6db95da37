"""Predictions from a search's best survivor, before any draw can be held out (DESIGN.md §8).

A search on a short segment (just after a change point) cannot hold draws out to train and test a
ranking, but when its best survivor is overwhelmingly significant (the expected number of chance
survivors of the whole search at most :data:`OVERWHELMING`) it is the generator with probability
about one minus that number, and its continuation predicts the next draw at once. The pool puts
the survivor's value first; the statement says the confidence comes from the search's statistics,
not from held-out draws. The ML ranking takes over when the segment is long enough (a retrain).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gpu_kernels.job import SieveJob, WindowMatch
from mimicry.ranking.next_draw import NextDraw
from mimicry.ranking.population import Hypothesis, Source
from mimicry.store.models import Run, SieveJobRecord, SurvivorRecord

#: Expected chance survivors of a whole search below which its best survivor predicts alone.
OVERWHELMING = 1e-6


def best_survivor(session: Session, run: Run) -> tuple[Hypothesis, float] | None:
    """The run's best survivor as a hypothesis, with its search's expected chance survivors;
    None unless that is at most :data:`OVERWHELMING`."""
    best = None
    for job_record in session.scalars(
        select(SieveJobRecord).where(SieveJobRecord.run_id == run.id).order_by(SieveJobRecord.id)
    ):
        expected = (job_record.stats or {}).get("expected_false_survivors")
        survivor = session.scalar(
            select(SurvivorRecord)
            .where(SurvivorRecord.job_id == job_record.id)
            .order_by(SurvivorRecord.rank)
            .limit(1)
        )
        if survivor is None or expected is None or expected > OVERWHELMING:
            continue
        if best is None or survivor.p_value < best[2].p_value:
            best = (SieveJob.model_validate(job_record.job), expected, survivor)
    if best is None:
        return None
    job, expected, survivor = best
    candidate = survivor.seed if survivor.seed is not None else survivor.state
    skip = survivor.skip if isinstance(survivor.skip, int) else tuple(survivor.skip)
    match = WindowMatch(
        candidate=candidate, position=survivor.position, skip=skip, matches=survivor.matches
    )
    return Hypothesis(job=job, match=match, source=Source.SURVIVOR), expected


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
