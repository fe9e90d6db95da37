"""Soak tests of the autonomous loop (issue 12 §5), scripted.

    python benchmarks/soak.py idle --minutes 120 [--interval-seconds 30]
    python benchmarks/soak.py retrains --count 10

* ``idle`` (A, idle endurance): ``mimicry watch --serve`` ticking on a stream with a ranked run
  and no new draws. Every process of its tree (the command, the Prefect server it started, each
  tick's flow-run process) is sampled every 10 s: resident memory and open file descriptors.
  Pass: the command's and the server's RSS grow by under 50 MB after the first tick, their FDs
  stay within ±5, no traceback in their output.
* ``retrains`` (B): ``--count`` ticks, each after 5 new draws with ``stale_draws = 5``: every
  tick retrains. Pass: all completed, no duplicate decision, none left pending, each decision's
  run names the decision and the decision names the run.

Prints one line per sample (idle) or per tick (retrains) and a verdict line; exit 1 on a fail.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIMICRY = [str(Path(sys.executable).parent / "mimicry")]


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="mimicry-soak-"))
    os.environ["MIMICRY_HOME"] = str(home)
    os.environ.pop("MIMICRY_DATABASE_URL", None)
    os.environ.setdefault("MIMICRY_LLM_BACKEND", "heuristic")
    from mimicry.settings import get_settings

    get_settings.cache_clear()
    return home


def seeded_stream(home: Path, draws: int = 300) -> Path:
    """A glibc rand() stream fed from a feed file, searched once (small, ranked)."""
    from mimicry.feed import FeedSpec, Reseed, feed, save_feed

    path = home / "feed.json"
    seed = 1 + secrets.randbelow(4000)
    spec = FeedSpec(stream="pick3", family="glibc_rand", seeds=[Reseed(position=0, seed=seed)])
    save_feed(path, spec)
    feed(path, draws)
    subprocess.run(
        [*MIMICRY, "run", "--help"], check=True, capture_output=True
    )  # the CLI imports cleanly before a long soak
    from prefect.testing.utilities import prefect_test_harness

    from flows.pipeline import pipeline
    from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings

    with prefect_test_harness(server_startup_timeout=300):
        pipeline(
            PipelineRequest(
                stream="pick3",
                families=("glibc_rand",),
                sieve=SieveSettings(seeds=(0, 4095)),
                window_trials=8,
                trial_budget=4096,
                ranking=RankingSettings(
                    scorer_trials=4, model_trials=1, permutations=19, decoys=120, folds=5
                ),
            )
        )
    return path


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def sample(pid: int) -> tuple[int, int, str] | None:
    """RSS (KiB), open FDs and the command line of ``pid``; None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read().replace(b"\0", b" ").decode()[:200]
    except (OSError, StopIteration):
        return None
    return rss, fds, command


def idle(minutes: float, interval_seconds: float) -> bool:
    home = fresh_home()
    seeded_stream(home)
    log = open(home / "serve.log", "w")  # noqa: SIM115 (held for the whole soak)
    serve = subprocess.Popen(
        [*MIMICRY, "watch", "--serve", "--interval", str(interval_seconds / 60)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started = time.monotonic()
    baseline: dict[int, tuple[int, int]] = {}
    worst: dict[int, tuple[int, int, str]] = {}
    try:
        time.sleep(max(30.0, 2 * interval_seconds))  # warm-up: the server and a first tick
        while time.monotonic() - started < minutes * 60:
            if serve.poll() is not None:
                print(f"mimicry watch --serve exited with {serve.returncode}")
                return False
            # The long-lived processes: the command and the Prefect server it started (each
            # tick's flow-run process lives seconds; a leak there dies with it).
            for pid in tree(serve.pid):
                figures = sample(pid)
                if figures is None or (pid != serve.pid and "uvicorn" not in figures[2]):
                    continue
                rss, fds, command = figures
                baseline.setdefault(pid, (rss, fds))
                first_rss, first_fds = baseline[pid]
                worst[pid] = (rss - first_rss, fds - first_fds, command)
                print(
                    f"{(time.monotonic() - started) / 60:6.1f} min pid {pid} rss {rss / 1024:7.1f} "
                    f"MiB ({(rss - first_rss) / 1024:+.1f}) fds {fds} ({fds - first_fds:+d}) "
                    f"{command}",
                    flush=True,
                )
            time.sleep(10)
    finally:
        serve.terminate()
        serve.wait(60)
        log.close()
    output = (home / "serve.log").read_text()
    tracebacks = output.count("Traceback")
    from mimicry.store.database import connect
    from mimicry.store.models import DecisionRecord

    with connect(read_only=True) as session:
        ticks = session.query(DecisionRecord).count()  # one decision per tick: one stream
    expected = int(minutes * 60 / interval_seconds) // 2
    passed = (
        tracebacks == 0
        and ticks >= expected
        and all(growth < 50 * 1024 and abs(fds) <= 5 for growth, fds, _ in worst.values())
    )
    for pid, (growth, fds, command) in worst.items():
        print(f"pid {pid} {command}: RSS {growth / 1024:+.1f} MiB, FDs {fds:+d} over the soak")
    print(
        f"idle soak {minutes:g} min, a tick every {interval_seconds:g} s: {ticks} ticks "
        f"(at least {expected} expected), {tracebacks} tracebacks: {'PASS' if passed else 'FAIL'}"
    )
    return passed


def retrains(count: int) -> bool:
    from prefect.testing.utilities import prefect_test_harness
    from sqlalchemy import func, select

    from flows.watcher import watcher_tick
    from mimicry.feed import feed
    from mimicry.store.database import connect
    from mimicry.store.models import DecisionRecord, Run

    home = fresh_home()
    path = seeded_stream(home)
    policy = home / "watcher.toml"
    policy.write_text("stale_draws = 5\n")
    with prefect_test_harness(server_startup_timeout=300):
        for index in range(count):
            feed(path, 5)
            started = time.perf_counter()
            (decision,) = watcher_tick(policy_file=str(policy))["decisions"]
            print(
                f"tick {index + 1}: {decision['action']} {decision['status']} run "
                f"{decision['run_id']} ({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
    with connect(read_only=True) as session:
        records = session.scalars(
            select(DecisionRecord).where(DecisionRecord.action == "retrain")
        ).all()
        done = [r for r in records if r.status == "done"]
        pending = session.scalar(
            select(func.count())
            .select_from(DecisionRecord)
            .where(DecisionRecord.status.in_(("pending_approval", "approved", "running")))
        )
        keys = [r.idempotency_key for r in records]
        traced = all(
            r.run_id and session.get(Run, r.run_id).parameters.get("decision_id") == r.id
            for r in done
        )
    passed = len(done) == count and len(set(keys)) == len(keys) and not pending and traced
    print(
        f"{count} retrains: {len(done)} completed, {len(keys) - len(set(keys))} duplicates, "
        f"{pending} left pending, traced both ways: {traced}: {'PASS' if passed else 'FAIL'}"
    )
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("soak", choices=["idle", "retrains"])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--interval-seconds", type=float, default=30.0)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    ok = idle(args.minutes, args.interval_seconds) if args.soak == "idle" else retrains(args.count)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
