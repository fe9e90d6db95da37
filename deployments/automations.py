"""Register mimicry's Prefect automations (docs/design.md §22): each operator event
(:mod:`mimicry.events`), and every failed, crashed or cancelled run of mimicry's flows, calls the
webhook ``MIMICRY_ALERT_WEBHOOK_URL`` with one JSON object:

    {"event": NAME, "resource": ID, "name": NAME, "sentence": TEXT, "occurred": TIME,
     "payload": {...}}

The URL is kept in a Prefect ``Webhook`` block (``mimicry-alerts``, a secret there). Safe to
re-run: automations of the same name are replaced. ``deployments/deploy.sh`` runs it.

    PREFECT_API_URL=http://HOST:4200/api MIMICRY_ALERT_WEBHOOK_URL=https://… \\
        python -m deployments.automations
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from prefect.blocks.webhook import Webhook
from prefect.client.orchestration import get_client
from prefect.events.actions import CallWebhook
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

from mimicry import events
from mimicry.redaction import redact_url

BLOCK_NAME = "mimicry-alerts"
#: The flows whose failed, crashed or cancelled runs are told (by their Prefect flow names).
FLOWS = ("pipeline", "sieve", "watcher", "watcher-approval", "selfplay")
#: Every automation's name starts with it (how a re-run finds the ones to replace).
PREFIX = "mimicry: "

#: What a notification carries: the event's own sentence (mimicry's events), as JSON.
EVENT_BODY = (
    '{"event": {{ event.event | tojson }}, "resource": {{ event.resource.id | tojson }}, '
    '"name": {{ event.resource.name | tojson }}, '
    '"sentence": {{ event.payload.sentence | tojson }}, '
    '"occurred": {{ event.occurred | string | tojson }}, "payload": {{ event.payload | tojson }}}'
)
#: For Prefect's own flow-run events, the sentence is made from the run's state.
RUN_BODY = (
    '{"event": {{ event.event | tojson }}, "resource": {{ event.resource.id | tojson }}, '
    '"name": {{ event.resource.name | tojson }}, '
    '"sentence": {{ ("Flow run " ~ event.resource.name ~ " ended " '
    '~ event.payload.validated_state.name ~ ": " '
    '~ (event.payload.validated_state.message or "no message")) | tojson }}, '
    '"occurred": {{ event.occurred | string | tojson }}, '
    '"payload": {{ event.payload.validated_state | tojson }}}'
)

#: (automation name, what it tells, the events that trigger it)
EVENT_AUTOMATIONS = (
    (
        "decision awaiting approval",
        "A WATCHER decision waits for a person.",
        (events.AWAITING_APPROVAL,),
    ),
    ("escalation", "The WATCHER asks a person to look at a stream.", (events.ESCALATED,)),
    ("regime shift", "A stream's generator changed (a change point).", (events.REGIME_SHIFT,)),
    ("WATCHER halted", "The WATCHER was halted, or resumed.", (events.HALTED, events.RESUMED)),
    ("selfplay promotion", "Selfplay promoted a new champion.", (events.PROMOTED,)),
    ("critical training health", "A model was not promoted.", (events.CRITICAL_HEALTH,)),
)


def automations(block_id) -> list[AutomationCore]:
    """Every automation mimicry ships, calling the webhook block ``block_id``."""

    def reactive(expect: tuple[str, ...], **match) -> EventTrigger:
        return EventTrigger(
            expect=set(expect),
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
            **match,
        )

    shipped = [
        AutomationCore(
            name=f"{PREFIX}{name}",
            description=f"{description} Calls the {BLOCK_NAME} webhook.",
            trigger=reactive(expect),
            actions=[CallWebhook(block_document_id=block_id, payload=EVENT_BODY)],
        )
        for name, description, expect in EVENT_AUTOMATIONS
    ]
    shipped.append(
        AutomationCore(
            name=f"{PREFIX}run failed or cancelled",
            description=f"A run of mimicry's flows failed, crashed or was cancelled. Calls the "
            f"{BLOCK_NAME} webhook.",
            trigger=reactive(
                (
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Crashed",
                    "prefect.flow-run.Cancelled",
                ),
                match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": list(FLOWS),
                },
            ),
            actions=[CallWebhook(block_document_id=block_id, payload=RUN_BODY)],
        )
    )
    return shipped


async def register(webhook_url: str) -> list[str]:
    """Save the webhook block and replace mimicry's automations; their names."""
    block_id = await Webhook(url=webhook_url, allow_private_urls=True).save(
        BLOCK_NAME, overwrite=True
    )
    wanted = automations(block_id)
    async with get_client() as client:
        for existing in await client.read_automations():
            if existing.name.startswith(PREFIX):
                await client.delete_automation(existing.id)
        for automation in wanted:
            await client.create_automation(automation)
    return [automation.name for automation in wanted]


def main() -> int:
    url = os.environ.get("MIMICRY_ALERT_WEBHOOK_URL", "").strip()
    if not url:
        print(
            "automations: MIMICRY_ALERT_WEBHOOK_URL is not set; no notifications registered "
            "(the events are still emitted: the UI's Event Feed shows them)",
            file=sys.stderr,
        )
        return 0
    if not url.startswith(("http://", "https://")):
        print(
            "automations: error: MIMICRY_ALERT_WEBHOOK_URL must be an http:// or https:// URL, "
            f"got {redact_url(url)!r}",
            file=sys.stderr,
        )
        return 2
    names = asyncio.run(register(url))
    print(
        f"automations: {len(names)} registered, calling {redact_url(url)} "
        f"(block {BLOCK_NAME}): {', '.join(name.removeprefix(PREFIX) for name in names)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
