"""Training health in words (docs/design.md §20): one row per registered model, and per fit the
findings that are not ``ok`` (each check's own sentence)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from mimicry.render.text import plain_markdown, plain_text

#: The columns of ``mimicry health`` (the findings wrap).
HEALTH_COLUMNS = ("stream", "run", "model", "type", "health", "findings")


def finding_lines(fits: Sequence[dict], everything: bool = False) -> list[str]:
    """``fold 3: overfit (warning): Validation loss was lowest …`` for each finding that is not
    ``ok`` (every finding with ``everything``), fit by fit."""
    lines = []
    for fit in fits:
        for finding in fit["findings"]:
            if everything or finding["severity"] != "ok":
                lines.append(
                    f"{fit['fit']}: {finding['check']} ({finding['severity']}): "
                    f"{finding['sentence']}"
                )
    return lines


def why_line(why: dict, shown: int = 4) -> str:
    """``#1 seed 5,500 (score 0.83): window_matches +2.41, matches_after +1.30, … (log-odds
    from a base of -3.1)``: the largest shares, signed."""
    shares = ", ".join(
        f"{share['feature']} {share['share']:+.3g}" for share in why["shares"][:shown]
    )
    more = ", …" if len(why["shares"]) > shown else ""
    return plain_text(
        f"#{why['rank']} {why['hypothesis']} (score {why['score']:.3g}) because {shares}{more} "
        f"({why['scale']} from a base of {why['base']:.3g})"
    )


def health_rows(views, everything: bool = False) -> list[dict[str, str]]:
    """One row per model: its stream, run, id, type, worst severity and what was found."""
    rows = []
    for view in views:
        lines = finding_lines(view.fits, everything)
        if view.health is None:
            found = "registered before the health checks"
        else:
            found = "; ".join(lines) if lines else "every check ok"
        rows.append(
            {
                "stream": plain_text(view.stream),
                "run": view.run_id,
                "model": str(view.model_id),
                # The run's winner predicts; another type's best is kept to compare.
                "type": view.model_type if view.chosen else f"{view.model_type} (kept)",
                "health": view.health or "unknown",
                "findings": found,
            }
        )
    return rows


def health_markdown(report) -> str:
    """A run's training health and attribution for its Prefect artifact
    (:class:`mimicry.ranking.training.TrainingReport`)."""
    fits = [fit.model_dump(mode="json") for fit in report.health]
    lines = finding_lines(fits)
    parts = [f"**Training health: {report.health_severity.value}**", ""]
    parts += [f"- {plain_markdown(line)}" for line in lines] or ["- every check ok"]
    if report.attribution:
        parts += ["", "**Why the first hypotheses rank first**", ""]
        parts += [
            f"- {plain_markdown(why_line(why.model_dump(mode='json')))}"
            for why in report.attribution
        ]
    return "\n".join(parts)


def not_promoted_sentence(reason: str, prediction, standing_run: str | None) -> str:
    """What ``mimicry run`` says instead of a prediction when its model was not promoted
    (docs/design.md §20): which run's prediction stands, or that the stream has none yet."""
    stream = shlex.quote(prediction.stream)
    if standing_run is None:
        after = (
            "The stream has no promoted model yet, so no prediction: a run whose model is "
            f"healthy gives it one (mimicry run DRAWS --stream {stream}, or a WATCHER retrain)."
        )
    else:
        after = (
            f"Run {standing_run}'s prediction stands: mimicry predict --stream {stream} shows it."
        )
    return plain_text(
        f"{reason[:1].upper()}{reason[1:]}. Its pool for draw {prediction.position} is not "
        f"the stream's prediction. {after}"
    )
