"""The words of the ranking's answer (Steps 2.5-6): the signal gate, the held-out test, the
prediction; one sentence each, for the terminal, the run's log and the Prefect artifacts."""

from __future__ import annotations

from mimicry.render.text import plain_markdown
from mimicry.search.statistics import p_value_text


def held_out_test(test) -> str:
    """The one look at the test split (a span's hits, draws, chance and p-value: a
    :class:`mimicry.ranking.training.SpanScore` or the answer's ``SpanSummary``), in words."""
    return (
        f"held-out pools hit {test.hits}/{test.draws} (chance {test.chance:.3g}, "
        f"p {p_value_text(test.p_value)})"
    )


def scorer_line(choice, population) -> str:
    """Step 2.5's choice (a :class:`mimicry.ranking.scorer_search.ScorerChoice`) over the
    hypothesis population it was tuned on, for the run's log."""
    survivors = sum(1 for hypothesis in population if hypothesis.source == "survivor")
    config = choice.config
    return (
        f"Step 2.5: scorer tuned in {choice.trials} trials on {len(population):,} hypotheses "
        f"({survivors:,} survivor{'' if survivors == 1 else 's'}, "
        f"{len(population) - survivors:,} chance decoys): validation "
        f"gain {choice.validation_gain:.4f} nats a draw; {len(config.features)} features, "
        f"weight power {config.weight_power:.3g}, uniform share {config.uniform_mix:.3g}"
        + (", identical tracks merged" if config.dedup else "")
    )


def scoring_line(population_size: int, scored, cuts: int) -> str:
    """Step 3's scoring (a :class:`mimicry.ranking.scoring.ScoredPopulation`), for the log."""
    merged = population_size - len(scored.population)
    return f"Step 3: {len(scored.population):,} hypotheses scored at {cuts} walk-forward cuts" + (
        f" ({merged:,} merged into hypotheses with identical tracks)" if merged else ""
    )


def selection_line(selection) -> str:
    """Step 4's model choice (a :class:`mimicry.ranking.selection.Selection`), for the log."""
    ranked = sorted(selection.results, key=lambda result: result.valid_mean, reverse=True)
    winner = selection.result(selection.winner)
    others = "; ".join(
        f"{result.model_type} {result.valid_mean:.4f}"
        for result in ranked
        if result.model_type != selection.winner
    )
    return (
        f"Step 4: {selection.winner} chosen, validation gain {winner.valid_mean:.4f} nats a "
        f"draw (fold spread {winner.valid_spread:.4f}, train/validation gap {winner.gap:.4f}, "
        f"{winner.trials} trials)" + (f"; the others: {others}" if others else "")
    )


def signal_line(report) -> str:
    """Step 5's signal gate and the test split (a
    :class:`mimicry.ranking.training.TrainingReport`), for the run's log."""
    return (
        f"Step 5: {'signal' if report.signal else 'no signal'} ({report.signal_reason}); "
        f"model {report.model_type}; {held_out_test(report.test)}"
    )


def null_shuffles(null) -> str:
    """How many label shuffles the permutation null took, and why it stopped if it did."""
    if not null.stopped_early:
        return f"{null.permutations} label shuffles"
    return (
        f"{len(null.null_gains)} of {null.permutations} label shuffles (stopped: "
        f"{null.at_least_as_good} did as well as the model, so the gate could not pass)"
    )


def null_range(null) -> str:
    """The shuffled gains' range; none when no shuffle ran (with so few permutations that the
    null's p-value could not reach the gate's level, nothing was shuffled)."""
    if not null.null_gains:
        return ""
    return f", gains from {min(null.null_gains):.4f} to {max(null.null_gains):.4f}"


def signal_gate_markdown(report) -> str:
    """Does the ranking beat chance and its permutation null? The Prefect artifact."""
    null, validation, test = report.null, report.validation, report.test
    return (
        f"# {'Signal' if report.signal else 'No signal'}\n\n{report.signal_reason}.\n\n"
        f"* Validation pools: {validation.hits}/{validation.draws} hits "
        f"(chance {validation.chance:.3g}, p {p_value_text(validation.p_value)}); "
        f"gain {validation.gain_per_draw:.4f} nats/draw, fold spread "
        f"{report.validation_spread:.4f}, train/validation gap {report.validation_gap:.4f}.\n"
        f"* Permutation null: {null_shuffles(null)}{null_range(null)}; "
        f"p {p_value_text(null.p_value)}.\n"
        f"* Test split (evaluated once): {held_out_test(test)}, gain "
        f"{test.gain_per_draw:.4f} nats/draw.\n"
    )


def prediction_line(prediction) -> str:
    """Step 6's pool for the next draw (a :class:`mimicry.ranking.next_draw.NextDraw`)."""
    low, high = prediction.p_hit_interval
    return (
        f"Step 6: next draw of {prediction.stream!r} (position {prediction.position}): pool "
        f"{' '.join(map(str, prediction.pool))}; P(hit) = {prediction.p_hit:.3g} "
        f"({low:.3g}–{high:.3g}) against chance {prediction.chance:.3g}"
    )


def prediction_markdown(prediction) -> str:
    """The pool for the next draw and its calibrated chance of a hit: the Prefect artifact. The
    stream's name is a user's: escaped, so it cannot make the UI show a link or an image."""
    return (
        f"# Next draw of {plain_markdown(prediction.stream)} (position {prediction.position})\n\n"
        f"{prediction.statement}\n\nPool: {' '.join(map(str, prediction.pool))}\n"
    )


def ranking_result(signal: str | None, model) -> tuple[str, str]:
    """A ranked run's state name and clause: Step 5's word on the held-out draws (``model``: the
    answer's ``ModelSummary``)."""
    if signal == "signal":
        test = model.test
        return "Signal", (
            f"signal: held-out pools hit {test.hits}/{test.draws} (chance {test.chance:.3g})"
        )
    return "No signal", model.signal_reason  # "no signal: <which gate it failed>"
