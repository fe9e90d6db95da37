"""Orchestration overhead: one sieve through `mimicry sieve` and through `mimicry run`.

    python benchmarks/orchestration.py [--candidates 268435456] [--offsets 0..63] [--repeats 5]

Workload: xorshift32 in seed mode, a window of 8 draws mod 1000, ``--candidates`` seeds (the
truth among them, behind an unknown number of discarded calls) and every offset in
``--offsets``. Each configuration runs the same search as a whole command, timed from start to
exit (wall clock), ``--repeats`` times, the configurations taking turns; medians are printed.
``mimicry run`` pins everything Step 1 could choose (``--window-trials 0``) and stops after Step 2
(``--no-rank``), so both commands do the same sieve.

Every repeat searches new draws (a new secret seed and discard), stored as a new stream, so no
chunk is ever cached. Each configuration keeps one store for all its repeats, created before the
first is timed (``mimicry db upgrade``): a store is made once per machine, as the kernels are
compiled once (their disk cache is warm for both commands too); the one-off cost of creating a
store is in ``benchmarks/run_breakdown.py``'s "before the sieve" of a fresh store.

Configurations of ``mimicry run`` (flow + Dask + store):

* ``ephemeral``: no Prefect server configured (Prefect's ephemeral API, started per command);
* ``server, N worker(s)``: a running ``prefect server start``, a LocalCluster per run (one
  in-process worker, or N worker processes);
* ``server + cluster``: a running Prefect server and a running Dask cluster
  (``MIMICRY_DASK_ADDRESS``), as on a deployed rig.

Overhead = (run - sieve) / sieve, from the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MIMICRY = str(Path(sys.executable).with_name("mimicry"))
PREFECT = str(Path(sys.executable).with_name("prefect"))


def set_environment(values: dict) -> None:
    """Run on the Dask workers: a bound ``os.environ.update`` would be pickled with a *copy* of
    this process's environment and update that copy."""
    os.environ.update(values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(command: list[str], env: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    return elapsed, json.loads(proc.stdout)


def require_truth(answer: dict, name: str) -> None:
    """Stop the benchmark unless ``answer`` (a command's ``--json``) found the planted seed."""
    if not [s for s in answer["survivors"] if s["p_value"] < 1e-6]:
        raise SystemExit(f"{name}: the truth was not found")


def start_prefect_server(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(1)
    server.kill()
    raise SystemExit("the Prefect server did not start")


def make_draws(draws: Path, candidates: int, offsets: str) -> tuple[int, int]:
    """Write 40 xorshift32 draws from a secret seed below ``candidates``, behind a secret number
    of discarded calls within ``offsets``; returns the seed and the discard."""
    rng = random.Random()
    seed = rng.randrange(candidates)
    discard = rng.randint(*map(int, offsets.split("..")))
    subprocess.run(
        [
            MIMICRY,
            "simulate",
            "--family",
            "xorshift32",
            "--seed",
            str(seed),
            "--count",
            "40",
            "--discard",
            str(discard),
            "--out",
            str(draws),
        ],
        check=True,
    )
    return seed, discard


def create_store(env: dict) -> None:
    """The store of ``env``'s ``MIMICRY_HOME`` or ``MIMICRY_DATABASE_URL``, at the newest schema."""
    subprocess.run([MIMICRY, "db", "upgrade"], env=env, check=True, capture_output=True)


def commands(
    draws: Path, candidates: int, offsets: str, stream: str
) -> tuple[list[str], list[str]]:
    """The same sieve as ``mimicry sieve`` and as ``mimicry run`` (Step 1 pinned, no ranking)."""
    seeds = f"0..{candidates - 1}"
    search = ["--family", "xorshift32", "--seeds", seeds, "--offsets", offsets, "--json"]
    sieve = [MIMICRY, "sieve", str(draws), *search]
    run = [MIMICRY, "run", str(draws), "--stream", stream, *search]
    run += ["--window", "8", "--window-start", "0", "--min-matches", "8", "--constant-skip"]
    run += ["--skip", "0", "--window-trials", "0", "--no-rank"]
    return sieve, run


def workload_arguments(parser: argparse.ArgumentParser, repeats: int) -> None:
    """The workload's flags, shared with ``run_breakdown.py``."""
    parser.add_argument("--candidates", type=int, default=1 << 28)
    parser.add_argument("--offsets", default="0..63")
    parser.add_argument("--repeats", type=int, default=repeats)


def clean_environment() -> dict:
    """This environment without mimicry's settings or a Prefect API: each command gets its own."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_API"))}
    return base | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def workload_line(args: argparse.Namespace) -> str:
    return (
        f"# {os.cpu_count()} cores; xorshift32 seed mode, {args.candidates:,} seeds x offsets "
        f"{args.offsets}; repeats {args.repeats}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workload_arguments(parser, repeats=5)
    parser.add_argument(
        "--only", nargs="*", help="configurations to run (default: all)", default=None
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mimicry-orchestration-"))
    base = clean_environment()
    print(workload_line(args), flush=True)

    server, url = start_prefect_server(work / "prefect-home")
    with_server = {**base, "PREFECT_API_URL": url}
    configurations = {
        "sieve": base,
        "run, ephemeral, 1 worker": base,
        "run, server, 1 worker": {**with_server, "MIMICRY_DASK_WORKERS": "1"},
        "run, server, 2 workers": {**with_server, "MIMICRY_DASK_WORKERS": "2"},
        "run, server + cluster": with_server,
    }
    chosen = [name for name in configurations if not args.only or name in args.only]
    results: dict[str, list[float]] = {name: [] for name in chosen}
    cluster = None
    try:
        if "run, server + cluster" in chosen:
            from distributed import LocalCluster

            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                env={"PREFECT_API_URL": url, "NUMBA_NUM_THREADS": str(os.cpu_count())},
            )
        environments = {}
        for name in chosen:
            home = work / f"home-{name.replace(' ', '_').replace(',', '')}"
            env = {**configurations[name], "MIMICRY_HOME": str(home)}
            if name == "run, server + cluster":
                # The cluster's workers outlive runs: the store reaches them through their
                # environment, as an absolute path in MIMICRY_DATABASE_URL.
                from distributed import Client

                database = f"sqlite:///{home / 'mimicry.db'}"
                env |= {
                    "MIMICRY_DASK_ADDRESS": cluster.scheduler_address,
                    "MIMICRY_DATABASE_URL": database,
                }
                with Client(cluster) as client:
                    client.run(set_environment, {"MIMICRY_DATABASE_URL": database})
            create_store(env)
            environments[name] = env
        # Round-robin over the configurations, so a noisy minute on this shared machine falls on
        # all of them alike rather than on whichever ran then.
        for repeat in range(args.repeats):
            draws = work / f"draws-{repeat}.txt"
            seed, discard = make_draws(draws, args.candidates, args.offsets)
            sieve, run = commands(draws, args.candidates, args.offsets, f"bench-{repeat}")
            print(f"repeat {repeat + 1}: truth seed {seed}, {discard} calls discarded", flush=True)
            for name in chosen:
                seconds, answer = timed(run if name != "sieve" else sieve, environments[name])
                require_truth(answer, name)
                results[name].append(seconds)
                # The sieve's own seconds tell a slow kernel (the machine) from slow bookkeeping.
                print(
                    f"repeat {repeat + 1}: {name:28} {seconds:7.2f} s "
                    f"(sieving {answer['stats']['seconds']:.2f} s)",
                    flush=True,
                )
    finally:
        if cluster is not None:
            cluster.close()
        server.terminate()
        server.wait(30)
    print()
    for name, times in results.items():
        print(
            f"{name:28} median {statistics.median(times):7.2f} s  runs "
            + ", ".join(f"{t:.2f}" for t in times)
        )
    if "sieve" in results:
        direct = statistics.median(results["sieve"])
        print("\n| configuration | median wall (s) | overhead vs sieve |")
        print("|---|---|---|")
        for name, times in results.items():
            median = statistics.median(times)
            print(f"| {name} | {median:.2f} | {100 * (median - direct) / direct:+.1f} % |")
        # Paired by repeat (the configurations take turns, so a repeat's runs share the
        # machine's mood): less noisy than the difference of the medians.
        for name, times in results.items():
            if name == "sieve":
                continue
            pairs = [run / sieve - 1 for run, sieve in zip(times, results["sieve"], strict=True)]
            print(
                f"{name}: paired overhead median {100 * statistics.median(pairs):+.1f} % "
                f"(each repeat: {', '.join(f'{100 * p:+.1f} %' for p in pairs)})"
            )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
