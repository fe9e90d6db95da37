"""Selfplay measured (issue 24 §4; docs/design.md §21): worlds a default run misses, the
entropy world, a world the default already finds, and a demotion.

    python benchmarks/selfplay.py [--episodes 8] [--entropy-episodes 50] [--live 40]
                                  [--worlds glibc,cpython,cpp] [--more-worlds K]
                                  [--world RUNTIME:SEED:OFFSET:SKIP ...]

* **Findable but missed**: draws made by a real runtime (glibc ``rand()`` through ctypes,
  CPython's ``random.Random(s).randrange``, C++ ``std::mt19937`` compiled with g++), seeded in
  range, observed after several discarded calls with a constant skip, a fifth of them replaced
  by noise. A default ``mimicry run`` (one family, the seed range, nothing else) answers
  ``no_signal``. Then ``mimicry selfplay --episodes N`` until a promotion: episodes and
  CPU-seconds to it; then ``--live`` later draws, fed one by one as ``mimicry evaluate --draw``
  feeds them, scored against the champion's predictions: the live hit rate beside K/M.
  ``--more-worlds K`` adds K worlds per runtime whose seed, offset (1 to 16) and skip (1 to 3)
  are drawn from the OS's entropy and printed: the product is not tuned to the three above.
  ``--world glibc:358:14:1`` measures a printed one again.
* **Entropy**: OS-entropy draws, ``--entropy-episodes`` episodes: promotions (must be 0) and the
  smallest corrected p-value seen (a candidate's p over its spent level, times alpha).
* **Already optimal**: the glibc world without the offset and skip: the default finds it; any
  promotion and its live hit rate.
* **Demotion**: after the glibc world's promotion, the generator is re-seeded: draws fed until
  the arbiter demotes the champion (``watcher/tick.py: arbiter``), counted.

Each world has its own store (a fresh ``MIMICRY_HOME``) and the policy printed below.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIMICRY = str(Path(sys.executable).with_name("mimicry"))
MODULUS, SEEDS, NOISE = 1000, 4096, 0.2
POLICY = """
[selfplay]
origins = 4
horizon = 10
live_draws = 20
min_training = 100
alpha = 0.01
min_effect = 0.2
[selfplay.space]
families = ["{family}"]
max_offset = 16
max_skip = 3
window_trials = [8, 16]
trial_budget = [4096, 4096]
scorer_trials = [2, 4]
model_trials = [1, 2]
pool_size = [10, 10]
"""
BASE = [
    "--seeds", f"0..{SEEDS - 1}", "--model-type", "lightgbm", "--model-trials", "1",
    "--window-trials", "8", "--trial-budget", "4096",
]  # fmt: skip
CPP = r"""
#include <iostream>
#include <random>
int main(int argc, char** argv) {
    std::mt19937 g(std::stoul(argv[1]));
    long n = std::stol(argv[2]);
    for (long i = 0; i < n; ++i) std::cout << g() << '\n';
}
"""


def glibc_words(seed: int, count: int) -> list[int]:
    lib = ctypes.CDLL(ctypes.util.find_library("c"))
    lib.rand.restype = ctypes.c_int
    lib.srand(seed)
    return [lib.rand() for _ in range(count)]


def cpp_words(seed: int, count: int, workdir: Path) -> list[int]:
    binary = workdir / "mt"
    if not binary.exists():
        (workdir / "mt.cpp").write_text(CPP)
        subprocess.run(["g++", "-O2", "-o", str(binary), str(workdir / "mt.cpp")], check=True)
    out = subprocess.run([str(binary), str(seed), str(count)], capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


class World:
    """A generator observed after ``offset`` calls, every ``skip + 1``-th call, with noise."""

    def __init__(self, name: str, family: str, seed: int, offset: int, skip: int, workdir: Path):
        self.name, self.family, self.seed = name, family, seed
        self.offset, self.skip, self.workdir = offset, skip, workdir

    def draws(self, count: int, seed: int | None = None) -> list[int]:
        seed = self.seed if seed is None else seed
        calls = self.offset + count * (self.skip + 1)
        if self.family == "glibc_rand":
            values = [w % MODULUS for w in glibc_words(seed, calls)]
        elif self.family == "python_random":
            generator = random.Random(seed)  # CPython's own Mersenne Twister and randrange
            values = [generator.randrange(MODULUS) for _ in range(calls)]
        else:
            values = [w % MODULUS for w in cpp_words(seed, calls, self.workdir)]
        observed = values[self.offset :: self.skip + 1][:count]
        rng = np.random.default_rng(seed)
        noisy = rng.random(count) < NOISE
        return [
            int(rng.integers(MODULUS)) if n else v for v, n in zip(observed, noisy, strict=True)
        ]

    @property
    def projection(self) -> str:
        return "python_randrange" if self.family == "python_random" else "mod"


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_API"))}
    env["MIMICRY_HOME"] = str(home)
    return subprocess.run([MIMICRY, *args], env=env, capture_output=True, text=True)


def json_of(proc: subprocess.CompletedProcess[str]) -> dict:
    if proc.returncode != 0:
        raise SystemExit(f"{proc.args[1]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def start(world: World, home: Path, draws: list[int]) -> dict:
    path = home.parent / f"{world.name}.txt"
    path.write_text("\n".join(map(str, draws)) + "\n")
    (home.parent / "policy.toml").write_text(POLICY.format(family=world.family))
    return json_of(
        cli(home, "run", str(path), "--stream", world.name, "--family", world.family,
            "--projection", world.projection, *BASE, "--json")
    )  # fmt: skip


def explore(world: World, home: Path, episodes: int) -> dict:
    return json_of(
        cli(home, "selfplay", "--stream", world.name, "--episodes", str(episodes), "--policy",
            str(home.parent / "policy.toml"), "--json")
    )  # fmt: skip


def live(world: World, home: Path, values: list[int], demote: bool = False) -> tuple[list, str]:
    """Feed ``values`` draw by draw (as ``mimicry evaluate --draw`` does) in this process;
    the hits, and the arbiter's words when it demoted (with ``demote``)."""
    os.environ["MIMICRY_HOME"] = str(home)
    from mimicry.settings import get_settings

    get_settings.cache_clear()
    from mimicry.loop.evaluation import evaluate_stream
    from mimicry.store.streams import append
    from watcher.policy import load_policy
    from watcher.tick import arbiter

    policy = load_policy(home.parent / "policy.toml")
    hits, demoted = [], ""
    for value in values:
        append(world.name, [value], "benchmark")
        scored, _ = evaluate_stream(world.name, 10)
        hits += [s.hit for s in scored]
        if demote and not demoted:
            demoted = arbiter(world.name, policy) or ""
            if demoted:
                break
    return hits, demoted


def findable(
    world: World,
    episodes: int,
    live_count: int,
    root: Path,
    demote: bool = False,
    beside_default: bool = False,
) -> dict:
    home = root / world.name / "home"
    home.parent.mkdir(parents=True)
    history = world.draws(200 + live_count)
    default_hits = None
    if beside_default:
        # The same history and live draws in a store of its own, never explored: the live
        # hits of the default configuration, beside the champion's.
        alone = root / f"{world.name}-default" / "home"
        alone.parent.mkdir(parents=True)
        start(world, alone, history[:200])
        default_hits = sum(live(world, alone, history[200:])[0])
    first = start(world, home, history[:200])
    started = time.perf_counter()
    answer = explore(world, home, episodes)
    wall = time.perf_counter() - started
    row = {
        "world": world.name,
        "default": first["signal"],
        "episodes": len(answer["episodes"]),
        "cpu_seconds": round(sum(e["cpu_seconds"] for e in answer["episodes"]), 1),
        "wall_seconds": round(wall, 1),
        "promoted": answer["promoted"] is not None,
        "verdicts": [e["verdict"] for e in answer["episodes"]],
    }
    if default_hits is not None:
        row["default_live_hits"] = default_hits
    if answer["promoted"] or beside_default:
        hits, _ = live(world, home, history[200:])
        row |= {"live_hits": sum(hits), "live_draws": len(hits)}
        if demote:
            # The generator is re-seeded: its draws no longer follow the champion's hypothesis.
            changed = world.draws(200, seed=world.seed + 1)
            hits, demoted = live(world, home, changed, demote=True)
            row |= {"demoted_after": len(hits) if demoted else None, "demotion": demoted}
    return row


def entropy(episodes: int, root: Path) -> dict:
    home = root / "entropy" / "home"
    home.parent.mkdir(parents=True)
    world = World("entropy", "glibc_rand", 0, 0, 0, root)
    draws = [int.from_bytes(os.urandom(4), "little") % MODULUS for _ in range(200)]
    start(world, home, draws)
    answer = explore(world, home, episodes)
    tested = [e for e in answer["episodes"] if e.get("gate")]
    corrected = [min(1.0, e["p_value"] / e["gate"]["level"] * 0.01) for e in tested]
    return {
        "world": "entropy",
        "episodes": len(answer["episodes"]),
        "promotions": sum(e["verdict"] == "promoted" for e in answer["episodes"]),
        "tested_by_the_gate": len(tested),
        "smallest_corrected_p": min(corrected, default=None),
        "smallest_raw_p": min((e["p_value"] for e in tested), default=None),
        "cpu_seconds": round(sum(e["cpu_seconds"] for e in answer["episodes"]), 1),
        "verdicts": {v: [e["verdict"] for e in answer["episodes"]].count(v)
                     for v in {e["verdict"] for e in answer["episodes"]}},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--entropy-episodes", type=int, default=50)
    parser.add_argument("--live", type=int, default=40)
    parser.add_argument("--worlds", default="glibc,cpython,cpp")
    parser.add_argument("--skip-entropy", action="store_true")
    parser.add_argument("--optimal", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--more-worlds", type=int, default=0)
    parser.add_argument("--world", action="append", default=[])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mimicry-selfplay-"))
    print(f"policy (each world's [selfplay.space] names its family):{POLICY}")
    worlds = {
        "glibc": World("glibc", "glibc_rand", 3071, 5, 1, root),
        "cpython": World("cpython", "python_random", 1177, 3, 2, root),
        "cpp": World("cpp", "mt19937", 2024, 7, 1, root),
    }
    drawn = random.SystemRandom()
    for index in range(1, args.more_worlds + 1):
        for name, world in list(worlds.items())[:3]:
            seed, offset, skip = drawn.randrange(SEEDS), drawn.randint(1, 16), drawn.randint(1, 3)
            worlds[f"{name}-{index}"] = World(
                f"{name}-{index}", world.family, seed, offset, skip, root
            )
    for spec in args.world:
        runtime, seed, offset, skip = spec.split(":")
        name = f"{runtime}-{seed}"
        worlds[name] = World(name, worlds[runtime].family, int(seed), int(offset), int(skip), root)
    rows = []
    chosen = list(filter(None, args.worlds.split(",")))
    chosen += [n for n in worlds if "-" in n]
    for name in chosen:
        world = worlds[name]
        row = findable(world, args.episodes, args.live, root, demote=name == "glibc")
        row |= {"seed": world.seed, "offset": world.offset, "skip": world.skip}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.optimal:
        # The default already finds it (no offset, no skip): a promotion must not make the
        # live predictions worse.
        optimal = World("optimal", "glibc_rand", 911, 0, 0, root)
        row = findable(optimal, 4, args.live, root, beside_default=True)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not args.skip_entropy:
        row = entropy(args.entropy_episodes, root)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| world | default | episodes | CPU-s | promoted | live hits (chance 0.01) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        if row["world"] == "entropy":
            smallest = row["smallest_corrected_p"]
            print(f"| entropy | - | {row['episodes']} | {row['cpu_seconds']} | "
                  f"{row['promotions']} (smallest corrected p {smallest}) | - |")  # fmt: skip
            continue
        hits = f"{row['live_hits']}/{row['live_draws']}" if "live_hits" in row else "-"
        if "default_live_hits" in row:
            hits += f" (the default alone: {row['default_live_hits']}/{row['live_draws']})"
        if row.get("demoted_after"):
            hits += f"; re-seeded: demoted after {row['demoted_after']} draws"
        world = row["world"]
        if "seed" in row:
            world += f" (seed {row['seed']}, offset {row['offset']}, skip {row['skip']})"
        print(f"| {world} | {row['default']} | {row['episodes']} | {row['cpu_seconds']} "
              f"| {row['promoted']} | {hits} |")  # fmt: skip


if __name__ == "__main__":
    main()
