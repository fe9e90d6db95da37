"""``mimicry run`` ingests its draw file itself, once, before any work (docs/design.md §13): the
file is opened once in the whole command, and what the command refuses after reading it leaves
the store as it was.

The opens are counted by the kernel (inotify's ``IN_OPEN`` on the file), in the real command.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.history import seeded_history, write_draws
from tests.test_cli import mimicry

IN_OPEN, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE = 0x20, 0x08, 0x10
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)

SEED = 777
DRAWS = seeded_history("glibc_rand", SEED, 40)
SEARCH = ("--family", "glibc_rand", "--seeds", "0..2047", "--window-trials", "0", "--no-rank")


@contextmanager
def opens_of(path: Path) -> Iterator[list[int]]:
    """A list that holds, once the block ends, how many times any process opened ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    watcher = libc.inotify_init1(os.O_NONBLOCK)
    if watcher < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    # Closes are watched too: identical events in a row are merged into one, and a close between
    # two opens keeps them apart.
    mask = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
    counted: list[int] = []
    try:
        if libc.inotify_add_watch(watcher, os.fsencode(path), mask) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        yield counted
        opens = 0
        while True:
            try:
                data = os.read(watcher, 1 << 16)
            except BlockingIOError:
                break
            at = 0
            while at < len(data):
                _, event, _, name_length = _EVENT.unpack_from(data, at)
                opens += bool(event & IN_OPEN)
                at += _EVENT.size + name_length
        counted.append(opens)
    finally:
        os.close(watcher)


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def test_the_counter_sees_every_open(tmp_path):
    path = write_draws(tmp_path / "d.txt", DRAWS)
    with opens_of(Path(path)) as opens:
        for _ in range(3):
            Path(path).read_text()
    assert opens == [3]


def test_a_run_opens_its_draw_file_once(tmp_path):
    path = Path(write_draws(tmp_path / "draws.txt", DRAWS))
    with opens_of(path) as opens:
        ran = mimicry(tmp_path, "run", "draws.txt", *SEARCH, "--json")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout)["survivors"][0]["seed"] == SEED
    assert opens == [1]  # the preflight and the flow's ingest opened it once each before
    status = json.loads(mimicry(tmp_path, "status", "--json").stdout)
    assert [(s["stream"], s["draws"]) for s in status["streams"]] == [("draws", 40)]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--window", "41"), "--window 41 is larger than the 40 draws in draws.txt"),
        (
            ("--window", "8", "--window-start", "33"),
            "--window-start 33 is beyond the 40 draws in draws.txt",
        ),
    ],
)
def test_a_refusal_after_the_file_is_read_writes_nothing(tmp_path, flags, message):
    write_draws(tmp_path / "draws.txt", DRAWS)
    ran = mimicry(tmp_path, "run", "draws.txt", *SEARCH, *flags)
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr == f"mimicry: error: {message}\n"
    status = json.loads(mimicry(tmp_path, "status", "--json").stdout)
    assert status["streams"] == [] and status["runs"] == []
