"""What a run is called and tagged in the Prefect UI (docs/design.md §22): by what it does and
for which stream, not Prefect's random ``witty-shark``, so a person finds a stream's runs by its
tag and reads each run's purpose from its name.

The names are ``flow_run_name`` callables (Prefect calls them with the run's parameters in
``prefect.runtime``); the tags are added once the run has started, so a run started from the UI,
from CI, by the WATCHER or by ``mimicry run`` is tagged alike.
"""

from __future__ import annotations

from prefect.runtime import flow_run

from mimicry.render import plain_text

#: Prefect shows a tag whole; a stream's name is at most this long in one.
TAG_LENGTH = 100


def stream_tag(stream: str) -> str:
    """The tag every run of ``stream`` carries."""
    return "stream:" + plain_text(stream)[:TAG_LENGTH]


def _request():
    return flow_run.parameters.get("request")


def _field(request, name: str):
    return getattr(request, name, None) if not isinstance(request, dict) else request.get(name)


def pipeline_run_name() -> str:
    """``search-STREAM`` (``-decision-N`` when the WATCHER decided it)."""
    request = _request()
    name = f"search-{_field(request, 'stream')}"
    decision = _field(request, "decision_id")
    return name if decision is None else f"{name}-decision-{decision}"


def sieve_run_name() -> str:
    parameters = flow_run.parameters
    return f"sieve-{parameters.get('stream')}-{parameters.get('family')}"


def tick_run_name() -> str:
    stream = flow_run.parameters.get("stream")
    return "tick" if stream is None else f"tick-{stream}"


def tag_this_run(*streams: str) -> None:
    """Add the streams' tags to the running flow run (kept: the tags it was created with)."""
    if not flow_run.id or not streams:
        return
    from prefect.client.orchestration import get_client

    tags = list(dict.fromkeys([*flow_run.tags, *(stream_tag(s) for s in streams)]))
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, tags=tags)


def dispatched_line(decision_id: int, deployment: str, started) -> str:
    """The tick's log line for a run it started on a deployment, with the run's link."""
    from prefect.utilities.urls import url_for

    # Not its name: the run renames itself (search-STREAM, retrain-STREAM) once it starts.
    link = url_for(started) or f"flow run {started.id}"
    return f"decision {decision_id}: started {deployment}: {link}"
