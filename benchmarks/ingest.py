"""Ingest of a long draw file: peak memory and speed on SQLite and PostgreSQL (issue 10 §1).

    python benchmarks/ingest.py [--draws 50000000] [--runs 3] [--stores sqlite,postgresql]
                                [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]
                                [--format txt|json] [--code LABEL=DIR ...]

Writes a file of ``--draws`` draws below 1000 (seeded): plain text, one a line, or with
``--format json`` one JSON list on one line as ``json.dump`` writes it. Then for each store and
run:

* ``mimicry ingest`` of the file into a new store (SQLite: a fresh ``MIMICRY_HOME``;
  PostgreSQL: a fresh database on the server, dropped afterwards), timed from start to exit,
  with the command's peak RSS (``wait4``'s ``ru_maxrss`` of that process alone);
* the same file ingested again (every draw compared with the store, none written);
* the stream loaded back for a run (``mimicry.store.records.load_history`` in a fresh process);
* beside them, the database's own bulk loader on the same file into a table keyed by position
  (``sqlite3``'s ``.import`` into a rowid table, whose row id is the position; ``psql``'s
  ``\\copy`` into a table with a ``bigserial`` primary key): what a loader written in the
  database itself reaches, with no validation (plain text only: the loaders read lines).

``--code LABEL=DIR`` (repeatable) measures the code of other source trees (checkouts of this
repository; ``DIR`` goes first on ``PYTHONPATH``) instead of this one, each store and run taking
every code in turn, so that two versions are compared on the same file in one run.

Prints one line per measurement and a Markdown table of the medians.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

MIMICRY = str(Path(sys.executable).with_name("mimicry"))
MODULUS = 1000
LOAD = (
    "import sys; from mimicry.store.records import load_history; "
    "history = load_history('bench'); assert len(history) == int(sys.argv[1])"
)


def write_file(path: Path, draws: int, form: str) -> None:
    rng = random.Random(20261129)
    block = 1_000_000
    # json.dump's layout: one line, ", " between the items.
    separator, start_text, end_text = ("\n", "", "\n") if form == "txt" else (", ", "[", "]\n")
    with path.open("w") as out:
        out.write(start_text)
        for start in range(0, draws, block):
            count = min(block, draws - start)
            if start:
                out.write(separator)
            out.write(separator.join(str(rng.randrange(MODULUS)) for _ in range(count)))
        out.write(end_text)


def measured(command: list[str], env: dict[str, str], stdin: Path | None = None):
    """Wall seconds and peak RSS (MiB) of ``command`` (a process of its own)."""
    started = time.perf_counter()
    with open(stdin or os.devnull) as source:
        process = subprocess.Popen(
            command, env=env, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def base_env(code: Path | None = None) -> dict[str, str]:
    """This process's environment without mimicry's settings; ``code``: a source tree whose
    packages the commands import instead of this one's (``--code``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_API"))}
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    return env


class SqliteStore:
    name = "SQLite"

    def __init__(self, work: Path, code: Path | None) -> None:
        self.home = work / f"home-{uuid.uuid4().hex[:8]}"
        self.code = code

    def env(self) -> dict[str, str]:
        return base_env(self.code) | {"MIMICRY_HOME": str(self.home)}

    def peer(self, path: Path) -> tuple[float, float]:
        database = self.home.with_suffix(".peer.db")
        script = self.home.with_suffix(".peer.sql")
        script.write_text(
            "PRAGMA journal_mode=WAL;\nCREATE TABLE draws (value INTEGER NOT NULL);\n"
            f".import {path} draws\n"
        )
        result = measured(["sqlite3", str(database)], base_env(), stdin=script)
        database.unlink()
        return result

    def drop(self) -> None:
        subprocess.run(["rm", "-rf", str(self.home)], check=True)


class PostgresStore:
    name = "PostgreSQL"

    def __init__(self, server: str, code: Path | None) -> None:
        self.server = server
        self.code = code
        self.database = f"mimicry_bench_{uuid.uuid4().hex[:8]}"
        self.admin(f"CREATE DATABASE {self.database}")

    def admin(self, sql: str) -> None:
        subprocess.run(
            ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql],
            check=True,
        )

    def env(self) -> dict[str, str]:
        return base_env(self.code) | {"MIMICRY_DATABASE_URL": f"{self.server}/{self.database}"}

    def peer(self, path: Path) -> tuple[float, float]:
        sql = (
            "CREATE TABLE peer_draws (position BIGSERIAL PRIMARY KEY, value INTEGER NOT NULL);"
            f"\\copy peer_draws (value) FROM '{path}'"
        )
        command = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", self.database]
        return measured([*command, "-c", sql.split(";")[0], "-c", sql.split(";")[1]], base_env())

    def drop(self) -> None:
        self.admin(f"DROP DATABASE {self.database}")


def measure_store(store, path: Path, draws: int):
    """``(step, (seconds, peak RSS))`` for each step, in order, on one new store."""
    ingest = [MIMICRY, "ingest", str(path), "--stream", "bench", "--json"]
    yield "ingest", measured(ingest, store.env())
    yield "ingest again", measured(ingest, store.env())
    yield "load for a run", measured([sys.executable, "-c", LOAD, str(draws)], store.env())
    if path.suffix == ".txt":
        yield "database's own loader", store.peer(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=50_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--format", choices=("txt", "json"), default="txt")
    parser.add_argument("--code", action="append", default=[], metavar="LABEL=DIR")
    args = parser.parse_args()
    codes = [
        (label, Path(folder).resolve())
        for label, _, folder in (code.partition("=") for code in args.code)
    ] or [("", None)]
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as folder:
        work = Path(folder)
        path = work / f"draws.{args.format}"
        started = time.perf_counter()
        write_file(path, args.draws, args.format)
        print(
            f"{path.stat().st_size / 2**20:.0f} MiB file of {args.draws:,} draws written in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        figures: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
        for run in range(args.runs):
            for kind in args.stores.split(","):
                for label, code in codes:
                    if kind == "sqlite":
                        store = SqliteStore(work, code)
                    else:
                        store = PostgresStore(args.postgres, code)
                    try:
                        for step, (seconds, rss) in measure_store(store, path, args.draws):
                            figures.setdefault((label, store.name, step), []).append((seconds, rss))
                            speed = args.draws / seconds / 1e6
                            print(
                                f"run {run + 1} {label} {store.name:10s} {step:22s}"
                                f" {seconds:7.1f} s {speed:5.2f} M draws/s"
                                f"  peak RSS {rss:6.0f} MiB",
                                flush=True,
                            )
                    finally:
                        store.drop()
    print(f"\nMedians of {args.runs} runs, {args.draws:,} draws, {args.format}:\n")
    print("| code | store | step | seconds | M draws/s | peak RSS (MiB) |")
    print("|---|---|---|---:|---:|---:|")
    for (label, name, step), values in figures.items():
        seconds = statistics.median(v[0] for v in values)
        rss = statistics.median(v[1] for v in values)
        print(
            f"| {label or 'this'} | {name} | {step} | {seconds:.1f} | "
            f"{args.draws / seconds / 1e6:.2f} | {rss:.0f} |"
        )


if __name__ == "__main__":
    main()
