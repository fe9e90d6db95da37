"""The selfplay flow (docs/design.md §21): episodes on one stream's history, each

    budget ─▶ replay the champion ─▶ propose (the study) ─▶ replay the candidate
            ─▶ gate ─▶ acceptance ─▶ record ─▶ promote (a decision runs its search)

until the request's episodes are done, its budget or the policy's is spent, or one promotes.
A promotion the policy lets through without a person is dispatched at once (the new champion's
search, whose model then predicts live); one that needs a person waits for the decision's
approval like any other (``mimicry approve``, the UI's form).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger

from flows.events import emit
from flows.run_names import tag_this_run
from flows.runner import run_settings
from mimicry.events import promotion_events
from mimicry.render import plain_text
from mimicry.render.pictures import png_data_url
from mimicry.render.selfplay import selfplay_line, selfplay_markdown, selfplay_png
from mimicry.requests import SelfplayRequest
from mimicry.store.decisions import halt
from mimicry.store.location import database_url
from mimicry.store.selfplay import usage_since
from tasks.selfplay import replay_origin_task
from watcher.acceptance import Proposal
from watcher.explore import run_episode
from watcher.policy import load_policy
from watcher.selfplay import budget_refusal


def artifacts(answer: dict) -> None:
    from prefect.artifacts import create_image_artifact, create_markdown_artifact

    digest = hashlib.sha256(answer["stream"].encode()).hexdigest()[:12]
    create_markdown_artifact(
        markdown=selfplay_markdown(answer),
        key=f"selfplay-{digest}",
        description="Selfplay: each episode's candidate against the champion",
    )
    create_image_artifact(
        image_url=png_data_url(selfplay_png(answer)),
        key=f"selfplay-picture-{digest}",
        description="Selfplay: replay score per origin, and the gate's p-values",
    )


@flow(name="selfplay", flow_run_name="explore-{request.stream}", validate_parameters=True)
def selfplay(request: SelfplayRequest) -> dict:
    """Explore configurations on the stream's history; promote one only on evidence.

    Args:
        request: The stream, the episodes and the budget they may spend.
    """
    from flows.watcher import APPROVAL_FORM, ask_in_the_ui, dispatch, served_deployments

    tag_this_run(request.stream)
    logger = get_run_logger()
    settings = run_settings()
    policy = load_policy(
        Path(request.policy_file) if request.policy_file else settings.home / "watcher.toml"
    )
    scheduled = request.decision_id is not None
    proposals = [
        Proposal(parameter=str(p["parameter"]), value=float(p["value"])) for p in request.proposals
    ]
    episodes, stopped, promoted, spent = [], None, None, 0.0

    def replay(draws, origin, horizon, configuration):
        return replay_origin_task(
            request.stream, draws, origin, horizon, configuration, database_url()
        )

    for _ in range(request.episodes):
        halted, reason = halt()
        if halted and scheduled:
            stopped = f"the WATCHER is halted ({reason})"
            break
        now = datetime.now(UTC)
        refusal = budget_refusal(
            usage_since(request.stream, now - timedelta(days=1)), policy.selfplay, scheduled
        )
        if refusal:
            stopped = refusal
            break
        if request.budget_seconds is not None and spent >= request.budget_seconds:
            stopped = f"the request's budget of {request.budget_seconds:g} CPU-seconds is spent"
            break
        report = run_episode(
            request.stream,
            policy,
            database_url(),
            replay,
            proposals,
            request.decision_id,
            now,
        )
        spent += report.cpu_seconds
        episodes.append(report.model_dump(mode="json"))
        logger.info(plain_text(f"episode {report.id}: {report.verdict.value}: {report.reason}"))
        if report.promoted:
            promoted = report.promoted
            emit(promotion_events(request.stream, promoted, report.decision_id, report.reason))
            served = served_deployments()
            if report.promoted["state"] == "active":
                dispatch(report.decision_id, served, settings.heartbeat_seconds)
            elif APPROVAL_FORM in served:
                ask_in_the_ui(report.decision_id)
            break
    answer = {
        "stream": request.stream,
        "episodes": episodes,
        "promoted": promoted,
        "stopped": stopped,
    }
    logger.info(selfplay_line(answer))
    if episodes:
        artifacts(answer)
    return answer
