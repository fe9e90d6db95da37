"""Where `mimicry run`'s time goes, against `mimicry sieve` on the same search.

    python benchmarks/run_breakdown.py [--candidates 268435456] [--offsets 0..63] [--repeats 3]

The workload of ``benchmarks/orchestration.py`` (xorshift32 seed mode, the truth inside), with a
running ``prefect server start`` and the default in-process Dask worker. The two commands take
turns on new draws each repeat, in one store created before the first (``--fresh-store``: a new
store for every run, so "before the sieve" includes creating it). Each run's wall clock is cut
into phases from what the system itself recorded, nothing added to the code under test:

* start-up: process start to the flow run's start time in the Prefect API (imports, the CLI, the
  flow run's creation);
* before the sieve: flow start to the first chunk's kernel start (ingest, loading the history,
  the run's row, Step 1, the Dask cluster, submitting the chunk tasks); a chunk's kernel start is
  its ledger row's ``finished_at`` less its ``seconds``;
* kernels: the sum of the ledger's per-chunk ``seconds`` (one kernel runs at a time);
* between chunks: the sieve's span (first kernel start to last chunk finished) less the kernels;
* after the sieve: last chunk finished to the flow run's end (assembly, the stored result, the
  artifacts, closing the run, the engine's exit);
* shutdown: flow run end to process exit.

For `mimicry sieve`: kernels = its ``stats.seconds`` (chunks and assembly); the rest of its wall
clock is start-up and shutdown. CPU seconds (user + system) of each command, from ``wait4``, and
of the Prefect server while it ran, from ``/proc``; and, from ``/proc/stat``, the CPU that the
rest of the machine took meanwhile ("others": busy time less the command and the server) and the
time the hypervisor took from this virtual machine ("steal"), which tell a slow kernel caused by
the neighbours from one caused by the command itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from orchestration import (
    clean_environment,
    commands,
    create_store,
    make_draws,
    require_truth,
    start_prefect_server,
    workload_arguments,
    workload_line,
)

TICKS = os.sysconf("SC_CLK_TCK")
RUN_PHASES = (
    "start-up",
    "before the sieve",
    "kernels",
    "between chunks",
    "after the sieve",
    "shutdown",
)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> tuple[float, float]:
    """Busy and stolen CPU seconds of the whole machine since boot, all cores."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / TICKS, steal / TICKS


def timed_command(command: list[str], env: dict, server_pid: int, work: Path) -> dict:
    """Wall clock (start and end), own CPU and the server's CPU of one command, and its JSON."""
    out, err = work / "stdout", work / "stderr"
    server_before = process_cpu(server_pid)
    busy_before, steal_before = machine_cpu()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.time()
        proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        ended = time.time()
    busy, steal = machine_cpu()
    # Reaped by wait4 (for its rusage), so Popen must be told, or it would wait for it again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.read_text()[-3000:]}")
    answer = json.loads(out.read_text())
    require_truth(answer, command[1])
    cpu = usage.ru_utime + usage.ru_stime
    server_cpu = process_cpu(server_pid) - server_before
    return {
        "started": started,
        "ended": ended,
        "answer": answer,
        "cpu": {
            "cpu": cpu,
            "server cpu": server_cpu,
            "others": busy - busy_before - cpu - server_cpu,
            "steal": steal - steal_before,
        },
    }


def epoch(text: str) -> float:
    """An ISO timestamp (the store's SQLite text, naive in UTC, or the Prefect API's) as seconds
    since 1970."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def flow_run_span(api_url: str, flow_run_id: str) -> tuple[float, float]:
    """Start and end of a flow run, as the Prefect server recorded them."""
    with urllib.request.urlopen(f"{api_url}/flow_runs/{flow_run_id}", timeout=30) as response:
        flow_run = json.load(response)
    return epoch(flow_run["start_time"]), epoch(flow_run["end_time"])


def run_phases(timing: dict, database: Path, api_url: str) -> dict[str, float]:
    """The phases of one ``mimicry run`` (see the module's docstring)."""
    with sqlite3.connect(database) as db:
        (flow_run_id,) = db.execute(
            "SELECT flow_run_id FROM runs WHERE id = ?", (timing["answer"]["run_id"],)
        ).fetchone()
        chunks = [
            (epoch(finished) - seconds, epoch(finished), seconds)
            for finished, seconds in db.execute(
                "SELECT finished_at, seconds FROM chunks WHERE job_key IN "
                "(SELECT job_key FROM sieve_jobs WHERE run_id = ?)",
                (timing["answer"]["run_id"],),
            )
        ]
    flow_start, flow_end = flow_run_span(api_url, flow_run_id)
    first_kernel = min(start for start, _, _ in chunks)
    last_chunk = max(end for _, end, _ in chunks)
    kernels = sum(seconds for _, _, seconds in chunks)
    return {
        "start-up": flow_start - timing["started"],
        "before the sieve": first_kernel - flow_start,
        "kernels": kernels,
        "between chunks": last_chunk - first_kernel - kernels,
        "after the sieve": flow_end - last_chunk,
        "shutdown": timing["ended"] - flow_end,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workload_arguments(parser, repeats=3)
    parser.add_argument("--fresh-store", action="store_true", help="a new store for every run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mimicry-breakdown-"))
    base = clean_environment()
    print(
        workload_line(args)
        + ("; a new store for every run" if args.fresh_store else "; one store"),
        flush=True,
    )
    server, url = start_prefect_server(work / "prefect-home")
    rows: dict[str, list[dict[str, float]]] = {"sieve": [], "run": []}
    try:
        home = work / "home"
        if not args.fresh_store:
            create_store({**base, "MIMICRY_HOME": str(home)})
        for repeat in range(args.repeats):
            if args.fresh_store:
                home = work / f"home-{repeat}"
            draws = work / f"draws-{repeat}.txt"
            make_draws(draws, args.candidates, args.offsets)
            sieve, run = commands(draws, args.candidates, args.offsets, f"bench-{repeat}")
            timing = timed_command(sieve, {**base, "MIMICRY_HOME": str(home)}, server.pid, work)
            wall = timing["ended"] - timing["started"]
            kernels = timing["answer"]["stats"]["seconds"]
            rows["sieve"].append(
                {
                    "wall": wall,
                    "start-up": wall - kernels,
                    "kernels": kernels,
                }
                | timing["cpu"]
            )
            env = {**base, "MIMICRY_HOME": str(home), "PREFECT_API_URL": url}
            timing = timed_command(run, env, server.pid, work)
            phases = run_phases(timing, home / "mimicry.db", url)
            rows["run"].append(
                {"wall": timing["ended"] - timing["started"]} | phases | timing["cpu"]
            )
            print(
                f"repeat {repeat + 1}: sieve {rows['sieve'][-1]['wall']:.2f} s, "
                f"run {rows['run'][-1]['wall']:.2f} s",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)

    columns = ("wall", *RUN_PHASES, "cpu", "server cpu", "others", "steal")
    print(
        f"\nmedians of {args.repeats} repeats (s); for `mimicry sieve`, start-up is all but kernels"
    )
    print("| command | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for command, measured in rows.items():
        cells = [
            f"{statistics.median(row[name] for row in measured):.2f}"
            if name in measured[0]
            else "—"
            for name in columns
        ]
        print(f"| `mimicry {command}` | " + " | ".join(cells) + " |")
    print("\nevery repeat (s):")
    for command, measured in rows.items():
        for repeat, row in enumerate(measured, 1):
            print(
                f"  {command:5} {repeat}: "
                + ", ".join(f"{name} {value:.2f}" for name, value in row.items())
            )


if __name__ == "__main__":
    main()
