"""Short CI variants of the loop's soak tests (issue 12 §5; the long runs are in BENCHMARKS.md):
the real ``benchmarks/soak.py`` in a process of its own, its verdict line read back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Minutes each: run with `pytest -m slow tests/test_soak.py` (CI keeps under its time budget).
pytestmark = pytest.mark.slow

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def soak(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SOAK), *args], capture_output=True, text=True, timeout=timeout
    )


def test_idle_endurance_five_minutes():
    """A: `mimicry watch --serve` ticking every 20 s with no new draws for 5 minutes: memory
    and file descriptors of the command and its server stay flat, no traceback."""
    proc = soak("idle", "--minutes", "5", "--interval-seconds", "20", timeout=900)
    verdict = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0 and verdict.endswith("PASS"), proc.stdout[-3000:] + proc.stderr
    assert " 0 tracebacks" in verdict


def test_sequential_retrains():
    """B, short: three ticks on arriving draws, each a retrain, each traced to its run."""
    proc = soak("retrains", "--count", "3", timeout=900)
    verdict = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert verdict == (
        "3 retrains: 3 completed, 0 duplicates, 0 left pending, traced both ways: True: PASS"
    )


def test_sustained_loop_short():
    """C, short: `mimicry watch --serve` every 15 s for 6 minutes while a feed appends five
    draws a tick and re-seeds its generator: the change detected and recovered from, every draw
    stored, nothing failed or left open."""
    proc = soak("sustained", "--minutes", "6", "--interval-seconds", "15", timeout=1500)
    verdict = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0 and verdict.endswith("PASS"), proc.stdout[-3000:] + proc.stderr
    assert "0 failed, 0 open, 0 tracebacks" in verdict
