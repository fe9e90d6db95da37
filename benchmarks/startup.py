"""Whole-process time and peak memory of the commands that load no kernels, beside randcrack.

    python benchmarks/startup.py [--repeat 5] [--baseline SOURCE_TREE]

Each repetition runs every command once, in turn (so all meet the same load), as a fresh
process, and reads its peak resident memory from ``getrusage``: ``mimicry recover`` on 624 CPython
``getrandbits(32)`` words, ``simulate``, ``families`` and ``--help``; randcrack (installed into a
scratch folder by pip when it is not importable) submitting the same 624 words and predicting
the next ten. ``--baseline`` runs the same commands from another source tree as well (an older
checkout: ``git worktree add /tmp/before REV``), through ``PYTHONPATH``, in the same turns.
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
from pathlib import Path

RANDCRACK = """
import sys
from randcrack import RandCrack
cracker = RandCrack()
for line in open(sys.argv[1]):
    cracker.submit(int(line))
print([cracker.predict_getrandbits(32) for _ in range(10)])
"""


def measured(command: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """Seconds and peak MiB of one run of ``command`` (a child of a fresh parent, so the
    largest child is this one), in ``cwd``: ``-m`` puts the working folder first on the path,
    so it must hold no source tree."""
    probe = (
        "import resource, subprocess, sys, time; started = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - started, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def randcrack_path(scratch: Path) -> Path | None:
    """A folder holding randcrack (pip-installed into ``scratch`` unless importable)."""
    try:
        import randcrack  # noqa: F401

        return None
    except ImportError:
        pass
    target = scratch / "randcrack"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), "randcrack"],
        check=True,
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another source tree, run the same way")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        words = scratch / "words.txt"
        generator = random.Random(20261207)
        words.write_text("".join(f"{generator.getrandbits(32)}\n" for _ in range(624)))
        (scratch / "crack.py").write_text(RANDCRACK)
        mimicry = [sys.executable, "-m", "mimicry_cli"]
        commands = {
            "recover 624 words": ["recover", str(words), "--family", "python_random", "--json"],
            "simulate 10 draws": [
                "simulate",
                "--family",
                "mt19937",
                "--seed",
                "1",
                "--count",
                "10",
            ],
            "families": ["families", "--json"],
            "--help": ["--help"],
        }
        # No MIMICRY_* variable, as on a user's machine (one would load the settings model);
        # HOME in the scratch folder, so the default home is there.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIMICRY_")}
        env["HOME"] = str(scratch)
        runs: dict[str, list[tuple[float, float]]] = {}
        trees = {"this tree": None} | ({"baseline": args.baseline} if args.baseline else {})
        peer = randcrack_path(scratch)
        peer_env = dict(env, PYTHONPATH=str(peer)) if peer else env
        for _ in range(args.repeat):
            for label, tree in trees.items():
                tree_env = dict(env, PYTHONPATH=str(tree)) if tree else env
                for name, arguments in commands.items():
                    runs.setdefault(f"{name} ({label})", []).append(
                        measured([*mimicry, *arguments], tree_env, scratch)
                    )
            runs.setdefault("randcrack, 624 words", []).append(
                measured([sys.executable, str(scratch / "crack.py"), str(words)], peer_env, scratch)
            )
        started = time.strftime("%Y-%m-%d %H:%M")
        print(f"{started}, {os.cpu_count()} cores, {args.repeat} runs each, medians")
        print("| command | median s | median peak MiB | runs (s) |")
        print("|---|---:|---:|---|")
        for name, values in runs.items():
            seconds = [s for s, _ in values]
            print(
                f"| {name} | {statistics.median(seconds):.2f} | "
                f"{statistics.median(m for _, m in values):.0f} | "
                f"{', '.join(f'{s:.2f}' for s in seconds)} |"
            )


if __name__ == "__main__":
    main()
