"""The one renderer (docs/design.md §11.1): every sentence and row a person reads — in
the terminal, the Prefect artifacts and the flows' logs — is written here once, and every one of
those reads it from here, so they cannot say different things. Text is markdown (``**`` for
emphasis); the terminal turns that into its own style. User and model text goes through
:mod:`mimicry.render.text` first.
"""

from mimicry.render.loop import rolling_hits, score_line, scores_line
from mimicry.render.ranking import (
    held_out_test,
    prediction_line,
    prediction_markdown,
    scorer_line,
    scoring_line,
    selection_line,
    signal_gate_markdown,
    signal_line,
)
from mimicry.render.search import (
    SURVIVOR_COLUMNS,
    chunk_line,
    family_table,
    history_line,
    incompleteness,
    p_value_cell,
    search_line,
    summary_markdown,
    survivor_rows,
    verdict,
    verdict_line,
    window_choice_line,
)
from mimicry.render.text import plain_markdown, plain_text
from mimicry.render.watch import approval_form_text, decision_rows

__all__ = [
    "SURVIVOR_COLUMNS",
    "approval_form_text",
    "chunk_line",
    "decision_rows",
    "family_table",
    "held_out_test",
    "history_line",
    "incompleteness",
    "p_value_cell",
    "plain_markdown",
    "plain_text",
    "prediction_line",
    "prediction_markdown",
    "rolling_hits",
    "score_line",
    "scorer_line",
    "scores_line",
    "scoring_line",
    "search_line",
    "selection_line",
    "signal_gate_markdown",
    "signal_line",
    "summary_markdown",
    "survivor_rows",
    "verdict",
    "verdict_line",
    "window_choice_line",
]
