"""Step 1 as a Prefect task: window optimisation (:mod:`mimicry.search.window`)."""

from __future__ import annotations

from prefect import task

from mimicry.search.window import optimize_window

optimize_window_task = task(optimize_window, name="window-optimisation", retries=1)
