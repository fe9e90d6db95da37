"""``mimicry health``: whether each model's own training went wrong (docs/design.md §20)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mimicry.render.health import HEALTH_COLUMNS, health_rows, why_line
from mimicry_cli.common import JsonFlag, Layout, app, fail, print_table, terminal
from mimicry_cli.predict import resolve_stream
from mimicry_cli.store import store_errors

HEALTH_LAYOUT = Layout(wrap=("findings",), drop=("run",))


@app.command()
def health(
    run: Annotated[str | None, typer.Option(help="This run's models.", metavar="RUN")] = None,
    stream: Annotated[
        str | None, typer.Option(help="This stream's newest model.", metavar="NAME")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every finding, the ok ones too.")
    ] = False,
    why: Annotated[
        bool,
        typer.Option(
            "--why",
            help="Also why the first hypotheses rank where they do: each feature's share of "
            "the model's score (TreeSHAP, or integrated gradients for the MLP).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Training health of registered models: each fit (walk-forward folds, the monitored fit,
    the final one) checked for divergence, not learning, overfitting, exploding or vanishing
    gradients, stopping at once, constant predictions and importance collapse. --run: every
    model the run registered, its winner first (the other types' best too when it ran with
    --save-all-models, marked "kept"). Without --run or --stream: every stream's newest
    model."""
    from mimicry.store.registry import model_health

    if run is not None and stream is not None:
        fail("--run and --stream: name one of them")
    with store_errors():
        name = resolve_stream(stream) if stream is not None else None
        views = model_health(run_id=run, stream=name)
    if run is not None and not views:
        fail(f"--run: run {run} has no registered model")
    if as_json:
        print(json.dumps({"models": [view.model_dump(mode="json") for view in views]}))
        return
    console = terminal()
    print_table(
        "Training health of registered models",
        health_rows(views, show_all),
        console,
        HEALTH_LAYOUT,
        HEALTH_COLUMNS,
    )
    if why:
        for view in views:
            print(f"model {view.model_id} ({view.model_type}), run {view.run_id}:")
            for line in [why_line(entry) for entry in view.attribution] or ["  no attribution"]:
                print(f"  {line}")
