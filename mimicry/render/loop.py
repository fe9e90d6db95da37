"""The words of the arbiter: a draw scored against its prediction, and a stream's rolling hit
rate against chance (``mimicry evaluate``, ``mimicry ingest``)."""

from __future__ import annotations

from mimicry.search.statistics import p_value_text


def rolling_hits(rolling: dict) -> str:
    """``12/40 hits (chance 0.01, p 3e-15)``: the stream's scored draws so far."""
    return (
        f"{rolling['hits']}/{rolling['evaluated']} hits (chance {rolling['chance']:.3g}, "
        f"p {p_value_text(rolling['binomial_p'])})"
    )


def score_line(scored) -> str:
    """One draw scored (a :class:`mimicry.loop.evaluation.Scored`), with the rolling metrics."""
    rolling = scored.rolling
    return (
        f"position {scored.position}: actual {scored.actual}, "
        f"{'hit' if scored.hit else 'miss'}, rank {scored.rank}, log-likelihood gain "
        f"{scored.log_loss_gain:+.3f} nats; rolling: {rolling_hits(rolling)}, cumulative gain "
        f"{rolling['cumulative_log_loss_gain']:+.2f}, {rolling['consecutive_misses']} misses "
        "in a row"
    )


def scores_line(scored: list) -> str:
    """Several draws scored at once (an ingest)."""
    return (
        f"scored {len(scored)} predictions: {sum(s.hit for s in scored)} hits; rolling "
        f"{rolling_hits(scored[-1].rolling)}"
    )
