"""Training health in words (docs/design.md §20): one row per registered model, and per fit the
findings that are not ``ok`` (each check's own sentence)."""

from __future__ import annotations

from collections.abc import Sequence

from mimicry.render.text import plain_text

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
                "type": view.model_type,
                "health": view.health or "unknown",
                "findings": found,
            }
        )
    return rows
