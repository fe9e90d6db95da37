"""The README's examples, run as a newcomer types them, print what the README shows.

Every ```console block of README.md is an example: a line ``$ COMMAND`` (continued by a trailing
``\\``) is typed into bash, and the lines after it, up to the next ``$`` line, are what it prints
(stdout and stderr together). In the shown output ``…`` stands for any text within a line
(timings, rates, paths, ids) and a line holding only ``…`` for any number of lines. Each ``##``
section of the README is one session: its blocks run in order in one fresh folder with a fresh
``MIMICRY_HOME`` and none of this process's ``MIMICRY_*`` settings, on a terminal of
:data:`COLUMNS` columns with the virtualenv's commands first on ``PATH``; a later block may read
the files and the store an earlier one made.

A block that runs ``mimicry run`` (minutes of Optuna and four model types), and every block of its
section after it, is ``slow``; a block whose commands need a program this machine lacks (``php``,
``node``) is skipped, saying which.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
#: The terminal width the README's examples were made at: its code blocks fit 100 columns.
COLUMNS = 100
#: Commands that make a block (and the rest of its section) slow.
SLOW_COMMANDS = ("mimicry run ",)
#: Programs a block may need that the test command does not install; missing ones skip it.
OPTIONAL_PROGRAMS = ("php", "node")
WILDCARD = "…"


@dataclass(frozen=True)
class Command:
    text: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    section: str
    index: int  # within the section
    line: int  # of the README, where the block opens
    commands: tuple[Command, ...]

    @property
    def name(self) -> str:
        words = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"{words}-{self.index + 1}"

    def runs(self, prefixes: tuple[str, ...]) -> bool:
        return any(command.text.startswith(prefixes) for command in self.commands)


def console_blocks(text: str) -> list[Block]:
    """The README's ```console blocks, in order, each with its section and commands."""
    blocks: list[Block] = []
    section = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        if line.strip() != "```console":
            i += 1
            continue
        opened = i + 1
        body: list[str] = []
        i += 1
        while lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        index = sum(block.section == section for block in blocks)
        blocks.append(Block(section, index, opened, tuple(commands_of(body))))
        i += 1
    return blocks


def commands_of(body: list[str]) -> list[Command]:
    commands: list[Command] = []
    text: str | None = None
    expected: list[str] = []
    lines = iter(body)
    for line in lines:
        if line.startswith("$ "):
            if text is not None:
                commands.append(Command(text, tuple(expected)))
            text, expected = line[2:], []
            while text.endswith("\\"):
                text += "\n" + next(lines)
        else:
            assert text is not None, f"output before any command: {line!r}"
            expected.append(line)
    if text is not None:
        commands.append(Command(text, tuple(expected)))
    return commands


@cache
def blocks() -> tuple[Block, ...]:
    return tuple(console_blocks(README.read_text(encoding="utf-8")))


def is_slow(block: Block) -> bool:
    """A block that runs ``mimicry run``, or follows one in its section."""
    return any(
        earlier.section == block.section and earlier.index <= block.index
        for earlier in blocks()
        if earlier.runs(SLOW_COMMANDS)
    )


def line_pattern(expected: str) -> re.Pattern[str]:
    parts = expected.rstrip().split(WILDCARD)
    return re.compile(".*?".join(re.escape(part) for part in parts))


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` as ``expected`` shows it: each line alike but for ``…`` within a line, a line of
    ``…`` alone standing for any number of lines (trailing blanks are ignored)."""
    patterns = [None if line.strip() == WILDCARD else line_pattern(line) for line in expected]
    memo: dict[tuple[int, int], bool] = {}

    def match(e: int, a: int) -> bool:
        if (e, a) not in memo:
            if e == len(patterns):
                memo[e, a] = a == len(actual)
            elif patterns[e] is None:
                memo[e, a] = match(e + 1, a) or (a < len(actual) and match(e, a + 1))
            else:
                memo[e, a] = (
                    a < len(actual)
                    and patterns[e].fullmatch(actual[a].rstrip()) is not None
                    and match(e + 1, a + 1)
                )
        return memo[e, a]

    return match(0, 0)


def trimmed(lines) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def environment(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
    env |= {
        "MIMICRY_HOME": str(folder / "home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "COLUMNS": str(COLUMNS),
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    return env


def run_block(block: Block, folder: Path, timeout: float) -> list[list[str]]:
    """Each command's output, from one bash session in ``folder`` (so ``$?`` is the status of
    the command before, as in a terminal)."""
    marker = f"@@readme-{uuid.uuid4().hex}@@"
    script = ["__status=0"]
    for command in block.commands:
        script += [
            f"(exit $__status); {command.text}",
            "__status=$?",
            f"printf '\\n%s\\n' '{marker}'",
        ]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=folder,
        env=environment(folder),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    outputs = proc.stdout.split(f"\n{marker}\n")
    assert len(outputs) == len(block.commands) + 1, proc.stdout
    return [trimmed(output.split("\n")) for output in outputs[:-1]]


def check(block: Block, folder: Path, timeout: float) -> None:
    for program in OPTIONAL_PROGRAMS:
        needed = any(re.match(rf"{program}\b", command.text) for command in block.commands)
        if needed and shutil.which(program) is None:
            pytest.skip(f"README.md line {block.line}: `{program}` is not installed here")
    outputs = run_block(block, folder, timeout)
    for command, actual in zip(block.commands, outputs, strict=True):
        expected = trimmed(command.expected)
        if not matches(expected, actual):
            diff = "\n".join(
                difflib.unified_diff(expected, actual, "README", "printed", lineterm="")
            )
            pytest.fail(f"README.md line {block.line}: `$ {command.text}` printed\n{diff}")


class Sessions:
    """One folder per README section, and how many of its blocks have run there."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.folders: dict[str, Path] = {}
        self.ran: dict[str, int] = {}

    def folder(self, block: Block, timeout: float) -> Path:
        """The section's folder, with every block before ``block`` run in it (a block reads
        what those made, also when it is chosen alone with ``-k``)."""
        if block.section not in self.folders:
            self.folders[block.section] = self.factory.mktemp("readme")
            self.ran[block.section] = 0
        folder = self.folders[block.section]
        for earlier in blocks():
            pending = self.ran[block.section] <= earlier.index < block.index
            if earlier.section == block.section and pending:
                check(earlier, folder, timeout)
                self.ran[block.section] = earlier.index + 1
        return folder

    def done(self, block: Block) -> None:
        self.ran[block.section] = block.index + 1


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Sessions:
    return Sessions(tmp_path_factory)


def params() -> list:
    return [
        pytest.param(block, id=block.name, marks=[pytest.mark.slow] if is_slow(block) else [])
        for block in blocks()
    ]


@pytest.mark.parametrize("block", params())
def test_a_readme_example_prints_what_the_readme_shows(block, sessions):
    timeout = 1800 if is_slow(block) else 300
    check(block, sessions.folder(block, timeout), timeout)
    sessions.done(block)


# -- every command's help, as an 80-column terminal shows it -------------------------------------


def command_paths() -> list[tuple[str, ...]]:
    """Every command of the ``mimicry`` app, sub-commands (``db upgrade``) included."""
    import typer

    from mimicry_cli import app

    def walk(command, path: tuple[str, ...]):
        yield path
        if hasattr(command, "commands"):  # a group (typer's own click)
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ()))


def test_every_help_reads_whole_at_80_columns():
    """No word cut to an ellipsis, no type placeholder such as ``<list[str]>`` or ``{draws}``
    where a metavar names the value, and paragraphs joined into lines, not broken where the
    source's lines break."""
    paths = command_paths()
    assert ("run",) in paths and ("db", "upgrade") in paths

    def help_of(path: tuple[str, ...]) -> str:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
        env |= {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "mimicry"), *path, "--help"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    with ThreadPoolExecutor(max_workers=4) as pool:
        helps = dict(zip(paths, pool.map(help_of, paths), strict=True))
    for path, text in helps.items():
        where = f"mimicry {' '.join(path)} --help"
        assert WILDCARD not in text, where
        assert max(map(len, text.splitlines())) <= 80, where
        assert not re.search(r"<list\[|<str>|<int>|<float>|\{[a-z_]+\}", text), where
        # The description's paragraphs fill the terminal's lines: a short line inside one is a
        # break copied from the source (run's "left out are" / "to a" / "reports to").
        plain = "\n".join(line.rstrip() for line in text.split("╭")[0].splitlines())
        for paragraph in plain.split("\n\n"):
            lines = paragraph.strip("\n").splitlines()
            assert all(len(line) >= 60 for line in lines[:-1]), (where, paragraph)
    run_help = helps[("run",)]
    assert "Usage: mimicry run [OPTIONS] {DRAWS}" in run_help
    assert "--family NAME" in re.sub(r" +", " ", run_help)


# -- the design the code cites ------------------------------------------------------------------

ROOT = README.parent
#: Where the project's own text lives (not .venv, .git or build output).
#: The kernels' C and CUDA sources included: they cite the design too.
CITING_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".cfg", ".c", ".h", ".cu", ".cuh"}


def project_files() -> list[Path]:
    skipped = {".venv", ".git", "node_modules", "build", "dist", ".mimicry"}
    return sorted(
        path
        for path in ROOT.rglob("*")
        if (path.suffix in CITING_SUFFIXES or path.name == "Dockerfile")
        and path.is_file()
        and not skipped.intersection(path.relative_to(ROOT).parts)
        and not path.relative_to(ROOT).parts[0].endswith(".egg-info")
    )


def test_every_citation_of_the_design_names_one_of_its_sections():
    """``docs/design.md §N`` (or ``§N.M``) anywhere in the project names a heading of
    docs/design.md, and nothing cites a design outside the repository."""
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", design, flags=re.MULTILINE))
    assert {"1", "2", "4.3", "19"} <= sections
    outside = re.compile("DESIGN" + r"\.md|\.\./shared/")
    cited = 0
    for path in project_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(ROOT)
        assert not outside.search(text), f"{where} refers to a design outside the repository"
        for citation in re.findall(r"design\.md ((?:§[\d.]+(?:, |–)?)+)", text):
            for number in re.findall(r"§(\d+(?:\.\d+)?)", citation):
                assert number in sections, f"{where}: docs/design.md §{number} is no section"
                cited += 1
    assert cited >= 30  # the code cites it; a search that finds none is broken


# -- the parser and the matcher themselves ------------------------------------------------------


def test_the_readme_has_examples_of_every_quick_kind():
    """The quick examples cover what a newcomer types first; a README edit that drops one fails
    here rather than silently checking less."""
    quick = [command.text for block in blocks() if not is_slow(block) for command in block.commands]
    for start in (
        "COLUMNS=80 mimicry sieve --help",
        "mimicry families",
        "mimicry simulate",
        "mimicry sieve",
        "mimicry recover",
        "mimicry ingest",
        "mimicry status",
        "MIMICRY_BACKEND=",
        "echo $?",
    ):
        assert any(text.startswith(start) for text in quick), start
    assert any(block.runs(SLOW_COMMANDS) for block in blocks())


def test_wildcards_match_what_varies_and_nothing_else():
    assert matches(["in … s (…/s)."], ["in 0.52 s (32,605,878/s)."])
    assert not matches(["in … s (…/s)."], ["in 0.52 s."])
    assert matches(["a", "…", "z"], ["a", "z"])
    assert matches(["a", "…", "z"], ["a", "b", "c", "z"])
    assert not matches(["a", "…", "z"], ["a", "b"])
    assert not matches(["a", "b"], ["a", "b", "c"])
    assert matches(["p (x)  "], ["p (x)"])  # trailing blanks, as a terminal shows them


def test_a_block_is_commands_each_with_its_output():
    block = console_blocks(
        "## S\n\n```console\n$ echo a \\\n  b\na b\n$ true\n```\n\n```console\n$ false\n```\n"
    )
    assert [b.index for b in block] == [0, 1]
    assert block[0].commands == (Command("echo a \\\n  b", ("a b",)), Command("true", ()))
    assert block[1].commands == (Command("false", ()),)
