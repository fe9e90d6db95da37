"""``mimicry watch``, ``decisions``, ``approve``, ``reject``, ``cancel``: the autonomous loop from
a terminal.

mimicry watch --once [--stream S] [--policy FILE] [--json]   # one tick now
mimicry watch --serve [--interval MINUTES]                   # ticks on a schedule
mimicry watch --halt "reason" | --resume                     # the one halt switch
mimicry decisions [--stream S] [--limit N] [--json]
mimicry approve ID [--note TEXT] / mimicry reject ID [--note TEXT]
mimicry cancel ID [--note TEXT]                               # stop a decision at any point
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mimicry.render import decision_rows, plain_text
from mimicry.requests import SelfplayRequest
from mimicry.store.statuses import DecisionStatus
from mimicry_cli.common import JsonFlag, Layout, app, command_settings, fail, print_table, terminal
from mimicry_cli.predict import resolve_stream
from mimicry_cli.request_flags import field_help
from mimicry_cli.store import store_errors

if TYPE_CHECKING:
    from watcher.policy import Policy

PolicyFlag = Annotated[
    Path | None,
    typer.Option(
        help=field_help(SelfplayRequest, "policy_file"),
        metavar="FILE",
    ),
]
NoteFlag = Annotated[
    str | None,
    typer.Option(help="Why, for the decision's record (at most 1,000 characters).", metavar="TEXT"),
]
#: A decision's id: the store's ids are 64-bit integers, so a larger number is refused here.
DecisionId = Annotated[
    int,
    typer.Argument(
        help="The decision (`mimicry decisions` lists them).", min=1, max=2**63 - 1, metavar="ID"
    ),
]
#: The longest --serve interval: a week.
MAX_INTERVAL_MINUTES = 7 * 24 * 60


def checked_policy(path: Path | None) -> tuple[str | None, Policy]:
    """The policy file the flow will read (None: the home's) and what it says, refused now (one
    sentence, exit 2) if unusable."""
    from watcher.policy import PolicyError, load_policy

    if path is not None and not path.is_file():
        fail(f"--policy: {path} is not a file")
    try:
        policy = load_policy(path or command_settings().home / "watcher.toml")
    except PolicyError as error:
        fail(str(error))
    return (str(path.resolve()) if path else None), policy


#: The decision table: an id, a stream, an action, a status and a run are typed back whole;
#: the reasons wrap, and the triggers and the time go first on a narrow terminal.
DECISION_LAYOUT = Layout(wrap=("triggers", "why"), drop=("triggers", "when"), right=("id",))


@app.command()
def watch(
    once: Annotated[bool, typer.Option("--once", help="Run one tick now.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the WATCHER flow on its schedule.")
    ] = False,
    halt: Annotated[
        str | None, typer.Option(help="Halt the WATCHER, with the reason.", metavar="REASON")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Lift the halt.")] = False,
    stream: Annotated[
        str | None, typer.Option(help="--once: review this stream only.", metavar="NAME")
    ] = None,
    policy: PolicyFlag = None,
    interval: Annotated[
        float,
        typer.Option(
            help="--serve: minutes between ticks (0.1 to 10080).",
            min=0.1,
            max=MAX_INTERVAL_MINUTES,
            metavar="MINUTES",
        ),
    ] = 10.0,
    as_json: JsonFlag = False,
) -> None:
    """The WATCHER: score new draws, detect when the generator changed, ask the advisor,
    decide within the policy, get approval, and retrain or search again."""
    chosen = [name for name, on in (("--once", once), ("--serve", serve)) if on]
    chosen += ["--halt"] if halt is not None else []
    chosen += ["--resume"] if resume else []
    if len(chosen) != 1:
        fail("name one of --once, --serve, --halt REASON or --resume")
    if stream is not None and not once:  # never silently ignored
        fail(f"--stream applies to --once only; {chosen[0]} acts on every stream")
    with store_errors():
        if halt is not None or resume:
            return switch_halt(halt, as_json)
        policy_file, _ = checked_policy(policy)
        name = resolve_stream(stream) if stream is not None else None
        if serve:
            return serve_watcher(policy_file, interval)
        from flows.watcher import watcher_tick
        from mimicry_cli.lifetime import exit_143_on_sigterm, prefect_api, run_stoppable

        with exit_143_on_sigterm(), prefect_api():
            state = run_stoppable(
                lambda: watcher_tick(stream=name, policy_file=policy_file, return_state=True)
            )
        result = state.result(raise_on_failure=False)
    if not isinstance(result, dict):
        print(
            f"mimicry: error: the WATCHER tick failed: {plain_text(str(state.message))}",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    decisions = [
        {
            key: d[key]
            for key in ("id", "stream", "triggers", "advice", "action", "status", "run_id")
        }
        for d in result["decisions"]
    ]
    if as_json:
        print(json.dumps({"decisions": decisions}))
        return
    from mimicry.store.decisions import DecisionView

    views = [DecisionView.model_validate(d) for d in result["decisions"]]
    print_table("WATCHER tick", decision_rows(views), terminal(), DECISION_LAYOUT)


def switch_halt(reason: str | None, as_json: bool) -> None:
    from mimicry.store.decisions import switch_halt as store_halt

    store_halt(reason is not None, reason)
    if os.environ.get("PREFECT_API_URL"):  # a server to tell (none: no one to notify)
        from flows.events import emit
        from mimicry.events import halt_events

        emit(halt_events(reason is not None, reason, f"{getpass.getuser()} (mimicry watch)"), True)
    if as_json:
        print(json.dumps({"halted": reason is not None, "reason": reason}))
    else:
        # The reason is a person's text: its escape sequences are shown, not obeyed.
        print(f"WATCHER halted: {plain_text(reason)}" if reason is not None else "WATCHER resumed")


def serve_watcher(policy_file: str | None, interval: float) -> None:
    """Serve the WATCHER flow every ``interval`` minutes from this process (no work pool): one
    tick at a time (a tick due while one runs waits), until SIGTERM or Ctrl-C. Reports to
    PREFECT_API_URL's server, else to one this command starts and stops."""
    from datetime import timedelta

    from flows.stopping import OWNER_VARIABLE
    from flows.watcher import watcher_tick
    from mimicry_cli.lifetime import prefect_api

    # Prefect runs each tick in a process of its own, which inherits this: a tick whose command
    # is gone (even by SIGKILL) exits at once (flows.stopping.exit_with_owner).
    os.environ[OWNER_VARIABLE] = str(os.getpid())

    # The scheduler makes the schedule's runs.
    with prefect_api(services_home=command_settings().home):
        watcher_tick.serve(
            name="scheduled",
            interval=timedelta(minutes=interval),
            parameters={"policy_file": policy_file},
            limit=1,
            pause_on_shutdown=False,
            print_starting_message=False,
        )


@app.command()
def decisions(
    stream: Annotated[
        str | None, typer.Option(help="This stream's decisions only.", metavar="NAME")
    ] = None,
    limit: Annotated[int, typer.Option(help="Newest decisions to show.", min=1, metavar="N")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The WATCHER's decisions, newest first: triggers, advice, action, approval, run, outcome."""
    from mimicry.store.decisions import newest_decisions

    with store_errors():
        name = resolve_stream(stream) if stream is not None else None
        views = newest_decisions(name, limit)
    if as_json:
        print(json.dumps({"decisions": [v.public() for v in views]}))
        return
    print_table(
        "WATCHER decisions, newest first", decision_rows(views), terminal(), DECISION_LAYOUT
    )


def close_form_in_the_ui(decision_id: int) -> None:
    """End the decision's paused approval run in the Prefect UI (when this command reports to a
    server: ``PREFECT_API_URL``), so the UI says what was decided at once. A server that cannot
    be reached is left to the next tick, which closes every answered form it finds."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return
    from flows.approval import close_approval_form

    try:
        close_approval_form(decision_id)
    except Exception as error:  # the answer stands; only the form waits for the next tick
        print(
            f"mimicry: note: the approval form in the Prefect UI stays open until the next "
            f"tick ({type(error).__name__})",
            file=sys.stderr,
        )


def answer_decision(decision_id: int, approve: bool, note: str | None, as_json: bool) -> None:
    from watcher.lifecycle import BadNote, DecisionRefused, answer

    with store_errors():
        try:
            status = answer(decision_id, approve, getpass.getuser(), note, datetime.now(UTC))
        except BadNote as error:
            fail(f"--note: {error}")
        except DecisionRefused as error:
            fail(str(error))
    close_form_in_the_ui(decision_id)
    if as_json:
        print(json.dumps({"id": decision_id, "status": status}))
    else:
        then = " (the next tick dispatches it)" if status == DecisionStatus.APPROVED else ""
        print(f"decision {decision_id}: {status}{then}")


@app.command()
def approve(
    decision_id: DecisionId,
    note: NoteFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a decision that waits for a person; the next tick dispatches it."""
    answer_decision(decision_id, True, note, as_json)


@app.command()
def reject(
    decision_id: DecisionId,
    note: NoteFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject a decision that waits for a person: nothing runs."""
    answer_decision(decision_id, False, note, as_json)


@app.command()
def cancel(
    decision_id: DecisionId,
    note: NoteFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancel a decision that has not ended: one waiting for a person or approved runs nothing;
    a running one's run is stopped (in-process: at its next step or chunk boundary, closed
    cancelled; on a worker: its flow run is cancelled in Prefect)."""
    from watcher.lifecycle import BadNote, DecisionRefused
    from watcher.lifecycle import cancel as cancel_decision

    with store_errors():
        try:
            cancelled = cancel_decision(decision_id, getpass.getuser(), note, datetime.now(UTC))
        except BadNote as error:
            fail(f"--note: {error}")
        except DecisionRefused as error:
            fail(str(error))
    stopped = None
    if cancelled.flow_run_id is not None:
        stopped = cancel_flow_run_in_prefect(cancelled.flow_run_id)
    elif cancelled.status_before == DecisionStatus.PENDING_APPROVAL:
        close_form_in_the_ui(decision_id)
    if as_json:
        print(
            json.dumps(
                {
                    "id": decision_id,
                    "status": DecisionStatus.CANCELLED,
                    "was": cancelled.status_before,
                    "flow_run_id": cancelled.flow_run_id,
                    "flow_run_cancelled": stopped,
                }
            )
        )
        return
    then = {
        DecisionStatus.RUNNING: (
            " (its run stops at its next step or chunk boundary)"
            if cancelled.flow_run_id is None
            else f" (its flow run {cancelled.flow_run_id}: "
            + ("cancelling in Prefect)" if stopped else "could not be cancelled in Prefect)")
        ),
    }.get(cancelled.status_before, " (nothing runs)")
    print(f"decision {decision_id}: cancelled{then}")


def cancel_flow_run_in_prefect(flow_run_id: str) -> bool:
    """Ask the Prefect server (``PREFECT_API_URL``) to cancel a deployment's flow run: the
    worker stops it, and its run in the store is closed cancelled. False when there is no
    server to ask or it refused."""
    import uuid

    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return False
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    try:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(
                uuid.UUID(flow_run_id), Cancelling(message="its decision was cancelled")
            )
    except Exception:
        return False
    return True
