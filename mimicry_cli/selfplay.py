"""``mimicry selfplay`` and ``mimicry champion``: exploration on a stream's history, and the
configuration it promoted (docs/design.md §21).

mimicry selfplay --stream S [--episodes N] [--budget-seconds T] [--policy FILE] [--json]
mimicry champion --stream S [--history] [--revert [--note TEXT]] [--json]
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from mimicry.render import plain_text
from mimicry.render.selfplay import configuration_text, selfplay_line, selfplay_rows
from mimicry.requests import SelfplayRequest
from mimicry_cli.common import JsonFlag, Layout, app, fail, print_table, terminal
from mimicry_cli.predict import resolve_stream
from mimicry_cli.request_flags import field_help
from mimicry_cli.store import store_errors
from mimicry_cli.watch import NoteFlag, PolicyFlag, checked_policy

StreamFlag = Annotated[str, typer.Option(help="The stream.", metavar="NAME")]
SELFPLAY_LAYOUT = Layout(wrap=("configuration",), drop=("exploration",), right=("episode",))


@app.command()
def selfplay(
    stream: StreamFlag,
    episodes: Annotated[
        int,
        typer.Option(help=field_help(SelfplayRequest, "episodes"), min=1, max=1000, metavar="N"),
    ] = 1,
    budget_seconds: Annotated[
        float | None,
        typer.Option(
            help=field_help(SelfplayRequest, "budget_seconds"),
            min=1,
            max=10**9,
            metavar="T",
        ),
    ] = None,
    policy: PolicyFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Explore configurations on the stream's history; promote one only when it beats the
    champion on evidence that survives every candidate tried."""
    with store_errors():
        policy_file, checked = checked_policy(policy)
        name = resolve_stream(stream)
        from mimicry.selfplay.replay import HistoryTooShortForReplay, replay_plan
        from mimicry.store.streams import drawn

        rules = checked.selfplay  # the flow reads the file again where it runs (a worker)
        try:  # refused before any flow starts (the flow checks its own segment again)
            replay_plan(
                drawn(name), rules.live_draws, rules.origins, rules.horizon, rules.min_training
            )
        except HistoryTooShortForReplay as error:
            fail(f"--stream {plain_text(name)}: {error}")
        from flows.selfplay import selfplay as selfplay_flow
        from mimicry_cli.lifetime import exit_143_on_sigterm, prefect_api, run_stoppable

        request = SelfplayRequest(
            stream=name, episodes=episodes, budget_seconds=budget_seconds, policy_file=policy_file
        )
        with exit_143_on_sigterm(), prefect_api():
            state = run_stoppable(lambda: selfplay_flow(request, return_state=True))
        result = state.result(raise_on_failure=False)
    if not isinstance(result, dict):
        print(f"mimicry: error: selfplay failed: {plain_text(str(state.message))}", file=sys.stderr)
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(result))
        return
    print_table("selfplay", selfplay_rows(result), terminal(), SELFPLAY_LAYOUT)
    terminal().print(selfplay_line(result), markup=False, highlight=False)


@app.command()
def champion(
    stream: StreamFlag,
    history: Annotated[
        bool, typer.Option("--history", help="Every champion, newest first.")
    ] = False,
    revert: Annotated[
        bool,
        typer.Option("--revert", help="End the active champion; the one before it returns."),
    ] = False,
    note: NoteFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """The configuration the stream's searches and retrains run with (version 0: its last
    search's own), promoted by selfplay."""
    from mimicry.store import selfplay as store
    from mimicry.store.statuses import ChampionState
    from watcher.lifecycle import checked_note

    if note is not None and not revert:
        fail("--note goes with --revert")
    with store_errors():
        name = resolve_stream(stream)
        if revert:
            from watcher.lifecycle import BadNote

            try:
                reason = checked_note(note)
            except BadNote as error:
                fail(f"--note: {error}")
            ended = store.end_champion(
                name,
                ChampionState.REVERTED,
                f"reverted by {getpass.getuser()}" + (f": {reason}" if reason else ""),
            )
            if ended is None:
                fail(f"--revert: stream {plain_text(name)} has no active champion to revert")
        champions = store.champion_history(name)
    shown = champions if history else [c for c in champions if c.state == ChampionState.ACTIVE]
    if as_json:
        print(json.dumps({"stream": name, "champions": [c.public() for c in shown]}))
        return
    if not shown:
        terminal().print(
            f"{plain_text(name)}: no champion; its searches run as its last search did "
            "(version 0).",
            markup=False,
            highlight=False,
        )
        return
    rows = [
        {
            "version": str(c.version),
            "state": c.state.value,
            "since": f"{c.created_at:%Y-%m-%d %H:%M}",
            "configuration": configuration_text(c.candidate),
            "promised": f"{c.promised_hit_rate:.3g}",
            "ended": c.ended_reason or "",
        }
        for c in shown
    ]
    print_table(
        f"champions of {plain_text(name)}",
        rows,
        terminal(),
        Layout(wrap=("configuration", "ended"), drop=("ended",), right=("version",)),
    )
