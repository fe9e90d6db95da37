"""``mimicry predict`` and ``mimicry evaluate``: the latest prediction, and scoring new draws."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy import select

from mimicry.render import plain_text
from mimicry.search.statistics import p_value_text
from mimicry.settings import get_settings
from mimicry.store.database import connect
from mimicry.store.models import Stream
from mimicry.store.streams import StoreConflict, append_draws, require_stream
from mimicry_cli.common import JsonFlag, app, fail, terminal
from mimicry_cli.store import store_errors

StreamFlag = Annotated[
    str | None, typer.Option(help="Stream (default: the only one in the store).")
]


def resolve_stream(name: str | None) -> str:
    with connect() as session:
        if name is not None:
            try:
                return require_stream(session, name).name
            except StoreConflict as error:
                fail(f"--stream: {error}")
        names = session.scalars(select(Stream.name).order_by(Stream.name)).all()
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
        _, prediction = evaluate_stream(name, get_settings().pool_size)
    if prediction is None:
        fail(f"stream {name!r} has no ranked run yet; run `mimicry run` on it first")
    if as_json:
        print(json.dumps(prediction_json(prediction)))
    else:
        print_prediction(prediction)


@app.command()
def evaluate(
    draw: Annotated[int, typer.Option(help="The draw that just came out.")],
    stream: StreamFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Append a new draw, score the prediction for it, and predict the next one."""
    from mimicry.loop.evaluation import evaluate_stream

    with store_errors():
        name = resolve_stream(stream)
        try:
            with connect() as session:
                modulus = require_stream(session, name).modulus
                append_draws(session, name, [draw], modulus, source="mimicry evaluate")
        except StoreConflict as error:
            fail(f"--draw: {error}")
        scored, prediction = evaluate_stream(name, get_settings().pool_size)
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
        rolling = s.rolling
        print(
            f"position {s.position}: actual {s.actual}, {'hit' if s.hit else 'miss'}, rank "
            f"{s.rank}, log-likelihood gain {s.log_loss_gain:+.3f} nats; rolling: "
            f"{rolling['hits']}/{rolling['evaluated']} hits (chance {rolling['chance']:.3g}, "
            f"p {p_value_text(rolling['binomial_p'])}), cumulative gain "
            f"{rolling['cumulative_log_loss_gain']:+.2f}, {rolling['consecutive_misses']} "
            "misses in a row"
        )
    if prediction:
        print_prediction(prediction)
