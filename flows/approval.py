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
from prefect.states import Cancelled, Completed, Failed, State
from pydantic import Field

from mimicry.render import approval_form_text
from mimicry.store.decisions import DecisionState, decision
from mimicry.store.statuses import DecisionStatus
from watcher.lifecycle import MAX_NOTE, DecisionRefused, answer


class ApprovalForm(RunInput):
    """What the UI asks: approve this decision, and why."""

    approve: bool = Field(False, description="Approve the decision (unticked: reject it).")
    note: str = Field("", max_length=MAX_NOTE, description="Why, for the decision's record.")
    #: Set by :func:`close_approval_form` when the decision was answered elsewhere; not a
    #: person's answer.
    answered_elsewhere: bool = Field(
        False, description="Leave unticked: set when the decision was answered elsewhere."
    )


def known_decision(decision_id: int) -> DecisionState:
    state = decision(decision_id)
    if state is None:
        raise LookupError(f"no decision {decision_id} in the store (mimicry decisions lists them)")
    return state


def describe(decision_id: int) -> tuple[str, int]:
    """The form's description (markdown) and the seconds left to answer."""
    state = known_decision(decision_id)
    left = (
        max(1, int((state.expires_at - datetime.now(UTC)).total_seconds()))
        if state.expires_at
        else 3600
    )
    return approval_form_text(state.view, left), left


#: Seconds between the paused run's looks at its state: an answer given elsewhere (the terminal,
#: the timeout, a cancel) resumes it, and it ends within this.
POLL_SECONDS = 2


def ended_as(decision_id: int, by_form: bool) -> State:
    """The approval run's final state for the decision as the store holds it now: named by what
    was decided (Approved, Rejected, Acknowledged, Cancelled), and where (this form, or
    elsewhere: the terminal, the approval timeout)."""
    view = known_decision(decision_id).view
    status, outcome, approval_record = view.status, view.outcome, view.approval
    where = "in this form" if by_form else "elsewhere"
    if (
        status == DecisionStatus.PENDING_APPROVAL
    ):  # "answered elsewhere" ticked by hand: nothing decided
        return Failed(
            name="Refused",
            message=f"decision {decision_id} still waits for a person; this form decided nothing "
            "(answer with mimicry approve / reject)",
        )
    if status == DecisionStatus.CANCELLED:
        return Cancelled(message=f"decision {decision_id}: {outcome}")
    name = {DecisionStatus.APPROVED: "Approved", DecisionStatus.DONE: "Acknowledged"}.get(
        status, "Rejected"
    )
    if status == DecisionStatus.REJECTED and approval_record.get("answer") != "rejected":
        where = "by no answer in time" if not by_form else where
    return Completed(name=name, message=f"decision {decision_id}: {outcome} ({where})")


@flow(name="watcher-approval", flow_run_name="decision-{decision_id}")
def approval(decision_id: int) -> State:
    """Wait for a person's answer to a decision in the UI. The run ends in a state named by
    what was decided; an answer the lifecycle refuses (the decision expired, or was answered in
    the terminal meanwhile) fails the run, saying why.

    Args:
        decision_id: The decision waiting for approval (`mimicry decisions` lists them).
    """
    logger = get_run_logger()
    description, seconds = describe(decision_id)
    logger.info(description)
    form = pause_flow_run(
        wait_for_input=ApprovalForm.with_initial_data(description=description),
        timeout=seconds,
        poll_interval=POLL_SECONDS,
        key=f"decision-{decision_id}",
    )
    if form.answered_elsewhere:
        final = ended_as(decision_id, by_form=False)
        logger.info(final.message)
        return final
    try:
        answer(decision_id, form.approve, "prefect-ui", form.note or None, datetime.now(UTC))
    except DecisionRefused as error:
        logger.error(f"answer refused: {error}")
        return Failed(name="Refused", message=f"answer refused: {error}")
    final = ended_as(decision_id, by_form=True)
    logger.info(final.message)
    return final


def _form_runs(**flow_run_filter) -> list:
    """The approval forms' flow runs that match ``flow_run_filter`` (a ``FlowRunFilter``'s
    fields)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["watcher-approval"])),
            flow_run_filter=FlowRunFilter(**flow_run_filter),
        )


def close_approval_form(decision_id: int) -> bool:
    """End the paused approval run of a decision answered elsewhere (``mimicry approve``,
    ``reject``, ``cancel``, the approval timeout): it is resumed with ``answered_elsewhere`` and
    ends in a state naming what was decided, so no stale form stays open in the UI and its
    process is freed at once. True when a paused form was found."""
    from prefect.client.schemas.filters import FlowRunFilterName
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_runs import NotPausedError, resume_flow_run

    closed = False
    for run in _form_runs(name=FlowRunFilterName(any_=[f"decision-{decision_id}"])):
        if run.state is None or not run.state.is_paused():
            continue
        try:
            resume_flow_run(run.id, run_input={"answered_elsewhere": True})
        except (NotPausedError, ObjectNotFound, RuntimeError):
            continue  # it ended or was answered meanwhile
        closed = True
    return closed


def paused_forms() -> list[int]:
    """Decisions whose approval form is paused in the UI now."""
    from prefect.client.schemas.filters import FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    paused = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    return [
        int(run.parameters["decision_id"])
        for run in _form_runs(state=paused)
        if isinstance(run.parameters.get("decision_id"), int)
    ]
