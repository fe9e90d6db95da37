"""``mimicry ingest``, ``mimicry status`` and ``mimicry db upgrade``: the store from the shell."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from mimicry.draws import DrawFileError
from mimicry.names import BadName
from mimicry.render import plain_text, scores_line
from mimicry.store.errors import StoreConflict, StoreFault, StoreUnreachable, StoreUnusable
from mimicry.store.location import shown_url, upgrade
from mimicry_cli.common import (
    EXIT_STORE_UNAVAILABLE,
    ColumnFlag,
    DrawsFile,
    JsonFlag,
    Layout,
    SessionFlag,
    app,
    command_settings,
    fail,
    print_table,
    terminal,
)
from mimicry_cli.request_flags import ModulusFlag

db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@contextmanager
def store_errors():
    """A store that cannot be reached is one sentence and exit 3, not a traceback."""
    try:
        yield
    except StoreUnusable as error:
        fail(str(error))
    except (StoreFault, StoreUnreachable) as error:
        print(f"mimicry: error: {plain_text(str(error))}", file=sys.stderr)
        raise typer.Exit(EXIT_STORE_UNAVAILABLE) from None


def bad_name(error: BadName, path: Path) -> str:
    """The sentence for a name or path the store cannot keep, led by what set it."""
    return f"--stream: {error}" if error.field == "stream" else f"{path}: {error}"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's tables to the newest schema."""
    with store_errors():
        revision = upgrade()
    print(plain_text(f"store {shown_url()} is at revision {revision}"))


@app.command()
def ingest(
    draws: DrawsFile,
    stream: Annotated[str, typer.Option(help="Stream to append the draws to.", metavar="NAME")],
    modulus: ModulusFlag = 1000,
    session: SessionFlag = None,
    column: ColumnFlag = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate DRAWS and append them to a stream, all or nothing (re-ingesting is a no-op)."""
    from mimicry.draws.ingest import ingest_file

    with store_errors():
        try:
            report = ingest_file(
                str(draws), stream, modulus=modulus, session=session, column=column
            )
        except (DrawFileError, StoreConflict) as error:
            fail(str(error))
        except BadName as error:
            fail(bad_name(error, draws))
    scored = []
    if report.added:
        from mimicry.loop.evaluation import evaluate_stream

        with store_errors():
            scored, _ = evaluate_stream(report.stream, command_settings().pool_size)
    if as_json:
        print(
            json.dumps(
                {
                    "stream": report.stream,
                    "added": report.added,
                    "total": report.total,
                    "evaluations": [s.model_dump() for s in scored],
                }
            )
        )
        return
    print(plain_text(f"stream {report.stream!r}: {report.added} new draws, {report.total} in all"))
    if scored:
        print(scores_line(scored))


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Streams, their draw counts, and the runs with their state (a run whose process died is
    shown, and marked, crashed)."""
    from mimicry.store.runs import recent_runs
    from mimicry.store.streams import stream_summaries

    with store_errors():
        streams = stream_summaries()
        runs = recent_runs(50, command_settings().heartbeat_seconds)
    run_rows = [
        {
            "run_id": run.id,
            "stream": run.stream,
            "state": run.state.value,
            "created_at": run.created_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "survivors": run.summary.get("survivor_count"),
            "significant": run.summary.get("significant"),
            "health": run.summary.get("health"),
            "flow_run_id": run.flow_run_id,
        }
        for run in runs
    ]
    stream_rows = [{"stream": s.name, "modulus": s.modulus, "draws": s.draws} for s in streams]
    if as_json:
        print(json.dumps({"store": shown_url(), "streams": stream_rows, "runs": run_rows}))
        return
    console = terminal()
    # The URL is typed back whole: one line, however narrow the terminal (it wraps it).
    console.print(Text(plain_text(f"store: {shown_url()}")), soft_wrap=True)
    print_table("streams", stream_rows, console, STREAM_LAYOUT, ["stream", "modulus", "draws"])
    print_table(
        "runs (newest first)",
        [
            {
                "run_id": row["run_id"],
                "stream": row["stream"],
                "state": row["state"],
                "created_at": row["created_at"][:19],
                "survivors": str(row["survivors"]),
                "significant": str(row["significant"]),
                "health": row["health"] or "-",
            }
            for row in run_rows
        ],
        console,
        RUN_LAYOUT,
        ["run_id", "stream", "state", "created_at", "survivors", "significant", "health"],
    )


#: ``mimicry status``'s tables: names and run ids whole; on a narrow terminal a run's figures
#: and its time go before its id, stream or state is touched.
STREAM_LAYOUT = Layout(right=("modulus", "draws"))
RUN_LAYOUT = Layout(drop=("health", "significant", "survivors", "created_at"), right=("survivors",))
