"""The WATCHER flow: one tick of the autonomous loop (docs/design.md §17).

    new draws ─▶ score (Chapter 13) ─▶ triggers ─▶ advisor ─▶ acceptance engine ─▶ approval
       ─▶ dispatch ─▶ audit record

Per stream: score the draws that arrived, review (triggers, advice, decision, record), and
dispatch what was approved. A dispatch starts ``pipeline/full`` (a search) or
``pipeline/retrain`` through ``run_deployment`` with the decision's idempotency key when the
Prefect server has those deployments (a worker runs them; the next tick records how they ended),
else runs the same flow in-process. Decisions a person approved since the last tick are
dispatched first. While the WATCHER is halted a tick records ``halted`` and does nothing else.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.approval import close_approval_form, paused_forms
from flows.events import emit
from flows.pipeline import pipeline
from flows.retrain import retrain
from flows.run_names import dispatched_line, tag_this_run, tick_run_name
from flows.runner import run_settings
from flows.steps import beating
from flows.stopping import CANCEL, Cancelled, Terminated, exit_with_owner
from mimicry.events import decision_events
from mimicry.render import plain_text
from mimicry.render.pictures import load_pyplot
from mimicry.render.selfplay import selfplay_line
from mimicry.requests import PipelineRequest, RetrainRequest
from mimicry.store.decisions import decision_views, decisions_with_status, halt
from mimicry.store.statuses import DecisionStatus
from mimicry.store.streams import stream_names
from tasks.watch import (
    arbiter_task,
    claim_task,
    expire_task,
    finished_task,
    halted_task,
    picture_task,
    resolve_task,
    review_task,
    score_task,
    started_task,
)
from watcher.lifecycle import beat_decision, finished, not_waiting
from watcher.policy import load_policy

# Every tick draws the stream-health picture. matplotlib's C extensions load with this module,
# before a run's SIGTERM handling is up: loaded inside a tick, a stop arriving during their first
# import broke it ("ImportError: initialization failed") and the tick ended in a traceback
# instead of ending as stopped (seen under load in tests/test_watcher_loop.py's serve test).
load_pyplot()

#: The deployment that runs each dispatched flow (``prefect.yaml``), and the approval form's.
DEPLOYMENTS = {"pipeline": "pipeline/full", "retrain": "pipeline/retrain"}
APPROVAL_FORM = "watcher-approval/ui"
#: The deployment that runs a scheduled selfplay episode.
EXPLORE = "selfplay/explore"


def served_deployments() -> set[str]:
    """Which of :data:`DEPLOYMENTS` the Prefect server has (none for a temporary server)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    served = set()
    with get_client(sync_client=True) as client:
        for name in [*DEPLOYMENTS.values(), APPROVAL_FORM]:
            try:
                client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            served.add(name)
    return served


def flow_run_ending(flow_run_id: str) -> str | None:
    """A dispatched flow run's final state in words (None while it is not final)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(uuid.UUID(flow_run_id)).state
        except ObjectNotFound:
            return "unknown: the Prefect server has no such flow run"
    if state is None or not state.is_final():
        return None
    return f"{state.name}: {state.message}" if state.message else state.name


def owner() -> str:
    """This process, as a decision's owner names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def decision_in_progress(decision_id: int, heartbeat_seconds: float) -> Iterator[None]:
    """The decision's heartbeat while this process dispatches it; a person's cancel (seen on a
    beat) stops its in-process run at the next boundary (:data:`flows.stopping.CANCEL`)."""

    def beat() -> None:
        if beat_decision(decision_id) == DecisionStatus.CANCELLED:
            CANCEL.set()

    try:
        with beating(f"decision {decision_id}", beat, heartbeat_seconds):
            yield
    finally:
        CANCEL.clear()


def dispatch(decision_id: int, served: set[str], heartbeat_seconds: float) -> None:
    """Start what an approved decision decided, once (the claim is atomic)."""
    work = claim_task(decision_id, owner())
    if work is None:
        return
    deployment = DEPLOYMENTS[work.flow]
    with decision_in_progress(decision_id, heartbeat_seconds):
        try:
            if deployment in served:
                from prefect.deployments import run_deployment

                started = run_deployment(
                    deployment,
                    parameters={"request": work.request},
                    idempotency_key=work.idempotency_key,
                    timeout=0,
                    as_subflow=False,
                )
                started_task(decision_id, str(started.id))
                get_run_logger().info(dispatched_line(decision_id, deployment, started))
                return
            if work.flow == "retrain":
                state = retrain(RetrainRequest.model_validate(work.request), return_state=True)
            else:
                state = pipeline(PipelineRequest.model_validate(work.request), return_state=True)
        except Cancelled:  # the decision says so already; its run was closed cancelled
            return
        except Terminated:
            finished(decision_id, None, "stopped by SIGTERM while its run was in progress")
            raise
        except Exception as error:  # a request the flow refused, a server that went away
            finished_task(decision_id, None, f"{type(error).__name__}: {error}")
            return
    result = state.result(raise_on_failure=False)
    error = None if state.is_completed() else (state.message or state.type.value)
    finished_task(decision_id, result if isinstance(result, dict) else None, error)


def explore(
    stream: str, policy, policy_file: str | None, view, served: set[str], now: datetime
) -> str | None:
    """A selfplay episode on a stream the review left idle, within the policy's budget
    (docs/design.md §21): on the ``selfplay/explore`` deployment when it is served, else
    here. What was started, in words, or None."""
    from mimicry.requests import SelfplayRequest
    from mimicry.selfplay.replay import HistoryTooShortForReplay, replay_plan
    from mimicry.store.decisions import newest_decisions
    from mimicry.store.selfplay import usage_since
    from mimicry.store.watch import stream_snapshot
    from watcher.selfplay import advised_proposals, budget_refusal, idle

    # Read again, not the review's: a run another process started since must keep it busy.
    snapshot = stream_snapshot(stream, now)
    if not idle(view.triggers, snapshot.in_progress, snapshot.open_run):
        return None
    if budget_refusal(usage_since(stream, now - timedelta(days=1)), policy.selfplay, True):
        return None
    rules = policy.selfplay
    try:  # a stream too short for the policy's origins waits for its draws, quietly
        replay_plan(
            snapshot.draws, rules.live_draws, rules.origins, rules.horizon, rules.min_training
        )
    except HistoryTooShortForReplay:
        return None
    advised = next((d.advice for d in newest_decisions(stream, 20) if d.advice), None)
    request = SelfplayRequest(
        stream=stream,
        episodes=1,
        policy_file=policy_file,
        proposals=advised_proposals(advised),
        decision_id=view.id,
    )
    if EXPLORE in served:
        from prefect.deployments import run_deployment

        run_deployment(
            EXPLORE,
            parameters={"request": request.model_dump(mode="json")},
            idempotency_key=f"selfplay-{view.id}",
            timeout=0,
            as_subflow=False,
        )
        return f"selfplay episode started on {EXPLORE}"
    from flows.selfplay import selfplay

    state = selfplay(request, return_state=True)
    result = state.result(raise_on_failure=False)
    if not isinstance(result, dict):
        return f"selfplay failed: {state.message}"
    return selfplay_line(result)


def ask_in_the_ui(decision_id: int) -> None:
    """A form in the Prefect UI for a decision that waits for a person (once per decision)."""
    from prefect.deployments import run_deployment

    run_deployment(
        APPROVAL_FORM,
        parameters={"decision_id": decision_id},
        idempotency_key=f"approval-{decision_id}",
        timeout=0,
        as_subflow=False,
    )


def close_answered_forms() -> list[int]:
    """End the approval forms still paused in the UI for decisions answered elsewhere since
    (the terminal without a server to tell, the approval timeout): their ids."""
    answered = not_waiting(paused_forms())
    return [decision_id for decision_id in answered if close_approval_form(decision_id)]


@flow(name="watcher", flow_run_name=tick_run_name, validate_parameters=True)
def watcher_tick(stream: str | None = None, policy_file: str | None = None) -> dict:
    """One tick: settle what ended, dispatch what a person approved, then per stream score the
    new draws, review, and dispatch or ask.

    Args:
        stream: Review this stream only (default: every stream in the store).
        policy_file: The WATCHER's policy TOML (default: watcher.toml in MIMICRY_HOME, else
            the defaults).
    """
    exit_with_owner()  # served by `mimicry watch --serve`: never outlive it
    logger = get_run_logger()
    tick_id = flow_run.id or str(uuid.uuid4())
    settings = run_settings()
    policy = load_policy(Path(policy_file) if policy_file else settings.home / "watcher.toml")
    now = datetime.now(UTC)
    names = [stream] if stream else stream_names()
    if stream:  # a tick of every stream is named "tick" and carries no stream's tag
        tag_this_run(stream)
    halted, reason = halt()
    if halted:
        views = [halted_task(name, tick_id, reason) for name in names]
        logger.info(
            f"halted ({plain_text(reason or '')}): nothing decided for {len(names)} streams"
        )
        return {"decisions": [v.public() for v in views]}
    expire_task(now)
    resolve_task(flow_run_ending, now, settings.heartbeat_seconds)
    served = served_deployments()
    if APPROVAL_FORM in served:
        close_answered_forms()
    for approved in decisions_with_status(DecisionStatus.APPROVED):  # by a person since
        dispatch(approved.view.id, served, settings.heartbeat_seconds)
    views = []
    for name in names:
        scored = score_task(name, now)
        demoted = arbiter_task(name, policy)
        if demoted:
            logger.warning(plain_text(f"{name}: {demoted}"))
        view = review_task(name, policy, tick_id, now, settings)
        logger.info(
            plain_text(f"{name}: {scored} new draws scored; {view.action} ({view.rule}): ")
            + view.status
        )
        if view.tick_id == tick_id:  # made by this tick, not found standing from an earlier one
            emit(decision_events(view))
        if view.status == DecisionStatus.APPROVED:
            dispatch(view.id, served, settings.heartbeat_seconds)
        elif view.status == DecisionStatus.PENDING_APPROVAL and APPROVAL_FORM in served:
            ask_in_the_ui(view.id)
        elif view.status == DecisionStatus.DONE and policy.selfplay.episodes_per_day:
            explored = explore(name, policy, policy_file, view, served, now)
            if explored:
                logger.info(plain_text(f"{name}: {explored}"))
        shift = next((t for t in view.triggers if t["name"] == "regime_shift"), None)
        change_point = shift["change_point"] if shift else None
        picture_task(name, policy.collapse_window, change_point, settings.home, policy.alpha)
        views.append(view)
    return {"decisions": [v.public() for v in decision_views([v.id for v in views])]}
