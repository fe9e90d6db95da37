"""The autonomous loop measured in its worlds (issue 12 §4): prints one table row per world.

    python benchmarks/loop.py [--worlds reseed entropy] [--change 400] [--per-tick 5]
                              [--advisor heuristic|random]

* ``reseed``: C ``rand() % 1000`` (glibc through the registry's twin) seeded with A, re-seeded
  with B at ``--change``; the first 300 draws make the initial search, the rest arrive
  ``--per-tick`` at a time, one WATCHER tick each, until 100 draws past the change. Reports the
  draws from the change to its detection, to the search after it, to the first hit again, and
  to the ranking of the new segment.
* ``entropy``: ``secrets.randbelow(1000)`` arriving the same way for 400 draws: searches made
  against the policy's budget, any signal, and the hit rate against the binomial interval of K/M.

Each world runs in a fresh ``MIMICRY_HOME`` (SQLite) on a temporary Prefect server, the searches
over one family and seeds 0..4095 (the worlds' seeds are drawn there), the advisor heuristic
unless ``MIMICRY_LLM_BACKEND`` says otherwise; ``--advisor random``: a bad advisor, random valid
advice from an HTTP server on 127.0.0.1 (``tests/random_advisor.py``), the same worlds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path


def setup_home() -> str:
    home = tempfile.mkdtemp(prefix="mimicry-loop-")
    os.environ["MIMICRY_HOME"] = home
    os.environ.pop("MIMICRY_DATABASE_URL", None)
    os.environ.setdefault("MIMICRY_LLM_BACKEND", "heuristic")
    from mimicry.settings import get_settings

    get_settings.cache_clear()
    return home


def search_request(stream: str):
    from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings

    return PipelineRequest(
        stream=stream,
        families=("glibc_rand",),
        sieve=SieveSettings(seeds=(0, 4095)),
        window_trials=8,
        trial_budget=4096,
        ranking=RankingSettings(
            scorer_trials=4, model_trials=1, permutations=19, decoys=120, folds=5
        ),
    )


def reseed_world(change: int, per_tick: int) -> dict:
    from flows.pipeline import pipeline
    from flows.watcher import watcher_tick
    from mimicry.loop.feed import FeedSpec, Reseed, feed, save_feed
    from mimicry.store.database import connect
    from mimicry.store.decisions import list_decisions
    from mimicry.store.predictions import run_scores

    home = Path(setup_home())
    path = home / "feed.json"
    first, second = 1 + secrets.randbelow(4000), 1 + secrets.randbelow(4000)
    save_feed(
        path,
        FeedSpec(
            stream="pick3",
            family="glibc_rand",
            seeds=[Reseed(position=0, seed=first), Reseed(position=change, seed=second)],
        ),
    )
    feed(path, 300)
    pipeline(search_request("pick3"))
    policy = home / "watcher.toml"
    policy.write_text("stale_draws = 100000\n")
    started, ticks = time.perf_counter(), 0
    while True:
        feed(path, per_tick)
        watcher_tick(policy_file=str(policy))
        ticks += 1
        with connect(read_only=True) as session:
            draws = list_decisions(session, limit=1)[0].draws
        if draws >= change + 100:
            break
    with connect(read_only=True) as session:
        records = list(reversed(list_decisions(session, limit=10_000)))
        detected = next(
            (d.draws for d in records if any(t["name"] == "regime_shift" for t in d.triggers)),
            None,
        )
        research = next((d for d in records if d.action == "research" and d.status == "done"), None)
        ranked = next(
            (d.draws for d in records if d.action == "retrain" and d.status == "done"), None
        )
        first_hit = research and next(
            (at for at, hit in run_scores(session, research.run_id) if hit and at >= change),
            None,
        )
    after = lambda n: "-" if n is None else str(n - change)  # noqa: E731
    return {
        "world": f"reseed at {change}",
        "ticks": ticks,
        "seconds": round(time.perf_counter() - started),
        "to detection": after(detected),
        "to search": after(research.draws if research else None),
        "to first hit": after(first_hit),
        "to ranking": after(ranked),
    }


def entropy_world(per_tick: int) -> dict:
    from scipy.stats import binom
    from sqlalchemy import select

    from flows.pipeline import pipeline
    from flows.watcher import watcher_tick
    from mimicry.store.database import connect
    from mimicry.store.decisions import list_decisions
    from mimicry.store.models import Evaluation, Run
    from mimicry.store.streams import append_draws
    from watcher.policy import Policy

    home = Path(setup_home())
    with connect() as session:
        append_draws(session, "noise", [secrets.randbelow(1000) for _ in range(300)], 1000, "os")
    pipeline(search_request("noise"))
    policy = home / "watcher.toml"
    policy.write_text("new_data_draws = 100\n")
    started = time.perf_counter()
    for _ in range(400 // per_tick):
        with connect() as session:
            values = [secrets.randbelow(1000) for _ in range(per_tick)]
            append_draws(session, "noise", values, 1000, "os")
        watcher_tick(policy_file=str(policy))
    with connect(read_only=True) as session:
        records = list_decisions(session, limit=10_000)
        searches = sum(d.action == "research" and d.status == "done" for d in records)
        signals = [(r.summary or {}).get("signal") for r in session.scalars(select(Run))]
        hits = list(session.scalars(select(Evaluation.hit)))
    low, high = binom.ppf(0.0005, len(hits), 0.01), binom.ppf(0.9995, len(hits), 0.01)
    return {
        "world": "entropy",
        "ticks": 400 // per_tick,
        "seconds": round(time.perf_counter() - started),
        "searches (budget/day)": f"{searches} ({Policy().searches_per_day})",
        "signal runs": sum(s == "signal" for s in signals),
        "hits": f"{sum(hits)} of {len(hits)} (99.9 % chance interval {low:.0f}-{high:.0f})",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worlds", nargs="+", default=["reseed", "entropy"])
    parser.add_argument("--change", type=int, default=400)
    parser.add_argument("--per-tick", type=int, default=5)
    parser.add_argument("--advisor", choices=["heuristic", "random"], default="heuristic")
    args = parser.parse_args()
    # Prefect's telemetry heartbeat logs a traceback when two servers share its database.
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    import contextlib
    import sys

    from prefect.testing.utilities import prefect_test_harness

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.random_advisor import random_advisor

    rows = []
    with prefect_test_harness(server_startup_timeout=300):
        for world in args.worlds:
            with random_advisor() if args.advisor == "random" else contextlib.nullcontext():
                if world == "reseed":
                    row = reseed_world(args.change, args.per_tick)
                else:
                    row = entropy_world(args.per_tick)
            rows.append({"advisor": args.advisor} | row)
            print(rows[-1], flush=True)
    for row in rows:
        print("| " + " | ".join(f"{k}: {v}" for k, v in row.items()) + " |")


if __name__ == "__main__":
    main()
