"""``mimicry watch``, ``decisions``, ``approve``, ``reject``: the autonomous loop from a terminal.

mimicry watch --once [--stream S] [--policy FILE] [--json]   # one tick now
mimicry watch --serve [--interval MINUTES]                   # ticks on a schedule
mimicry watch --halt "reason" | --resume                     # the one halt switch
mimicry decisions [--stream S] [--json]
mimicry approve ID [--note TEXT] / mimicry reject ID [--note TEXT]
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from mimicry.settings import get_settings
from mimicry.store.database import connect
from mimicry_cli.common import JsonFlag, app, fail, print_table, terminal
from mimicry_cli.predict import resolve_stream
from mimicry_cli.store import store_errors

PolicyFlag = Annotated[
    Path | None,
    typer.Option(help="Policy TOML (default: MIMICRY_HOME/watcher.toml, else the defaults)."),
]
NoteFlag = Annotated[str | None, typer.Option(help="Why, for the decision's record.")]


def checked_policy(path: Path | None) -> str | None:
    """The policy file the tick will read, refused now (one sentence, exit 2) if unusable."""
    from watcher.policy import PolicyError, load_policy

    if path is not None and not path.is_file():
        fail(f"--policy: {path} is not a file")
    try:
        load_policy(path or get_settings().home / "watcher.toml")
    except PolicyError as error:
        fail(str(error))
    return str(path.resolve()) if path else None


def decision_rows(views) -> list[dict[str, str]]:
    return [
        {
            "id": str(v.id),
            "stream": v.stream,
            "when": f"{v.created_at:%Y-%m-%d %H:%M:%S}",
            "triggers": ", ".join(t["name"] for t in v.triggers) or "-",
            "action": v.action,
            "status": v.status,
            "run": v.run_id or "-",
            "why": (v.outcome or v.rule)
            + (f' ("{v.approval["note"]}")' if v.approval.get("note") else ""),
        }
        for v in views
    ]


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
    stream: Annotated[str | None, typer.Option(help="Review this stream only.")] = None,
    policy: PolicyFlag = None,
    interval: Annotated[
        float, typer.Option(help="--serve: minutes between ticks.", min=0.1)
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
    with store_errors():
        if halt is not None or resume:
            return switch_halt(halt, as_json)
        policy_file = checked_policy(policy)
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
        print(f"mimicry: error: the WATCHER tick failed: {state.message}", file=sys.stderr)
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
    from watcher.review import DecisionView

    views = [DecisionView.model_validate(d) for d in result["decisions"]]
    print_table("WATCHER tick", decision_rows(views), terminal())


def switch_halt(reason: str | None, as_json: bool) -> None:
    from mimicry.store.decisions import set_halt

    with connect() as session:
        set_halt(session, reason is not None, reason)
    if as_json:
        print(json.dumps({"halted": reason is not None, "reason": reason}))
    else:
        print(f"WATCHER halted: {reason}" if reason is not None else "WATCHER resumed")


def serve_watcher(policy_file: str | None, interval: float) -> None:
    """Serve the WATCHER flow every ``interval`` minutes from this process (no work pool): one
    tick at a time (a tick due while one runs waits), until SIGTERM or Ctrl-C. Reports to
    PREFECT_API_URL's server, else to one this command starts and stops."""
    from datetime import timedelta

    from flows.watcher import watcher_tick
    from mimicry_cli.lifetime import prefect_api

    with prefect_api(services=True):  # the scheduler makes the schedule's runs
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
    stream: Annotated[str | None, typer.Option(help="This stream's decisions only.")] = None,
    limit: Annotated[int, typer.Option(help="Newest decisions to show.", min=1)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The WATCHER's decisions, newest first: triggers, advice, action, approval, run, outcome."""
    from mimicry.store.decisions import list_decisions
    from mimicry.store.streams import require_stream
    from watcher.review import decision_views

    with store_errors():
        name = resolve_stream(stream) if stream is not None else None
        with connect(read_only=True) as session:
            stream_id = require_stream(session, name).id if name else None
            ids = [d.id for d in list_decisions(session, stream_id, limit)]
            views = decision_views(session, ids)
    if as_json:
        print(json.dumps({"decisions": [v.model_dump(mode="json") for v in views]}))
        return
    print_table("WATCHER decisions, newest first", decision_rows(views), terminal())


def answer_decision(decision_id: int, approve: bool, note: str | None, as_json: bool) -> None:
    from watcher.lifecycle import DecisionRefused, answer

    with store_errors():
        try:
            status = answer(decision_id, approve, getpass.getuser(), note, datetime.now(UTC))
        except DecisionRefused as error:
            fail(str(error))
    if as_json:
        print(json.dumps({"id": decision_id, "status": status}))
    else:
        then = " (the next tick dispatches it)" if status == "approved" else ""
        print(f"decision {decision_id}: {status}{then}")


@app.command()
def approve(
    decision_id: Annotated[int, typer.Argument(help="The decision (mimicry decisions).")],
    note: NoteFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a decision that waits for a person; the next tick dispatches it."""
    answer_decision(decision_id, True, note, as_json)


@app.command()
def reject(
    decision_id: Annotated[int, typer.Argument(help="The decision (mimicry decisions).")],
    note: NoteFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Reject a decision that waits for a person: nothing runs."""
    answer_decision(decision_id, False, note, as_json)
