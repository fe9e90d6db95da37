"""A ``mimicry run`` killed or stopped part-way: nothing it started outlives it, a SIGTERM always
stops it with exit 143, its run is never left ``running`` as if it were still alive, and a store
deleted under it fails it with exit 3.

Each test runs the real command in its own process on the embedded default (no
``PREFECT_API_URL``: the command starts its own Prefect server), kills it at a known point and
looks at what remains: processes (psutil) and the store's rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from mimicry.store.database import connect
from mimicry.store.models import Chunk, PopulationRecord, Prediction, Run
from mimicry.store.runs import mark_crashed
from tests.history import make_history, write_draws
from tests.test_cli import MIMICRY

#: A slow search (the reference backend, about 0.3 s per chunk of 1,000 MT19937 seeds) so that
#: the command is still sieving when it is killed.
SLOW_SIEVE = [
    "--family",
    "mt19937",
    "--seeds",
    "0..199999",
    "--window",
    "8",
    "--window-start",
    "0",
    "--min-matches",
    "8",
    "--backend",
    "reference",
    "--chunk-size",
    "1000",
]


def start_run(
    home: Path, draws: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_API"))},
        "MIMICRY_HOME": str(home / "home"),
        **(env or {}),
    }
    return subprocess.Popen(
        [*MIMICRY, "run", str(draws), *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, seconds: float = 300):
    """Poll ``condition`` (which may fail while the store does not exist yet) until it holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before the point it was to be killed at"
        try:
            if condition():
                return
        except Exception:  # the store is created by the run
            pass
        time.sleep(0.2)
    raise AssertionError("the run never reached the point it was to be killed at")


def chunks_done() -> int:
    with connect() as session:
        return len(session.scalars(select(Chunk.id)).all())


def runs() -> list[Run]:
    with connect() as session:
        return list(session.scalars(select(Run)))


@pytest.fixture
def mt_draws(home) -> Path:
    return write_draws(home / "mt.txt", make_history("mt19937", "mod", 1000, 150_000, range(30)))


def test_nothing_the_run_started_outlives_a_sigkill(home, mt_draws):
    run = start_run(home, mt_draws, *SLOW_SIEVE, "--no-rank")
    wait_for(lambda: chunks_done() >= 2, run)
    started = psutil.Process(run.pid).children(recursive=True)
    names = [" ".join(child.cmdline()[:4]) for child in started]
    assert any("uvicorn" in name for name in names), names  # its own Prefect server
    run.kill()
    run.wait(30)
    _, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, [" ".join(p.cmdline()) for p in alive]


# While it starts (imports, preflight, its Prefect server, Step 1) and while it sieves: a
# SIGTERM during Prefect's import came out as a PydanticSerializationError and exit 1.
@pytest.mark.parametrize("moment", [1.5, 2.5, 3.5, "sieving"])
def test_a_sigterm_stops_the_run_marks_it_failed_and_exits_143(home, mt_draws, moment):
    run = start_run(home, mt_draws, *SLOW_SIEVE, "--no-rank")
    if moment != "sieving":
        time.sleep(moment)
    else:
        wait_for(lambda: chunks_done() >= 2, run)
    started = psutil.Process(run.pid).children(recursive=True)
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 143, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("mimicry: error: stopped by SIGTERM")
    assert out == ""
    assert all(r.state == "failed" and r.error == "stopped by SIGTERM" for r in runs())
    if moment == "sieving":
        assert len(runs()) == 1 and chunks_done() < 200  # stopped, not run to the end
    assert not psutil.wait_procs(started, timeout=10)[1]


def test_a_sigterm_while_ranking_stops_the_run(home):
    # The scorer search and model selection check for a stop after every trial, not only at the
    # step's end: before that, 20 trials of model selection outlasted the 30 s grace on 2 loaded
    # cores (the run then exits 143 and goes stale, not failed). 300 trials would outlast it on
    # any machine (without the check: exit 143, the run left running, here in 30 s).
    run = ranked_run(home, model_trials=300)
    wait_for(population_stored, run)
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 143, err[-3000:]
    assert out == ""
    (record,) = runs()
    assert record.state == "failed" and record.error == "stopped by SIGTERM"


def test_a_store_deleted_mid_run_fails_with_exit_3_and_reports_nothing(home, mt_draws):
    # A fifth of the slow sieve: the run sieves on and finds the store gone when it stores its
    # answer, so the other 160 chunks only made CI wait (244 s of a 35-minute run under load).
    seeds = SLOW_SIEVE.index("--seeds") + 1
    sieve = [*SLOW_SIEVE[:seeds], "0..39999", *SLOW_SIEVE[seeds + 1 :]]
    run = start_run(home, mt_draws, *sieve, "--no-rank")
    wait_for(lambda: chunks_done() >= 1, run)
    for file in (home / "home").glob("mimicry.db*"):
        file.unlink()
    out, err = run.communicate(timeout=300)
    assert run.returncode == 3, err[-3000:]
    assert out == ""  # no answer for work that was not stored
    last = err.strip().splitlines()[-1]
    assert last.startswith("mimicry: error: the store ") and "was deleted or replaced" in last


def ranked_run(
    home: Path, env: dict[str, str] | None = None, model_trials: int = 20
) -> subprocess.Popen:
    """A run that ranks (Steps 2.5-6 take a while on 200 draws)."""
    draws = write_draws(home / "g.txt", make_history("glibc_rand", "mod", 1000, 31_337, range(200)))
    return start_run(
        home,
        draws,
        *("--family", "glibc_rand", "--seeds", "31000..31999", "--window-trials", "2"),
        *("--model-trials", str(model_trials), "--permutations", "99"),
        env=env,
    )


def population_stored() -> bool:
    with connect() as session:
        return session.scalar(select(func.count()).select_from(PopulationRecord)) > 0


def test_a_run_killed_while_ranking_is_marked_crashed_and_never_predicts(home):
    run = ranked_run(home, env={"MIMICRY_HEARTBEAT_SECONDS": "0.5"})
    wait_for(population_stored, run)
    run.kill()
    run.wait(30)
    (record,) = runs()
    assert record.state == "running"  # nobody has looked yet
    time.sleep(3)  # more than STALE_BEATS heartbeats of 0.5 s
    env = {**os.environ, "MIMICRY_HEARTBEAT_SECONDS": "0.5"}
    status = subprocess.run(
        [*MIMICRY, "status", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)["runs"]
    assert shown["state"] == "crashed"
    (record,) = runs()
    assert record.state == "crashed" and "no heartbeat since" in record.error
    predict = subprocess.run(
        [*MIMICRY, "predict", "--stream", "g"], capture_output=True, text=True, timeout=120
    )
    assert predict.returncode == 2 and "has no ranked run yet" in predict.stderr
    with connect() as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == 0


def test_a_live_run_keeps_beating_and_is_not_marked_crashed(home, mt_draws):
    run = start_run(
        home, mt_draws, *SLOW_SIEVE, "--no-rank", env={"MIMICRY_HEARTBEAT_SECONDS": "0.5"}
    )
    wait_for(lambda: chunks_done() >= 1, run)
    time.sleep(3)
    with connect() as session:
        assert mark_crashed(session, 0.5) == []
        (record,) = session.scalars(select(Run))
        first_beat = record.heartbeat_at
    time.sleep(1.5)
    assert runs()[0].heartbeat_at > first_beat
    run.kill()
    run.wait(30)
