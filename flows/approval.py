"""The approval form in the Prefect UI: one flow run per decision that waits for a person.

The WATCHER starts it (``run_deployment('watcher-approval/ui')``) for each decision that asks a
person, when a worker serves that deployment. The run pauses with a form (approve, and a note)
until the decision's time is up; the answer goes through the same lifecycle as ``mimicry
approve`` / ``mimicry reject`` (an answer to a decision that expired or was answered already is
refused, and the run says so). A pause that times out fails the run; the WATCHER's next tick
rejects the decision by its timeout. The next tick dispatches an approved decision.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput

from mimicry.store.database import connect
from mimicry.store.decisions import require_decision
from mimicry.store.models import as_utc
from watcher.lifecycle import DecisionRefused, answer


class ApprovalForm(RunInput):
    """What the UI asks: approve this decision, and why."""

    approve: bool = False
    note: str = ""


def describe(decision_id: int) -> tuple[str, int]:
    """The form's description (markdown) and the seconds left to answer."""
    with connect(read_only=True) as session:
        record = require_decision(session, decision_id)
        left = (
            max(1, int((as_utc(record.expires_at) - datetime.now(UTC)).total_seconds()))
            if record.expires_at
            else 3600
        )
        triggers = "\n".join(f"- {t['name']}: {t['reason']}" for t in record.triggers) or "- none"
        proposals = (
            "\n".join(
                f"- {v['parameter']} -> {v['value']:g}: {v['rule']}" for v in record.proposals
            )
            or "- none"
        )
        text = (
            f"**Decision {record.id}**: {record.action} ({record.rule})\n\n"
            f"Why a person: {record.approval['rule']}\n\nTriggers:\n{triggers}\n\n"
            f"Proposed changes:\n{proposals}\n\nAnswer within {left} s; no answer rejects it."
        )
    return text, left


@flow(name="watcher-approval", flow_run_name="decision-{decision_id}")
def approval(decision_id: int) -> str:
    """Wait for a person's answer to ``decision_id`` in the UI; the decision's new status."""
    logger = get_run_logger()
    description, seconds = describe(decision_id)
    logger.info(description)
    form = pause_flow_run(
        wait_for_input=ApprovalForm.with_initial_data(description=description),
        timeout=seconds,
        key=f"decision-{decision_id}",
    )
    try:
        status = answer(
            decision_id, form.approve, "prefect-ui", form.note or None, datetime.now(UTC)
        )
    except DecisionRefused as error:
        logger.warning(str(error))
        return "refused"
    logger.info(f"decision {decision_id}: {status}")
    return status
