"""The one renderer (docs/design.md §11.1): every sentence and row a person reads — in
the terminal, the Prefect artifacts and the flows' logs — is written here once, and every one of
those reads it from here, so they cannot say different things. Text is markdown (``**`` for
emphasis); the terminal turns that into its own style. User and model text goes through
:mod:`mimicry.render.text` first.
"""

from __future__ import annotations

import importlib

#: Each name and the module it lives in: a command imports only the renderers it uses
#: (``mimicry recover`` reads ``plain_text``, not the search's statistics and numpy).
_MODULES = {
    "SURVIVOR_COLUMNS": "search",
    "approval_form_text": "watch",
    "chunk_line": "search",
    "decision_rows": "watch",
    "families_verdict": "search",
    "family_table": "search",
    "held_out_test": "ranking",
    "history_line": "search",
    "incompleteness": "search",
    "p_value_cell": "search",
    "plain_markdown": "text",
    "plain_text": "text",
    "prediction_line": "ranking",
    "prediction_markdown": "ranking",
    "rolling_hits": "loop",
    "score_line": "loop",
    "scorer_line": "ranking",
    "scores_line": "loop",
    "scoring_line": "ranking",
    "search_line": "search",
    "selection_line": "ranking",
    "signal_gate_markdown": "ranking",
    "signal_line": "ranking",
    "summary_markdown": "search",
    "survivor_rows": "search",
    "verdict": "search",
    "verdict_line": "search",
    "window_choice_line": "search",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    globals()[name] = value  # the next lookup is a plain one
    return value
