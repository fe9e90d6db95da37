"""Step 1 as a Prefect task: window optimisation (:mod:`mimicry.window`)."""

from __future__ import annotations

from prefect import task

from mimicry.window import optimize_window

optimize_window_task = task(optimize_window, name="window-optimisation", retries=1)
