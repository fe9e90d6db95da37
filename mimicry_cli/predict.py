"""``mimicry predict`` and ``mimicry evaluate``: the latest prediction, and scoring new draws."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from mimicry.render import plain_text, score_line
from mimicry.store.errors import StoreConflict
from mimicry_cli.common import JsonFlag, app, command_settings, fail, terminal
from mimicry_cli.store import store_errors

StreamFlag = Annotated[
    str | None, typer.Option(help="Stream (default: the only one in the store).", metavar="NAME")
]


def resolve_stream(name: str | None) -> str:
    # The store (SQLAlchemy: a quarter second) loads where a command reads it, not with the
    # module: `mimicry --help` loads every command's module.
    from mimicry.store.streams import stream_info, stream_names

    if name is not None:
        try:
            return stream_info(name).name
        except StoreConflict as error:
            fail(f"--stream: {error}")
    names = stream_names()
    if len(names) != 1:
        fail(
            "--stream is required when the store holds "
            + (f"several streams ({', '.join(names)})" if names else "no streams")
        )
    return names[0]


def prediction_json(prediction) -> dict:
    return {
        "stream": prediction.stream,
        "signal": prediction.signal,
        "pool": prediction.pool,
        "p_hit": prediction.p_hit,
        "p_hit_interval": list(prediction.p_hit_interval),
        "chance": prediction.chance,
        "distribution": prediction.distribution,
        "run_id": prediction.run_id,
        "position": prediction.position,
        "statement": prediction.statement,
        "top_hypotheses": prediction.top_hypotheses,
    }


def print_prediction(prediction, console: Console | None = None) -> None:
    console = console or terminal()
    # The stream's name is a user's: plain text, its markup shown and never applied.
    console.print(
        Text.assemble(
            plain_text(
                f"next draw of {prediction.stream!r} (position {prediction.position}), run "
                f"{prediction.run_id}: "
            ),
            (prediction.signal, "bold"),
        )
    )
    console.print(f"pool ({len(prediction.pool)} values): {' '.join(map(str, prediction.pool))}")
    low, high = prediction.p_hit_interval
    console.print(
        f"P(hit) = {prediction.p_hit:.3g} (95% interval {low:.3g}–{high:.3g}); "
        f"chance = {prediction.chance:.3g}"
    )
    console.print(Text(plain_text(prediction.statement)))


@app.command()
def predict(stream: StreamFlag = None, as_json: JsonFlag = False) -> None:
    """The latest prediction for a stream's next draw (made by the last run, rolled forward)."""
    from mimicry.loop.evaluation import evaluate_stream

    with store_errors():
        name = resolve_stream(stream)
        _, prediction = evaluate_stream(name, command_settings().pool_size)
    if prediction is None:
        fail(f"stream {name!r} has no ranked run yet; run `mimicry run` on it first")
    if as_json:
        print(json.dumps(prediction_json(prediction)))
    else:
        print_prediction(prediction)


@app.command()
def evaluate(
    draw: Annotated[int, typer.Option(help="The draw that just came out.", metavar="VALUE")],
    stream: StreamFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Append a new draw, score the prediction for it, and predict the next one."""
    from mimicry.loop.evaluation import evaluate_stream
    from mimicry.store.streams import append

    with store_errors():
        name = resolve_stream(stream)
        try:
            append(name, [draw], "mimicry evaluate")
        except StoreConflict as error:
            fail(f"--draw: {error}")
        scored, prediction = evaluate_stream(name, command_settings().pool_size)
    report = {
        "stream": name,
        "evaluations": [s.model_dump() for s in scored],
        "next": prediction_json(prediction) if prediction else None,
    }
    if as_json:
        print(json.dumps(report))
        return
    if not scored:
        print(f"draw {draw} stored; no prediction for it to score", file=sys.stderr)
    for s in scored:
        print(score_line(s))
    if prediction:
        print_prediction(prediction)
