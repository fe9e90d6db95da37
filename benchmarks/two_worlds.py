"""The two worlds of issue 4, measured through the whole pipeline, and its time per step.

    python benchmarks/two_worlds.py [--draws 2000] [--seed-bits 24] [--evaluate 200]
                                    [--window 12] [--min-matches 6]

* Generator world: an mt19937 history (seed hidden among 2^seed-bits) in which 15 % of the draws
  were replaced by random values. The pipeline's rank of the true hypothesis, its held-out test
  (pool hits against K/M, binomial p), its signal.
* No-generator world: draws from OS entropy (``secrets.randbelow``), the same pipeline.

In both, ``--evaluate`` later draws of the same source (the generator's continuation with the
same noise; more entropy) are then ingested and each scored against the prediction for it.

Both worlds are searched with ``--window 12 --min-matches 6``: Step 1 sieves only the first
2^16 seeds per trial, so with the truth hidden among 2^24 it cannot see the noise and would fall
back to an exact 8-draw window, which the noise breaks in about 3 histories out of 4 (0.85^8 of
them keep 8 clean draws). Pass ``--min-matches 0`` to leave both choices to Step 1.

Each world is one ``mimicry run --json`` in a fresh store on Prefect's ephemeral API, timed from
start to exit, with the per-step wall times the flow reports; then what each training-health
check saw on each world's winner (``mimicry health --run R --all --json``; the final fit's
finding, or a fold's where the final fit has none).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scipy.stats import binom

MIMICRY = str(Path(sys.executable).with_name("mimicry"))


def run_pipeline(path: Path, home: Path, seed_bits: int, flags: list[str]) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_API"))}
    env["MIMICRY_HOME"] = str(home)
    started = time.perf_counter()
    proc = subprocess.run(
        [
            MIMICRY,
            "run",
            str(path),
            "--stream",
            path.stem,
            "--family",
            "mt19937",
            "--seeds",
            f"0..{(1 << seed_bits) - 1}",
            *flags,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"mimicry run failed:\n{proc.stderr[-4000:]}")
    return elapsed, json.loads(proc.stdout)


def evaluate(home: Path, path: Path, later: list[int]) -> dict:
    """``mimicry ingest`` of the history plus ``later`` draws: each new draw is scored against
    the prediction for its position, made from exactly the draws before it."""
    longer = path.with_name(f"{path.stem}-later.txt")
    longer.write_text(path.read_text() + "".join(f"{v}\n" for v in later))
    env = {**os.environ, "MIMICRY_HOME": str(home)}
    proc = subprocess.run(
        [MIMICRY, "ingest", str(longer), "--stream", path.stem, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    evaluations = json.loads(proc.stdout)["evaluations"]
    if len(evaluations) != len(later):
        raise SystemExit(f"{len(evaluations)} of {len(later)} new draws were scored")
    return evaluations[-1]["rolling"]


def winner_health(home: Path, run_id: str) -> dict[str, str]:
    """What each training-health check saw on the run's winner, final fit first
    (``mimicry health --run R --all --json``): check -> "severity: sentence" (issue 23 §7)."""
    env = {**os.environ, "MIMICRY_HOME": str(home)}
    proc = subprocess.run(
        [MIMICRY, "health", "--run", run_id, "--all", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    (winner,) = [m for m in json.loads(proc.stdout)["models"] if m["chosen"]]
    seen: dict[str, str] = {"model": f"{winner['model_type']}: {winner['health']}"}
    for fit in winner["fits"]:
        for finding in fit["findings"]:
            # The final fit's finding, else the worst fold's.
            if finding["check"] not in seen or fit["fit"] == "final":
                seen[finding["check"]] = (
                    f"{fit['fit']}: {finding['severity']}: {finding['sentence']}"
                )
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed-bits", type=int, default=24)
    parser.add_argument("--evaluate", type=int, default=200)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--min-matches", type=int, default=6)
    args = parser.parse_args()
    flags = []
    if args.min_matches:
        flags = ["--window", str(args.window), "--min-matches", str(args.min_matches)]
    work = Path(tempfile.mkdtemp(prefix="mimicry-worlds-"))
    seed = secrets.randbelow(1 << args.seed_bits)
    rng = random.Random(seed)
    clean = subprocess.run(
        [
            MIMICRY,
            "simulate",
            "--family",
            "mt19937",
            "--seed",
            str(seed),
            "--count",
            str(args.draws + args.evaluate),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    noisy = [rng.randrange(1000) if rng.random() < 0.15 else int(v) for v in clean]
    entropy = [secrets.randbelow(1000) for _ in range(args.draws + args.evaluate)]
    later = {"generator": noisy[args.draws :], "entropy": entropy[args.draws :]}
    (work / "generator.txt").write_text("".join(f"{v}\n" for v in noisy[: args.draws]))
    (work / "entropy.txt").write_text("".join(f"{v}\n" for v in entropy[: args.draws]))
    print(
        f"# {os.cpu_count()} cores; {args.draws} draws; mt19937 seed hidden among "
        f"2^{args.seed_bits}; 15 % of its draws replaced; flags {' '.join(flags) or '(none)'}",
        flush=True,
    )
    rows, healths = [], {}
    for world in ("generator", "entropy"):
        home = work / world
        seconds, answer = run_pipeline(work / f"{world}.txt", home, args.seed_bits, flags)
        ranking = [r["hypothesis"] for r in answer.get("ranking", [])]
        truth_rank = next(
            (i + 1 for i, h in enumerate(ranking) if h.startswith(f"mt19937 seed {seed} ")),
            None,
        )
        test = answer["model"]["test"]
        row = {
            "world": world,
            "signal": answer["signal"],
            "winner": answer["model"]["winner"],
            "truth rank": truth_rank if world == "generator" else "-",
            "test hits": f"{test['hits']}/{test['draws']}",
            "test hit rate": f"{test['hit_rate']:.3f}",
            "chance": f"{test['pool_size'] / test['modulus']:.3f}",
            "test p": f"{test['p_value']:.3g}",
            "null p": f"{answer['model']['null_p_value']:.3g}",
            "seconds": f"{seconds:.1f}",
        }
        if args.evaluate:
            rolling = evaluate(home, work / f"{world}.txt", later[world])
            low, high = binom.interval(0.95, rolling["evaluated"], rolling["chance"])
            row["evaluated"] = (
                f"{rolling['hits']}/{rolling['evaluated']} hits (95 % chance interval "
                f"{low:.0f}–{high:.0f}), p = {rolling['binomial_p']:.3g}"
            )
        rows.append(row)
        healths[world] = winner_health(home, answer["run_id"])
        print(json.dumps(row), flush=True)
        print(
            "  steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in answer["timings"].items()),
            flush=True,
        )
    columns = list(rows[0])
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    print("\n| training health of the winner | generator | entropy |\n|---|---|---|")
    for check in healths["generator"] | healths["entropy"]:
        cells = [healths[w].get(check, "-").replace("|", "/") for w in ("generator", "entropy")]
        print(f"| {check} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
