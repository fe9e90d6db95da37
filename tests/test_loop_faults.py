"""The autonomous loop under faults (issue 21): nothing scored twice, nothing stuck, nothing
orphaned, bounds that hold. Through the real CLI (each command its own process, with its own
Prefect server where it runs a flow), the store in SQLite under a temporary MIMICRY_HOME, and
the WATCHER flow on a real Prefect server (the test harness) where a test ticks in-process.

* A draw is scored once: two runs on a stream, `mimicry evaluate` twice, an ingest and many
  ticks leave exactly one evaluation per scored position, against the newest run's prediction.
* A decision whose process was killed (-9) or stopped (SIGTERM) mid-run does not stay
  `running`: the next tick fails it, saying why, and the stream is free again; nothing the
  command started outlives it; `mimicry cancel` stops a running decision's run (closed
  `cancelled`) and cancels one that waits.
* A tick leaves a stream alone while a run on it is in progress.
* `mimicry watch --serve` killed -9 mid-tick leaves no process behind.
* Policy values and flags that would break a tick later are refused at once.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import func, select

from flows.pipeline import pipeline
from flows.watcher import watcher_tick
from mimicry.loop.feed import FeedSpec, Reseed, draws_of, feed, load_feed, save_feed
from mimicry.requests import PipelineRequest, SieveSettings
from mimicry.settings import get_settings
from mimicry.store.database import connect
from mimicry.store.models import DecisionRecord, Evaluation, Prediction, Run
from mimicry.store.streams import append_draws, require_stream, stored_values
from tests.test_cli import MIMICRY

#: An unranked search of one family over 4096 seeds: its overwhelming survivor predicts at once.
SEARCH = dict(
    families=("glibc_rand",),
    sieve=SieveSettings(seeds=(0, 4095)),
    window_trials=8,
    trial_budget=4096,
    rank=False,
)
#: A search that takes minutes (all 2^31 glibc seeds), so a test can catch it running.
LONG_SEARCH_POLICY = 'new_data_draws = 20\nresearch_approval = "auto"\n'
#: Seconds between heartbeats in the commands these tests start: a silent process is stale
#: after four of them.
HEARTBEAT = "1"


@pytest.fixture(scope="module")
def prefect_api():
    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(autouse=True)
def heuristic_advisor(monkeypatch):
    monkeypatch.setenv("MIMICRY_LLM_BACKEND", "heuristic")
    get_settings.cache_clear()


def command_env(marker: str | None = None) -> dict[str, str]:
    """The environment of a command this test starts: its own Prefect server (no
    PREFECT_API_URL of the harness), fast heartbeats, and a marker to find its processes by."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(MIMICRY_HEARTBEAT_SECONDS=HEARTBEAT, MIMICRY_LLM_BACKEND="heuristic")
    if marker:
        env["MIMICRY_TEST_MARKER"] = marker
    return env


def cli(*args: str, timeout: float = 300, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MIMICRY, *args], capture_output=True, text=True, timeout=timeout, env=env or command_env()
    )


def marked_processes(marker: str) -> list[int]:
    """Processes whose environment holds the marker: the command and everything it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"MIMICRY_TEST_MARKER={marker}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, seconds: float = 60) -> list[int]:
    deadline = time.monotonic() + seconds
    left = marked_processes(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = marked_processes(marker)
    return left


def wait_for(predicate, seconds: float, what: str, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            _out, err = process.communicate()
            raise AssertionError(f"the command ended ({process.returncode}) before {what}: {err}")
        time.sleep(0.25)
    raise AssertionError(f"no {what} within {seconds} s")


def generator_world(home: Path, stream: str, draws: int) -> Path:
    path = home / f"{stream}.feed.json"
    save_feed(
        path,
        FeedSpec(
            stream=stream,
            family="glibc_rand",
            seeds=[Reseed(position=0, seed=1 + secrets.randbelow(4000))],
        ),
    )
    feed(path, draws)
    return path


# ---------------------------------------------------------------- scored once (item 0)


def next_draws(world: Path, count: int) -> list[int]:
    """The feed's next draws, taken from it without appending them (a command appends them)."""
    spec = load_feed(world)
    values = draws_of(spec, spec.next_position, count)
    save_feed(world, spec.model_copy(update={"next_position": spec.next_position + count}))
    return values


def test_a_draw_is_scored_once_after_a_second_run_and_many_ticks(prefect_api, home):
    world = generator_world(home, "twice", 300)
    runs = []
    for _ in range(2):  # two runs on the stream, each predicting draw 300
        runs.append(pipeline(PipelineRequest(stream="twice", **SEARCH))["run_id"])
        assert cli("predict", "--stream", "twice", "--json").returncode == 0
    with connect() as session:
        assert session.scalar(select(func.count()).where(Prediction.position == 300)) == 2
    for expected in (300, 301):  # `mimicry evaluate` twice: position 300, then 301
        (draw,) = next_draws(world, 1)
        proc = cli("evaluate", "--stream", "twice", "--draw", str(draw), "--json")
        assert proc.returncode == 0, proc.stderr
        assert [e["position"] for e in json.loads(proc.stdout)["evaluations"]] == [expected]
    # One more draw through ingest (the whole history in a file): one prediction scored.
    with connect() as session:
        known = list(stored_values(session, require_stream(session, "twice")))
    extra = home / "extra.txt"
    extra.write_text("\n".join(map(str, [*known, *next_draws(world, 1)])) + "\n")
    proc = cli("ingest", str(extra), "--stream", "twice", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [e["position"] for e in json.loads(proc.stdout)["evaluations"]] == [302]
    policy = home / "watcher.toml"
    policy.write_text("stale_draws = 100000\nnew_data_draws = 100000\n")
    for _ in range(6):  # ticks, each after two new draws
        feed(world, 2)
        watcher_tick(policy_file=str(policy))
    with connect() as session:
        rows = dict(session.execute(select(Evaluation.position, Evaluation.prediction_id)).all())
        assert sorted(rows) == list(range(300, 315))  # every draw once, none twice
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 15
        # Against the prediction of the run that was current when the draw arrived (the
        # second search; the ticks' retrain came after it).
        assert session.get(Prediction, rows[300]).run_id == runs[1]
        last = session.scalar(select(Evaluation).order_by(Evaluation.position.desc()).limit(1))
        assert last.rolling["evaluated"] == 15 and last.rolling["hits"] == 15


def test_the_store_refuses_a_second_evaluation_of_a_position(home):
    """The rule is the store's, not only the code's: a second row for a scored position fails."""
    from sqlalchemy.exc import IntegrityError

    generator_world(home, "s", 30)
    with pytest.raises(IntegrityError), connect() as session:
        record = require_stream(session, "s")
        run = Run(id=str(uuid.uuid4()), stream_id=record.id, parameters={}, draws_used=30)
        session.add(run)
        session.flush()
        made = []
        for _ in range(2):
            prediction = Prediction(
                stream_id=record.id, run_id=run.id, position=30, signal="no_signal", pool=[1],
                p_hit=0.001, p_hit_low=0.0, p_hit_high=0.01, chance=0.001,
                distribution=[0.001] * 1000, statement="", top_hypotheses=[],
            )  # fmt: skip
            session.add(prediction)
            session.flush()
            made.append(prediction)
        for prediction in made:
            session.add(
                Evaluation(
                    prediction_id=prediction.id,
                    stream_id=record.id,
                    position=30,
                    actual=1,
                    hit=True,
                    rank=1,
                    log_loss_gain=0.0,
                    rolling={},
                )
            )
            session.flush()


# ---------------------------------------------------------------- stuck, raced, orphaned (1, 2, 5)

#: A search that sieves every glibc_rand seed (2^31, in chunks): a minute or more here, so a
#: test can act while it runs; each finished chunk is a boundary where a stop is seen.
LONG_REQUEST = PipelineRequest(
    stream="slow",
    families=("glibc_rand",),
    sieve=SieveSettings(chunk_size=1 << 22),
    window_trials=0,
    rank=False,
)
#: No second search today: the tick after a failure leaves the stream alone instead of
#: starting the long search again.
ONE_SEARCH = 'new_data_draws = 20\nresearch_approval = "auto"\nsearches_per_day = 1\n'


def entropy(name: str, draws: int) -> None:
    with connect() as session:
        append_draws(session, name, [secrets.randbelow(1000) for _ in range(draws)], 1000, "os")


def approved_long_search(home: Path, stream: str = "slow") -> tuple[int, Path]:
    """A research decision on a fresh stream, approved by the policy, whose request is the long
    search (as a person would have approved it): its id, and the policy file."""
    from watcher.policy import load_policy
    from watcher.tick import review_stream

    entropy(stream, 40)
    policy = home / "watcher.toml"
    policy.write_text(ONE_SEARCH)
    view = review_stream(stream, load_policy(policy), "test", datetime.now(UTC), get_settings())
    assert (view.action, view.status) == ("research", "approved"), view
    with connect() as session:
        record = session.get(DecisionRecord, view.id)
        request = LONG_REQUEST.model_copy(update={"stream": stream})
        record.request = {"flow": "pipeline", "request": request.model_dump(mode="json")}
    return view.id, policy


def start_tick(policy: Path, stream: str, marker: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*MIMICRY, "watch", "--once", "--stream", stream, "--policy", str(policy), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=command_env(marker),
    )


def decision(decision_id: int) -> DecisionRecord:
    with connect(read_only=True) as session:
        return session.get(DecisionRecord, decision_id)


def run_of(decision_id: int) -> Run | None:
    with connect(read_only=True) as session:
        record = session.get(DecisionRecord, decision_id)
        return session.get(Run, record.run_id) if record.run_id else None


def sieving(decision_id: int) -> bool:
    """The decision's run is in its sieve: it started, and the ledger holds a chunk of it."""
    from mimicry.store.models import Chunk

    run = run_of(decision_id)
    if run is None or run.state != "running":
        return False
    with connect(read_only=True) as session:
        return session.scalar(select(func.count()).select_from(Chunk)) > 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_decision_whose_process_was_stopped_mid_run_does_not_stay_running(home, signum):
    decision_id, policy = approved_long_search(home)
    marker = uuid.uuid4().hex
    tick = start_tick(policy, "slow", marker)
    wait_for(lambda: sieving(decision_id), 240, "the dispatched search sieving", tick)
    assert decision(decision_id).status == "running"
    tick.send_signal(signum)
    code = tick.wait(120)
    assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 143), tick.stderr.read()
    # Nothing the command started outlives it: its Prefect server, its Dask cluster.
    assert wait_until_gone(marker) == []
    if signum == signal.SIGTERM:  # stopped cleanly: recorded at once, by the command itself
        record = decision(decision_id)
        assert record.status == "failed", record.outcome
        assert "stopped by SIGTERM" in record.outcome
    time.sleep(5)  # four missed heartbeats of a second: the killed owner is stale
    proc = cli("watch", "--once", "--stream", "slow", "--policy", str(policy), "--json")
    assert proc.returncode == 0, proc.stderr
    (made,) = json.loads(proc.stdout)["decisions"]
    record, run = decision(decision_id), run_of(decision_id)
    assert record.status == "failed"
    assert run is not None and run.state in ("crashed", "failed")
    if signum == signal.SIGKILL:  # its run went silent with it: crashed, and the decision says
        assert run.state == "crashed"
        assert record.outcome.startswith(f"run {run.id} crashed: ")
        assert "no heartbeat since" in record.outcome
    # The stream is not blocked by it: the tick decided on its own rules (the day's one search
    # was spent by the failed decision), not "waits: decision N is running".
    assert "waits: decision" not in json.dumps(made)
    assert made["action"] == "wait"
    refused = cli("reject", str(decision_id))
    assert refused.returncode == 2 and f"decision {decision_id} is failed" in refused.stderr


def test_cancel_stops_a_running_decision_and_its_run(home):
    decision_id, policy = approved_long_search(home)
    marker = uuid.uuid4().hex
    tick = start_tick(policy, "slow", marker)
    wait_for(lambda: sieving(decision_id), 240, "the dispatched search sieving", tick)
    proc = cli("cancel", str(decision_id), "--note", "wrong stream")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f"decision {decision_id}: cancelled (its run stops at its next step or chunk boundary)"
    )
    _out, err = tick.communicate(timeout=120)
    assert tick.returncode == 0, err  # the tick itself goes on and ends normally
    assert wait_until_gone(marker) == []
    record, run = decision(decision_id), run_of(decision_id)
    assert record.status == "cancelled"
    assert record.outcome.startswith(f"cancelled by {record.approval['cancelled_by']}")
    assert record.approval["cancel_note"] == "wrong stream"
    assert run.state == "cancelled" and "cancelled" in run.error
    status = json.loads(cli("status", "--json").stdout)
    assert {r["state"] for r in status["runs"] if r["run_id"] == run.id} == {"cancelled"}
    # An ended decision cannot be cancelled again; an unknown one is one sentence.
    again = cli("cancel", str(decision_id))
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"mimicry: error: decision {decision_id} is cancelled; there is nothing to cancel"
    )
    unknown = cli("cancel", "9999")
    assert unknown.returncode == 2 and "no decision 9999" in unknown.stderr


def test_cancel_of_a_waiting_decision_runs_nothing(home):
    from watcher.policy import Policy
    from watcher.tick import review_stream

    entropy("w", 50)
    view = review_stream("w", Policy(new_data_draws=40), "t", datetime.now(UTC), get_settings())
    assert view.status == "pending_approval"
    proc = cli("cancel", str(view.id), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["was"] == "pending_approval"
    assert decision(view.id).status == "cancelled"
    late = cli("approve", str(view.id))
    assert late.returncode == 2
    assert f"decision {view.id} is cancelled, not waiting for approval" in late.stderr
    with connect(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 0


def test_a_tick_leaves_a_stream_alone_while_a_run_on_it_is_in_progress(home):
    draws = home / "busy.txt"
    draws.write_text("".join(f"{secrets.randbelow(1000)}\n" for _ in range(40)))
    marker = uuid.uuid4().hex
    search = subprocess.Popen(
        [*MIMICRY, "run", str(draws), "--stream", "busy", "--family", "glibc_rand",
         "--window-trials", "0",
         "--no-rank", "--chunk-size", str(1 << 22)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=command_env(marker),
    )  # fmt: skip
    try:

        def running() -> str | None:
            with connect(read_only=True) as session:
                return session.scalar(select(Run.id).where(Run.state == "running"))

        run_id = wait_for(running, 240, "the first search running", search)
        policy = home / "watcher.toml"
        policy.write_text('new_data_draws = 20\nresearch_approval = "auto"\n')
        proc = cli("watch", "--once", "--stream", "busy", "--policy", str(policy), "--json")
        assert proc.returncode == 0, proc.stderr
        (made,) = json.loads(proc.stdout)["decisions"]
        assert made["action"] == "wait" and made["status"] == "done"
        assert f"run {run_id} on the stream is in progress" in decision(made["id"]).rule
        assert made["advice"] is None  # nothing asked of the advisor for a stream left alone
    finally:
        search.send_signal(signal.SIGTERM)
        search.wait(120)
    assert wait_until_gone(marker) == []


def test_watch_serve_killed_mid_tick_leaves_nothing_behind(home):
    decision_id, policy = approved_long_search(home)
    marker = uuid.uuid4().hex
    env = command_env(marker)
    serve = subprocess.Popen(
        [*MIMICRY, "watch", "--serve", "--interval", "0.1", "--policy", str(policy)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        wait_for(lambda: sieving(decision_id), 300, "the served tick's search sieving", serve)
        assert len(marked_processes(marker)) > 2  # the command, its server, the tick, Dask
    finally:
        serve.kill()
        serve.wait(60)
    left = wait_until_gone(marker, 60)
    assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in left]
    time.sleep(5)
    # The next tick fails the decision the dead tick owned, saying why.
    proc = cli("watch", "--once", "--stream", "slow", "--policy", str(policy), "--json")
    assert proc.returncode == 0, proc.stderr
    record = decision(decision_id)
    assert record.status == "failed" and "no heartbeat since" in record.outcome


# ---------------------------------------------------------------- bounds that hold (item 11)


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("watch", "--serve", "--interval", "inf"), "--interval"),
        (("watch", "--serve", "--interval", "nan"), "--interval"),
        (("approve", "9223372036854775808"), "9223372036854775807"),
        (("reject", "0"), "greater than or equal to 1"),
        (("cancel", "--", "-1"), "greater than or equal to 1"),
    ],
)
def test_flags_that_would_break_later_are_refused_at_once(home, args, sentence):
    proc = cli(*args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert sentence in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["approve", "reject", "cancel"])
def test_a_note_is_bounded(home, command):
    from watcher.policy import Policy
    from watcher.tick import review_stream

    entropy("n", 50)
    view = review_stream("n", Policy(new_data_draws=40), "t", datetime.now(UTC), get_settings())
    proc = cli(command, str(view.id), "--note", "x" * 120_000)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mimicry: error: --note: a note holds at most 1,000 characters, this one has 120,000"
    )
    assert decision(view.id).status == "pending_approval"  # nothing written


def test_a_policy_with_an_infinite_timeout_is_refused_before_the_tick(home):
    policy = home / "bad.toml"
    policy.write_text("approval_timeout_minutes = inf\n")
    proc = cli("watch", "--once", "--policy", str(policy), timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"mimicry: error: {policy}: approval_timeout_minutes: Input should be a finite number"
    )


# ---------------------------------------------------------------- nothing leaked (item 10)


def test_the_store_is_created_readable_by_its_owner_only(home):
    proc = cli("status", timeout=60, env=command_env() | {"MIMICRY_HOME": str(home / "fresh")})
    assert proc.returncode == 0, proc.stderr
    folder = home / "fresh"
    assert folder.stat().st_mode & 0o777 == 0o700
    files = sorted(folder.glob("mimicry.db*"))
    assert [f.name for f in files] == ["mimicry.db", "mimicry.db-shm", "mimicry.db-wal"]
    assert {f.name: f.stat().st_mode & 0o777 for f in files} == dict.fromkeys(
        (f.name for f in files), 0o600
    )


def test_a_url_setting_that_cannot_be_used_never_echoes_its_password(home):
    env = command_env() | {"MIMICRY_LLM_URL": "http://user:s3cret@[::1"}
    proc = cli("status", timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mimicry: error: MIMICRY_LLM_URL: ")
    assert "s3cret" not in proc.stderr and "***@" in proc.stderr
