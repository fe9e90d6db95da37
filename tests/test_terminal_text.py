"""What the CLI prints of people's and models' text, and what its tables keep (issue 21, items 6
and 12), through the real command on one real SQLite store.

* A stream name, a note and a halt reason are shown as written: Rich markup in them is not
  applied (``x [/bold]`` made ``status``, ``decisions`` and ``watch --once`` exit 1), a link
  in them is not a terminal hyperlink, and their control characters are shown escaped.
* At 80 and 160 columns every table keeps whole what a person types back (ids, streams,
  actions, statuses, run ids, family and projection names, seeds, next draws), and no line is
  wider than the terminal.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt
from rich.cells import cell_len

from mimicry.render import SURVIVOR_COLUMNS, plain_markdown
from mimicry.settings import get_settings
from tests.history import seeded_history, write_draws
from tests.test_cli import MIMICRY

#: A legal stream name that is Rich markup (a closing tag with nothing open).
NAME = "x [/bold]"
#: A second stream, long enough that a table of it and a run id needs its room.
LONG = "evening-pick3-draws-of-the-state-lottery-01"
#: Markup, a hyperlink, a colour, a window title and a markdown image: what a note or a halt
#: reason must not do.
HOSTILE = (
    "[/bold][link=http://evil.example]click[/link]\x1b[31m\x1b]0;TITLE\x07"
    "![x](http://evil.example/x.png)"
)
#: How the CLI shows it: as written, each control character as its escape.
SHOWN = (
    "[/bold][link=http://evil.example]click[/link]\\x1b[31m\\x1b]0;TITLE\\x07"
    "![x](http://evil.example/x.png)"
)
#: A terminal hyperlink (OSC 8) and any escape sequence begin with ESC.
ESC = "\x1b"


@dataclass
class Store:
    home: str
    pending: int  # rejected by the CLI, with HOSTILE as its note
    done: int  # dispatched: its run is run_ids[0]
    run_ids: list[str]
    reject: subprocess.CompletedProcess[str]
    halt: subprocess.CompletedProcess[str]
    once: subprocess.CompletedProcess[str]


def cli(home: str, *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """The command on the module's store, stdout a pipe (not a tty), at ``columns`` if given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MIMICRY_", "PREFECT_API_URL")) and key != "COLUMNS"
    }
    env.update(MIMICRY_HOME=home, MIMICRY_LLM_BACKEND="heuristic")
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [*MIMICRY, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """Two streams with draws and a completed run each; a decision waiting for a person (then
    rejected with a hostile note through the CLI), one done with its run; the WATCHER halted
    for a hostile reason and ticked once on ``NAME``, which records the halt."""
    from mimicry.store.database import connect
    from mimicry.store.decisions import finish_decision
    from mimicry.store.models import DecisionRecord
    from mimicry.store.runs import create_run, finish_run
    from mimicry.store.streams import append_draws, require_stream
    from watcher.policy import Policy
    from watcher.tick import review_stream

    home = str(tmp_path_factory.mktemp("terminal") / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MIMICRY_DATABASE_URL", raising=False)
        patch.setenv("MIMICRY_HOME", home)
        patch.setenv("MIMICRY_LLM_BACKEND", "heuristic")
        get_settings.cache_clear()
        now = datetime.now(UTC)
        with connect() as session:
            for stream in (NAME, LONG):
                draws = [secrets.randbelow(1000) for _ in range(50)]
                append_draws(session, stream, draws, 1000, "os")
        # Never searched, 50 draws: a search; a person approves it, or the policy does.
        pending = review_stream(NAME, Policy(new_data_draws=40), "t1", now, get_settings())
        approved = review_stream(
            LONG, Policy(new_data_draws=40, research_approval="auto"), "t2", now, get_settings()
        )
        assert (pending.status, approved.status) == ("pending_approval", "approved")
        run_ids = []
        with connect() as session:
            for stream in (LONG, NAME):
                run = create_run(session, require_stream(session, stream).id, {}, 50)
                finish_run(
                    session, run.id, "completed", {"survivor_count": 3, "significant": False}
                )
                run_ids.append(run.id)
            record = session.get(DecisionRecord, approved.id)
            record.run_id = run_ids[0]
            finish_decision(session, record, "done", f"run {run_ids[0]} completed")
        reject = cli(home, "reject", str(pending.id), "--note", HOSTILE)
        halt = cli(home, "watch", "--halt", HOSTILE)
        once = cli(home, "watch", "--once", "--stream", NAME)
        yield Store(home, pending.id, approved.id, run_ids, reject, halt, once)
    get_settings.cache_clear()


def cells(line: str, rule: str) -> list[str]:
    return [cell.strip() for cell in line.split(rule)[1:-1]]


def printed_rows(text: str, keys: set[str]) -> list[dict[str, str]]:
    """Every row the output shows, as {column: value}, from its tables and from lists (one
    ``key: value`` line per field, or ``key:`` and the value on the next line) alike. Lines of a
    wrapped value are joined with spaces: compare only values that are never wrapped."""
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    header_lines: list[list[str]] = []
    record: dict[str, str] | None = None
    field = None
    for line in text.splitlines():
        if line.startswith("┃"):
            header_lines.append(cells(line, "┃"))
        elif line.startswith("┡"):
            header = [
                " ".join(part for part in parts if part)
                for parts in zip(*header_lines, strict=True)
            ]
            header_lines = []
        elif line.startswith("│") and header:
            values = cells(line, "│")
            if values[0]:  # a new row: every table's first column is whole, never blank
                rows.append(dict(zip(header, values, strict=True)))
            else:  # a wrapped cell goes on
                for name, value in zip(header, values, strict=True):
                    rows[-1][name] = f"{rows[-1][name]} {value}".strip()
        elif line.startswith("└"):
            header = None
        elif not line.strip():
            record = field = None
        elif (match := re.fullmatch(r"([\w -]+):(?: (.*))?", line)) and match[1] in keys:
            if record is None or match[1] in record:
                record = {}
                rows.append(record)
            field = match[1]
            record[field] = match[2] or ""
        elif record is not None and field is not None:
            record[field] = f"{record[field]} {line.strip()}".strip()
    return rows


def shows(rows: list[dict[str, str]], expected: dict[str, str]) -> bool:
    """Whether a row shows each of ``expected``'s values whole, in its column."""
    return any(all(row.get(name) == value for name, value in expected.items()) for row in rows)


def fits(text: str, width: int) -> bool:
    """Every line within ``width``, but for a label and one word (the store's path or URL, which
    a person copies, is printed whole however long)."""
    return all(cell_len(line) <= width or len(line.split()) <= 2 for line in text.splitlines())


# -- item 6: people's and models' text is shown, never applied ----------------------------------


def test_markup_in_a_stream_name_is_shown_and_breaks_no_command(store):
    assert store.once.returncode == 0, store.once.stderr
    assert shows(printed_rows(store.once.stdout, set()), {"stream": NAME, "status": "halted"})
    status = cli(store.home, "status")
    assert status.returncode == 0, status.stderr
    streams = printed_rows(status.stdout, set())
    assert shows(streams, {"stream": NAME, "draws": "50"})
    assert shows(streams, {"run_id": store.run_ids[1], "stream": NAME, "state": "completed"})
    listed = cli(store.home, "decisions", "--stream", NAME)
    assert listed.returncode == 0, listed.stderr
    assert shows(printed_rows(listed.stdout, set()), {"id": str(store.pending), "stream": NAME})


def test_a_note_and_a_halt_reason_are_shown_as_written_and_never_reach_the_terminal(store):
    assert store.reject.returncode == 0, store.reject.stderr
    assert store.halt.returncode == 0, store.halt.stderr
    assert store.halt.stdout == f"WATCHER halted: {SHOWN}\n"
    # Wide enough that no reason wraps: each is on one line, as written.
    listed = cli(store.home, "decisions", columns=400)
    assert listed.returncode == 0, listed.stderr
    assert ESC not in listed.stdout and "\x07" not in listed.stdout
    assert f'("{SHOWN}")' in listed.stdout  # the note
    assert f"the WATCHER is halted: {SHOWN}" in listed.stdout  # the halt reason
    for width in (80, 160):
        narrow = cli(store.home, "decisions", columns=width)
        assert narrow.returncode == 0 and ESC not in narrow.stdout, narrow.stderr


def test_a_refusal_that_quotes_what_was_typed_shows_its_control_characters(store):
    refused = cli(store.home, "watch", "--once", "--policy", "/nonexistent\x1b[31m\x1b]0;TITLE\x07")
    assert refused.returncode == 2
    assert ESC not in refused.stderr and "\x07" not in refused.stderr
    assert "/nonexistent\\x1b[31m\\x1b]0;TITLE\\x07" in refused.stderr


def test_the_approval_form_shows_the_halt_reason_as_text_not_a_link(store):
    """The UI renders the form's description as markdown: a reason with a link, an image or
    HTML in it is text there."""
    from flows.approval import describe
    from mimicry.store.database import connect
    from mimicry.store.decisions import list_decisions

    with connect(read_only=True) as session:
        halted = next(d for d in list_decisions(session, None, 50) if d.status == "halted")
    description, _ = describe(halted.id)
    assert plain_markdown(f"halted: {HOSTILE}") in description
    html = MarkdownIt("commonmark").render(description)
    assert "<a " not in html and "<img" not in html and ESC not in html
    assert "evil.example" in html


# -- item 12: what a person types back is never cut ---------------------------------------------


@pytest.mark.parametrize("width", [80, 160])
def test_status_and_decisions_keep_ids_and_names_whole(store, width):
    status = cli(store.home, "status", columns=width)
    assert status.returncode == 0, status.stderr
    assert fits(status.stdout, width), status.stdout
    keys = {"stream", "modulus", "draws", "run_id", "state", "created_at", "survivors"}
    rows = printed_rows(status.stdout, keys | {"significant", "health"})
    for stream in (NAME, LONG):
        assert shows(rows, {"stream": stream, "modulus": "1000", "draws": "50"}), status.stdout
    for run_id, stream in zip(store.run_ids, (LONG, NAME), strict=True):
        assert shows(rows, {"run_id": run_id, "stream": stream, "state": "completed"})

    listed = cli(store.home, "decisions", columns=width)
    assert listed.returncode == 0, listed.stderr
    assert fits(listed.stdout, width), listed.stdout
    keys = {"id", "stream", "when", "triggers", "action", "status", "run", "why"}
    rows = printed_rows(listed.stdout, keys)
    expected = [
        {"id": str(store.pending), "stream": NAME, "action": "research", "status": "rejected"},
        {
            "id": str(store.done),
            "stream": LONG,
            "action": "research",
            "status": "done",
            "run": store.run_ids[0],
        },
        {"stream": NAME, "action": "wait", "status": "halted", "run": "-"},
    ]
    for row in expected:
        assert shows(rows, row), (row, listed.stdout)


@pytest.mark.parametrize("width", [80, 160])
def test_families_keeps_every_family_and_projection_name_whole(store, width):
    from gpu_kernels.projections import PROJECTIONS
    from gpu_kernels.registry import FAMILIES

    listed = cli(store.home, "families", columns=width)
    assert listed.returncode == 0, listed.stderr
    assert fits(listed.stdout, width), listed.stdout
    names = {row.get("name") for row in printed_rows(listed.stdout, {"name"})}
    assert names >= set(FAMILIES) | set(PROJECTIONS), listed.stdout


@pytest.mark.parametrize("width", [80, 160])
def test_the_survivor_table_keeps_family_seed_and_next_whole(store, tmp_path, width):
    seed = 20_240_611
    write_draws(tmp_path / "draws.txt", seeded_history("mt19937", seed, 24, offset=2))
    # Twenty next draws: at 80 columns the row is a list, its draws on a line of their own.
    future = " ".join(map(str, seeded_history("mt19937", seed, 20, offset=26)))
    proc = cli(
        store.home,
        "sieve",
        str(tmp_path / "draws.txt"),
        "--family",
        "mt19937",
        "--seeds",
        f"{seed - 50}..{seed + 50}",
        "--offsets",
        "2",
        "--predict",
        "20",
        "--backend",
        "reference",
        columns=width,
    )
    assert proc.returncode == 0, proc.stderr
    assert fits(proc.stdout, width), proc.stdout
    rows = printed_rows(proc.stdout, set(SURVIVOR_COLUMNS))
    best = {"family": "mt19937", "seed or state": str(seed), "offset": "2", "next": future}
    assert shows(rows, best), proc.stdout
