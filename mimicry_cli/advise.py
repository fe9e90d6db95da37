"""``mimicry advise``: what the advisor says about a stream, and the schema it answers in."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.text import Text

from mimicry.render import plain_text
from mimicry_cli.common import JsonFlag, app, command_settings, fail, terminal
from mimicry_cli.predict import StreamFlag, resolve_stream
from mimicry_cli.store import store_errors


@app.command()
def advise(
    stream: StreamFlag = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the advice's JSON schema and exit.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Ask the advisor (MIMICRY_LLM_BACKEND: local, http or heuristic, or a chain such as
    local,http tried in turn) about a stream.

    The advice is validated against its schema; a backend whose answers are invalid twice, or
    time out, is replaced by the heuristic's advice, marked degraded. Advice proposes only: the
    WATCHER's policy decides what is applied."""
    from llm.advisor import advise_in_turn
    from llm.backends import AdvisorUnavailable, backends_from, sized_bundle
    from llm.schemas import StreamAdvice

    if schema:
        print(json.dumps(StreamAdvice.model_json_schema(), indent=2))
        return
    with store_errors():
        name = resolve_stream(stream)
        try:
            backends = backends_from(command_settings())
        except AdvisorUnavailable as error:
            fail(str(error))
        try:
            report = advise_in_turn(backends, lambda backend: sized_bundle(name, backend))
        except AdvisorUnavailable as error:
            fail(str(error))
        finally:
            for backend in backends:
                backend.close()
    if as_json:
        print(report.model_dump_json())
        return
    advice = report.advice
    console = terminal()
    state = (
        "degraded to the heuristic's advice"
        if report.degraded
        else "deterministic rules"
        if report.backend == "heuristic"
        else "validated"
    )
    # Everything below is a model's or a server's words (or a user's stream name): shown as
    # plain Text (no markup, emoji codes or highlighting) with every control character as its
    # escape, so none can act on the terminal.
    lines = [
        f"stream {report.stream!r}: {advice.recommended_action} (failure mode "
        f"{advice.failure_mode}, scope {advice.retrain_scope}, confidence "
        f"{advice.confidence:.2f}); {report.backend} advisor, {report.model}, {state}, "
        f"{report.latency_s:.1f} s",
        f"evidence: {', '.join(advice.evidence) or 'none'}",
        f"rationale: {advice.rationale}",
        *(f"  {failure}" for failure in report.failures),
    ]
    for line in lines:
        console.print(Text(plain_text(line)))
