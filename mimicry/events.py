"""What an operator wants to hear about, as Prefect events (docs/design.md §22): a decision
waiting for a person, an escalation, a regime shift, a halt of the WATCHER, a selfplay
promotion, a model whose training health is critical. Prefect's own events cover failed,
crashed and cancelled runs. The automations in ``deployments/automations.py`` turn them into
notifications.

Pure: what happened in, events out; ``flows/events.py`` emits them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from mimicry.render import plain_text

#: Every event mimicry emits, by name (``prefect.resource.id`` of each is its stream's, or the
#: WATCHER's for a halt).
AWAITING_APPROVAL = "mimicry.decision.awaiting-approval"
ESCALATED = "mimicry.decision.escalated"
REGIME_SHIFT = "mimicry.stream.regime-shift"
HALTED = "mimicry.watcher.halted"
RESUMED = "mimicry.watcher.resumed"
PROMOTED = "mimicry.selfplay.promoted"
CRITICAL_HEALTH = "mimicry.model.critical-health"
EVENT_NAMES = (
    AWAITING_APPROVAL,
    ESCALATED,
    REGIME_SHIFT,
    HALTED,
    RESUMED,
    PROMOTED,
    CRITICAL_HEALTH,
)

#: The WATCHER itself, the resource of a halt.
WATCHER_RESOURCE = "mimicry.watcher"


class OperatorEvent(BaseModel):
    """One event: its name, the resource it is about, and what a notification says. Text from
    users and models (stream names, reasons) travels as plain text in the payload, never in
    the event's name."""

    model_config = ConfigDict(frozen=True)

    event: str
    resource_id: str
    resource_name: str
    #: One sentence a person reads in the notification.
    sentence: str
    payload: dict[str, Any] = {}

    def resource(self) -> dict[str, str]:
        return {
            "prefect.resource.id": self.resource_id,
            "prefect.resource.name": self.resource_name,
        }


def stream_resource(stream: str) -> tuple[str, str]:
    name = plain_text(stream)
    return f"mimicry.stream.{name}", name


def decision_events(view) -> list[OperatorEvent]:
    """The events of a decision just made (a :class:`mimicry.store.decisions.DecisionView`)."""
    resource_id, name = stream_resource(view.stream)
    facts = {
        "stream": name,
        "decision_id": view.id,
        "action": view.action,
        "rule": plain_text(view.rule),
        "status": str(view.status),
    }
    events = []
    shift = next((t for t in view.triggers if t.get("name") == "regime_shift"), None)
    if shift is not None:
        events.append(
            OperatorEvent(
                event=REGIME_SHIFT,
                resource_id=resource_id,
                resource_name=name,
                sentence=f"Stream {name!r}: regime shift at draw {shift.get('change_point')}; "
                f"the WATCHER decided {view.action} (decision {view.id}).",
                payload=facts | {"change_point": shift.get("change_point")},
            )
        )
    if view.action == "escalate":
        events.append(
            OperatorEvent(
                event=ESCALATED,
                resource_id=resource_id,
                resource_name=name,
                sentence=f"Stream {name!r}: the WATCHER asks a person to look "
                f"(decision {view.id}): {plain_text(view.rule)}.",
                payload=facts,
            )
        )
    elif str(view.status) == "pending_approval":
        events.append(
            OperatorEvent(
                event=AWAITING_APPROVAL,
                resource_id=resource_id,
                resource_name=name,
                sentence=f"Stream {name!r}: decision {view.id} ({view.action}) waits for a "
                f"person's approval: {plain_text(view.rule)}.",
                payload=facts,
            )
        )
    return events


def halt_events(halted: bool, reason: str | None, by: str) -> list[OperatorEvent]:
    """The WATCHER halted (or resumed) by ``by``, with the reason given."""
    why = plain_text(reason or "no reason given")
    return [
        OperatorEvent(
            event=HALTED if halted else RESUMED,
            resource_id=WATCHER_RESOURCE,
            resource_name="WATCHER",
            sentence=(
                f"The WATCHER was halted by {plain_text(by)}: {why}."
                if halted
                else f"The WATCHER was resumed by {plain_text(by)}."
            ),
            payload={"reason": why if halted else None, "by": plain_text(by)},
        )
    ]


def promotion_events(
    stream: str, promoted: dict, decision_id: int | None, reason: str
) -> list[OperatorEvent]:
    """A selfplay candidate promoted to champion (``promoted``: the new champion's record,
    its ``version`` and ``state``; ``decision_id``: the decision that runs its first search)."""
    resource_id, name = stream_resource(stream)
    state = promoted.get("state")
    waiting = "" if state == "active" else ", waiting for a person's approval"
    return [
        OperatorEvent(
            event=PROMOTED,
            resource_id=resource_id,
            resource_name=name,
            sentence=f"Stream {name!r}: selfplay promoted champion {promoted.get('version')}"
            f"{waiting} (decision {decision_id} runs its search): {plain_text(reason)}",
            payload={
                "stream": name,
                "version": promoted.get("version"),
                "state": state,
                "decision_id": decision_id,
                "reason": plain_text(reason),
            },
        )
    ]


def critical_health_events(stream: str, run_id: str, refusal: str) -> list[OperatorEvent]:
    """A run's model was not promoted because its training health is critical."""
    resource_id, name = stream_resource(stream)
    return [
        OperatorEvent(
            event=CRITICAL_HEALTH,
            resource_id=resource_id,
            resource_name=name,
            sentence=f"Stream {name!r}: run {run_id}'s model was not promoted: "
            f"{plain_text(refusal)}",
            payload={"stream": name, "run_id": run_id, "reason": plain_text(refusal)},
        )
    ]
