"""Emitting the operator's events (:mod:`mimicry.events`) to Prefect, where the automations that
``deployments/deploy.sh`` registers turn them into notifications (docs/design.md §22).

An event that cannot be sent is logged and dropped: a notification is never a reason for a tick,
a search or a halt to fail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mimicry.events import OperatorEvent

log = logging.getLogger(__name__)


def this_flow_run() -> tuple[list[dict[str, str]], dict[str, str]]:
    """The flow run emitting (a related resource, and its page), when there is one."""
    from prefect.runtime import flow_run

    if not flow_run.id:
        return [], {}
    related = {
        "prefect.resource.id": f"prefect.flow-run.{flow_run.id}",
        "prefect.resource.role": "flow-run",
        "prefect.resource.name": str(flow_run.name),
    }
    url = flow_run.ui_url
    return [related], ({"flow_run_url": str(url)} if url else {})


def emit(events: Sequence[OperatorEvent], drain: bool = False) -> int:
    """Send ``events``; how many were sent. ``drain``: wait until they have left this process
    (a command about to exit)."""
    if not events:
        return 0
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    sent = 0
    try:
        related, link = this_flow_run()
        for event in events:
            emitted = emit_event(
                event=event.event,
                resource=event.resource(),
                related=related,
                payload={"sentence": event.sentence, **event.payload, **link},
            )
            sent += emitted is not None
        if drain:
            EventsWorker.drain_all(timeout=10)
    except Exception as error:  # fail closed: the work goes on, the reason is logged
        log.warning("events not sent (%s: %s)", type(error).__name__, error)
    return sent
