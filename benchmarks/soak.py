"""Soak tests of the autonomous loop (issue 12 §5), scripted.

    python benchmarks/soak.py idle --minutes 120 [--interval-seconds 30]
    python benchmarks/soak.py retrains --count 10
    python benchmarks/soak.py sustained --minutes 60 [--interval-seconds 30] [--per-tick 5]
    python benchmarks/soak.py selfplay --minutes 20 [--interval-seconds 15] [--per-tick 5]
                                       [--episodes-per-day 3]

* ``idle`` (A, idle endurance): ``mimicry watch --serve`` ticking on a stream with a ranked run
  and no new draws. Every process of its tree (the command, the Prefect server it started, each
  tick's flow-run process) is sampled every 10 s: resident memory and open file descriptors.
  Pass: the command's and the server's RSS grow by under 50 MB after the second tick, the
  floor of their FD counts (the lowest of a minute's samples) moves by at most 5, no traceback
  in their output.
* ``retrains`` (B): ``--count`` ticks, each after 5 new draws with ``stale_draws = 5``: every
  tick retrains. Pass: all completed, no duplicate decision, none left pending, each decision's
  run names the decision and the decision names the run.
* ``sustained`` (C): ``mimicry watch --serve`` ticking while a feed appends ``--per-tick`` draws
  every interval, its generator re-seeded a third of the way through. Pass: at least 20 ticks,
  the change detected (a regime shift), a search done after it whose predictions hit again,
  every fed draw stored once and in order, no decision failed or left open, no traceback.
* ``selfplay`` (C with selfplay, docs/design.md §21): soak C's feed (no re-seed) beside a stream
  of OS entropy fed as many draws a tick, both searched once, the WATCHER's selfplay scheduling
  on (``--episodes-per-day`` per stream, a CPU-seconds budget). Pass: episodes ran, none beyond
  the budget (episodes, and none started once the stream's CPU-seconds were spent), none started
  while a run on its stream was in flight, no promotion on the entropy stream, every fed draw
  stored once and in order, no decision or episode failed or left open, no traceback.

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
from collections.abc import Callable
from pathlib import Path

MIMICRY = [str(Path(sys.executable).parent / "mimicry")]


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="mimicry-soak-"))
    os.environ["MIMICRY_HOME"] = str(home)
    os.environ.pop("MIMICRY_DATABASE_URL", None)
    os.environ.setdefault("MIMICRY_LLM_BACKEND", "heuristic")
    # Prefect's telemetry heartbeat logs a traceback when two servers share its database.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from mimicry.settings import get_settings

    get_settings.cache_clear()
    return home


def seeded_stream(
    home: Path, draws: int = 300, change: int | None = None, entropy: str | None = None
) -> Path:
    """A glibc rand() stream fed from a feed file (re-seeded at ``change``), searched once; with
    ``entropy``, a stream of that name holding as many OS-entropy draws, searched once too."""
    from mimicry.loop.feed import FeedSpec, Reseed, feed, save_feed
    from mimicry.store.streams import append

    path = home / "feed.json"
    seeds = [Reseed(position=0, seed=1 + secrets.randbelow(4000))]
    if change is not None:
        seeds.append(Reseed(position=change, seed=1 + secrets.randbelow(4000)))
    spec = FeedSpec(stream="pick3", family="glibc_rand", seeds=seeds)
    save_feed(path, spec)
    feed(path, draws)
    if entropy is not None:
        append(entropy, entropy_draws(draws), "soak", modulus=spec.modulus)
    subprocess.run(
        [*MIMICRY, "run", "--help"], check=True, capture_output=True
    )  # the CLI imports cleanly before a long soak
    from prefect.testing.utilities import prefect_test_harness

    from flows.pipeline import pipeline
    from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings

    with prefect_test_harness(server_startup_timeout=300):
        for stream in ("pick3", entropy) if entropy else ("pick3",):
            pipeline(
                PipelineRequest(
                    stream=stream,
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


def entropy_draws(count: int, modulus: int = 1000) -> list[int]:
    return [secrets.randbelow(modulus) for _ in range(count)]


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


class Served:
    """``mimicry watch --serve`` in a process of its own, its output in ``serve.log``."""

    def __init__(self, home: Path, interval_seconds: float) -> None:
        self.log_path = home / "serve.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (held for the whole soak)
        self.process = subprocess.Popen(
            [*MIMICRY, "watch", "--serve", "--interval", str(interval_seconds / 60)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> int:
        """SIGTERM, wait; the number of tracebacks it printed."""
        self.process.terminate()
        self.process.wait(60)
        self._log.close()
        return self.log_path.read_text().count("Traceback")


def fed_every_interval(
    served: Served, rounds: int, interval_seconds: float, feed_once: Callable[[], object]
) -> bool:
    """Call ``feed_once`` every interval for ``rounds`` rounds, printing the time and the
    decisions so far; False (said) as soon as the served command has exited."""
    started = time.monotonic()
    for index in range(rounds):
        time.sleep(max(0.0, started + (index + 1) * interval_seconds - time.monotonic()))
        feed_once()
        print(
            f"{(time.monotonic() - started) / 60:6.1f} min: round {index + 1} of {rounds} fed, "
            f"{tick_count()} decisions",
            flush=True,
        )
        if served.process.poll() is not None:
            print(f"mimicry watch --serve exited with {served.process.returncode}")
            return False
    return True


def tick_count() -> int:
    from mimicry.store.database import connect
    from mimicry.store.models import DecisionRecord

    with connect(read_only=True) as session:
        return session.query(DecisionRecord).count()  # one decision per tick: one stream


def idle(minutes: float, interval_seconds: float) -> bool:
    home = fresh_home()
    seeded_stream(home)
    served = Served(home, interval_seconds)
    started = time.monotonic()
    baseline: dict[int, tuple[int, int]] = {}
    fd_counts: dict[int, list[int]] = {}
    worst: dict[int, tuple[int, int, str]] = {}
    try:
        # Warm-up: the server's first requests and the first tick's lazy imports and pools
        # grow both processes by tens of MiB once (under CI's load, after any fixed sleep), so
        # the baseline is the first sample after the second tick is recorded.
        warm_by = started + minutes * 30
        while tick_count() < 2 and time.monotonic() < warm_by:
            if served.process.poll() is not None:
                break
            time.sleep(2)
        while time.monotonic() - started < minutes * 60:
            if served.process.poll() is not None:
                print(f"mimicry watch --serve exited with {served.process.returncode}")
                return False
            # The long-lived processes: the command and the Prefect server it started (each
            # tick's flow-run process lives seconds; a leak there dies with it).
            for pid in tree(served.process.pid):
                figures = sample(pid)
                if figures is None or (pid != served.process.pid and "uvicorn" not in figures[2]):
                    continue
                rss, fds, command = figures
                baseline.setdefault(pid, (rss, fds))
                first_rss, first_fds = baseline[pid]
                # A tick holds a few connections open for seconds: a leak raises the floor of
                # the FD count, so compare the lowest count of the last minute to the first's.
                counts = fd_counts.setdefault(pid, [])
                counts.append(fds)
                fd_growth = min(counts[-6:]) - min(counts[:6])
                worst[pid] = (rss - first_rss, fd_growth, command)
                print(
                    f"{(time.monotonic() - started) / 60:6.1f} min pid {pid} rss {rss / 1024:7.1f} "
                    f"MiB ({(rss - first_rss) / 1024:+.1f}) fds {fds} ({fds - first_fds:+d}) "
                    f"{command}",
                    flush=True,
                )
            time.sleep(10)
    finally:
        tracebacks = served.stop()
    ticks = tick_count()
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


def sustained(minutes: float, interval_seconds: float, per_tick: int) -> bool:
    from sqlalchemy import func, select

    from mimicry.loop.feed import draws_of, feed, load_feed
    from mimicry.store.database import connect
    from mimicry.store.models import DecisionRecord
    from mimicry.store.predictions import run_scores
    from mimicry.store.streams import get_stream, stored_values

    rounds = int(minutes * 60 / interval_seconds)
    change = 300 + per_tick * (rounds // 3)
    home = fresh_home()
    path = seeded_stream(home, change=change)
    (home / "watcher.toml").write_text("stale_draws = 100000\n")  # retrains only when asked
    served = Served(home, interval_seconds)
    try:
        if not fed_every_interval(served, rounds, interval_seconds, lambda: feed(path, per_tick)):
            return False
        # The last draws scored and whatever the last tick started finished.
        deadline = time.monotonic() + 30 * interval_seconds
        while time.monotonic() < deadline:
            with connect(read_only=True) as session:
                open_ = session.scalar(
                    select(func.count())
                    .select_from(DecisionRecord)
                    .where(DecisionRecord.status.in_(("pending_approval", "approved", "running")))
                )
                newest = session.scalars(
                    select(DecisionRecord).order_by(DecisionRecord.id.desc()).limit(1)
                ).one()
            if not open_ and newest.draws == 300 + rounds * per_tick:
                break
            time.sleep(interval_seconds / 2)
    finally:
        tracebacks = served.stop()
    spec = load_feed(path)
    with connect(read_only=True) as session:
        stored = list(stored_values(session, get_stream(session, spec.stream)))
        records = session.scalars(select(DecisionRecord).order_by(DecisionRecord.id)).all()
        detected = next(
            (r.draws for r in records if any(t["name"] == "regime_shift" for t in r.triggers)),
            None,
        )
        research = next(
            (
                r
                for r in records
                if r.action == "research" and r.status == "done" and r.draws >= change
            ),
            None,
        )
        first_hit = research and next(
            (at for at, hit in run_scores(session, research.run_id) if hit and at >= change),
            None,
        )
        # Before the re-seed the promise holds: any trigger there is a false alarm.
        kept = [r for r in records if r.draws < change]
        false_alarms = [r.draws for r in kept if r.triggers]
        drift = next(
            (r.draws for r in records if any(t["name"] == "calibration_drift" for t in r.triggers)),
            None,
        )
        failed = [r.id for r in records if r.status == "failed"]
        still_open = [
            r.id for r in records if r.status in ("pending_approval", "approved", "running")
        ]
    fed = 300 + rounds * per_tick
    intact = stored == draws_of(spec, 0, fed)
    after = lambda n: "never" if n is None else f"{n - change} draws"  # noqa: E731
    passed = (
        len(records) >= 20
        and intact
        and detected is not None
        and first_hit is not None
        and not failed
        and not still_open
        and tracebacks == 0
    )
    print(
        f"sustained loop {minutes:g} min, a tick every {interval_seconds:g} s, {per_tick} draws "
        f"each: {len(records)} ticks, re-seed at draw {change}, detected after {after(detected)}, "
        f"searched after {after(research.draws if research else None)}, hits again after "
        f"{after(first_hit)}; calibration drift fired after {after(drift)}; "
        f"{len(false_alarms)} of {len(kept)} ticks before the re-seed fired a trigger "
        f"{false_alarms or ''}; {len(stored)} of {fed} draws stored intact: {intact}; "
        f"{len(failed)} failed, {len(still_open)} open, {tracebacks} tracebacks: "
        f"{'PASS' if passed else 'FAIL'}"
    )
    return passed


#: The selfplay soak's policy: episodes small enough to run several in minutes (the space of
#: ``benchmarks/selfplay.py``), scheduling on, searches only when new data asks for one.
SELFPLAY_POLICY = """stale_draws = 100000
new_data_draws = 60
[selfplay]
episodes_per_day = {episodes}
cpu_seconds_per_day = {cpu_seconds}
origins = 2
horizon = 10
live_draws = 20
min_training = 100
[selfplay.space]
families = ["glibc_rand"]
max_offset = 8
max_skip = 2
window_trials = [8, 8]
trial_budget = [4096, 4096]
scorer_trials = [2, 2]
model_trials = [1, 1]
pool_size = [10, 10]
"""


def selfplay(minutes: float, interval_seconds: float, per_tick: int, episodes: int) -> bool:
    from sqlalchemy import select

    from mimicry.loop.feed import draws_of, feed, load_feed
    from mimicry.store.database import connect
    from mimicry.store.models import (
        DecisionRecord,
        Run,
        SelfplayCandidate,
        SelfplayEpisode,
    )
    from mimicry.store.streams import append, get_stream, stored_values

    cpu_budget = 60.0 * episodes
    rounds = int(minutes * 60 / interval_seconds)
    home = fresh_home()
    path = seeded_stream(home, entropy="noise")
    (home / "watcher.toml").write_text(
        SELFPLAY_POLICY.format(episodes=episodes, cpu_seconds=cpu_budget)
    )
    served = Served(home, interval_seconds)

    def both() -> None:
        feed(path, per_tick)
        append("noise", entropy_draws(per_tick), "soak")

    try:
        if not fed_every_interval(served, rounds, interval_seconds, both):
            return False
        time.sleep(2 * interval_seconds)  # the last tick, and whatever it started, ends
    finally:
        tracebacks = served.stop()
    spec = load_feed(path)
    fed = 300 + rounds * per_tick
    problems: list[str] = []
    counts: dict[str, str] = {}
    with connect(read_only=True) as session:
        intact = list(stored_values(session, get_stream(session, spec.stream))) == draws_of(
            spec, 0, fed
        )
        stored_noise = len(list(stored_values(session, get_stream(session, "noise"))))
        records = session.scalars(select(DecisionRecord)).all()
        for name in (spec.stream, "noise"):
            stream = get_stream(session, name)
            ran = session.scalars(
                select(SelfplayEpisode)
                .where(SelfplayEpisode.stream_id == stream.id)
                .order_by(SelfplayEpisode.id)
            ).all()
            runs = session.scalars(select(Run).where(Run.stream_id == stream.id)).all()
            promoted = session.scalars(
                select(SelfplayCandidate).where(
                    SelfplayCandidate.stream_id == stream.id,
                    SelfplayCandidate.verdict == "promoted",
                )
            ).all()
            spent = 0.0
            for episode in ran:
                if spent >= cpu_budget:
                    problems.append(f"{name}: episode {episode.id} began past the CPU budget")
                spent += episode.cpu_seconds
                if episode.status != "done":
                    problems.append(f"{name}: episode {episode.id} {episode.status}")
                busy = [
                    run.id
                    for run in runs
                    if run.created_at < episode.created_at
                    and (run.finished_at is None or run.finished_at > episode.created_at)
                ]
                if busy:
                    problems.append(f"{name}: episode {episode.id} began during run {busy}")
            if len(ran) > episodes:
                problems.append(f"{name}: {len(ran)} episodes, over {episodes} a day")
            if name == "noise" and promoted:
                problems.append(f"noise: {len(promoted)} promotions")
            counts[name] = (
                f"{len(ran)} episodes ({spent:.0f} CPU-s), {len(runs)} runs, "
                f"{len(promoted)} promoted"
            )
    failed = [r.id for r in records if r.status == "failed"]
    still_open = [r.id for r in records if r.status in ("pending_approval", "approved", "running")]
    explored = any(not text.startswith("0 episodes") for text in counts.values())
    passed = (
        explored
        and not problems
        and intact
        and stored_noise == fed
        and not failed
        and not still_open
        and tracebacks == 0
    )
    print(
        f"selfplay soak {minutes:g} min, a tick every {interval_seconds:g} s, {per_tick} draws "
        f"to each stream a tick, {episodes} episodes a day and {cpu_budget:g} CPU-s a stream: "
        f"{len(records)} decisions; {spec.stream}: {counts[spec.stream]}; noise: "
        f"{counts['noise']}; draws stored intact: {intact and stored_noise == fed}; "
        f"{len(failed)} failed, {len(still_open)} open, {tracebacks} tracebacks; "
        f"{problems or 'no breach'}: {'PASS' if passed else 'FAIL'}"
    )
    return passed


def retrains(count: int) -> bool:
    from prefect.testing.utilities import prefect_test_harness
    from sqlalchemy import func, select

    from flows.watcher import watcher_tick
    from mimicry.loop.feed import feed
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
    parser.add_argument("soak", choices=["idle", "retrains", "sustained", "selfplay"])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--interval-seconds", type=float, default=30.0)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--per-tick", type=int, default=5)
    parser.add_argument("--episodes-per-day", type=int, default=3)
    args = parser.parse_args()
    if args.soak == "idle":
        ok = idle(args.minutes, args.interval_seconds)
    elif args.soak == "retrains":
        ok = retrains(args.count)
    elif args.soak == "selfplay":
        ok = selfplay(args.minutes, args.interval_seconds, args.per_tick, args.episodes_per_day)
    else:
        ok = sustained(args.minutes, args.interval_seconds, args.per_tick)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
