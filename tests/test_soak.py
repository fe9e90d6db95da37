"""Short CI variants of the loop's soak tests (issue 12 §5; the long runs are in BENCHMARKS.md):
the real ``benchmarks/soak.py``, each in a process of its own started when the session's tests
are collected (``tests/conftest.py``), so their minutes of wall time overlap the rest of the
suite; each test here waits for its soak and reads its verdict line.

* A, idle endurance: ``mimicry watch --serve`` ticking every 20 s with no new draws for 5
  minutes: memory and file descriptors of the command and its server stay flat, no traceback.
* B: three ticks on arriving draws, each a retrain, each traced to its run and back.
* C: ``mimicry watch --serve`` every 15 s for 6 minutes while a feed appends five draws a tick
  and re-seeds its generator: the change detected and recovered from, every draw stored,
  nothing failed or left open.
* C with selfplay: the same feed beside an OS-entropy stream, the WATCHER scheduling selfplay
  (two episodes a day a stream): episodes ran within the budget, none while a run on its stream
  was in flight, no promotion on the entropy stream, nothing failed or left open.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"
#: The soaks' arguments, by the name their tests carry in ``@pytest.mark.soak(NAME)``.
SOAKS = {
    "idle": ("idle", "--minutes", "5", "--interval-seconds", "20"),
    "retrains": ("retrains", "--count", "3"),
    "sustained": ("sustained", "--minutes", "6", "--interval-seconds", "15"),
    "selfplay": (
        "selfplay",
        "--minutes",
        "6",
        "--interval-seconds",
        "15",
        "--episodes-per-day",
        "2",
    ),
}
#: Seconds a test waits for its soak beyond the soak's own length (a loaded machine).
WAIT = 1500
RUNNING = pytest.StashKey[dict[str, tuple[subprocess.Popen, Path]]]()


def start_soaks(config: pytest.Config, names: set[str], directory: Path) -> None:
    running = config.stash.setdefault(RUNNING, {})
    for name in sorted(names - running.keys()):
        log = directory / f"soak-{name}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, str(SOAK), *SOAKS[name]],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        running[name] = (process, log)


def stop_soaks(config: pytest.Config) -> None:
    for process, _ in config.stash.get(RUNNING, {}).values():
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def verdict(request: pytest.FixtureRequest) -> tuple[int, str, str]:
    """Wait for this test's soak: its exit status, its last line, and its output's tail."""
    name = request.node.get_closest_marker("soak").args[0]
    process, log = request.config.stash[RUNNING][name]
    try:
        process.wait(WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the {name} soak did not end in {WAIT} s:\n{log.read_text()[-3000:]}")
    output = log.read_text()
    lines = output.strip().splitlines()
    return process.returncode, lines[-1] if lines else "", output[-3000:]


@pytest.mark.soak("idle")
def test_idle_endurance_five_minutes(request):
    code, last, tail = verdict(request)
    assert code == 0 and last.endswith("PASS"), tail
    assert " 0 tracebacks" in last


@pytest.mark.soak("retrains")
def test_sequential_retrains(request):
    code, last, tail = verdict(request)
    assert code == 0, tail
    assert last == (
        "3 retrains: 3 completed, 0 duplicates, 0 left pending, traced both ways: True: PASS"
    ), tail


@pytest.mark.soak("sustained")
def test_sustained_loop_short(request):
    code, last, tail = verdict(request)
    assert code == 0 and last.endswith("PASS"), tail
    assert "0 failed, 0 open, 0 tracebacks" in last


@pytest.mark.soak("selfplay")
def test_selfplay_within_its_budget_beside_a_sustained_feed(request):
    code, last, tail = verdict(request)
    assert code == 0 and last.endswith("PASS"), tail
    assert "noise: " in last and "0 promoted; draws stored intact: True" in last, last
    assert "0 failed, 0 open, 0 tracebacks; no breach" in last, last
