"""mimicry against php_mt_seed on php_mt_seed's own jobs, paired, whole processes, 2^32 seeds.

    python benchmarks/peers.py [--source URL_OR_DIR] [--repeat 3] [--cases A sweep token]

php_mt_seed (openwall/php_mt_seed) is built from its public source with ``make`` (gcc -fopenmp
-march=native, as its README says) in ``~/.cache/mimicry/php_mt_seed/``; when it cannot be
cloned or built the line says why and mimicry runs alone. Each repetition runs the peer, then
mimicry, on the same draws (made by php-cli when it is there, else by the registry's twins), so
both meet the same load; the table gives the median of the repetitions and their ratio.

* ``A``: one ``mt_rand()`` output (php_mt_seed's README case: 1328851649 from
  ``mt_srand(1234567890)``). Both sweep PHP 7.1+ and 5.2.1-7.0 in one pass: php_mt_seed's
  modern pass, mimicry's ``--family mt19937 --family php5_mt`` (one compiled prefilter pass,
  projection ``php_mt_rand``). php_mt_seed also runs its cheap pass for PHP 3.0.7-5.2.0.
* ``sweep``: the issue's full sweep: eight PHP 7.1+ ``mt_rand(0, 999)`` after
  ``mt_srand(SWEEP_SEED)``; php_mt_seed gets ``v v 0 999`` per draw, mimicry sweeps ``mt19937``
  with projection ``mod`` and ``--modulus 1000`` (the same draws unless a word above PHP's
  rejection limit turns up, about one in 4.6 million).
* ``token``: a 10-character token of ``mt_rand(0, 61)`` (PHP 7.1+), php_mt_seed's
  ``v v 0 61`` groups against ``--projection php_mt_rand_range --modulus 62``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIMICRY = [sys.executable, "-m", "mimicry_cli"]
SOURCE = "https://github.com/openwall/php_mt_seed"
BUILD = Path.home() / ".cache" / "mimicry" / "php_mt_seed"
TOKEN_SEED = 20261130
SWEEP_SEED = 3141592653


def build_peer(source: str) -> tuple[Path | None, str]:
    """php_mt_seed's binary and how it was made, or None and why not."""
    binary = BUILD / "php_mt_seed"
    if binary.exists():
        return binary, f"built earlier in {BUILD}"
    BUILD.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(BUILD, ignore_errors=True)
    clone = subprocess.run(
        ["git", "clone", "--depth", "1", source, str(BUILD)], capture_output=True, text=True
    )
    if clone.returncode != 0:
        return None, f"cannot clone {source}: {clone.stderr.strip().splitlines()[-1]}"
    make = subprocess.run(["make"], cwd=BUILD, capture_output=True, text=True)
    if make.returncode != 0 or not binary.exists():
        return None, f"make failed: {(make.stderr or make.stdout).strip().splitlines()[-1]}"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=BUILD, capture_output=True, text=True
    ).stdout.strip()
    return binary, f"{source} at {commit}, built with make (gcc -fopenmp -march=native)"


def php_range_draws(seed: int, count: int, modulus: int) -> list[int]:
    """``mt_srand(seed)`` then ``count`` × ``mt_rand(0, modulus - 1)`` (PHP 7.1+), by php-cli
    when installed, else by the registry's twin."""
    if shutil.which("php"):
        script = (
            f"mt_srand({seed}); "
            f'for ($i = 0; $i < {count}; $i++) echo mt_rand(0, {modulus - 1}), "\\n";'
        )
        out = subprocess.run(
            ["php", "-n", "-r", script], capture_output=True, text=True, check=True
        )
        return [int(v) for v in out.stdout.split()]
    from gpu_kernels.registry import get_family, get_projection

    family = get_family("mt19937")
    words, projection = family.words(family.seed(seed)), get_projection("php_mt_rand_range")
    return [projection.draw(words, modulus, 32) for _ in range(count)]


def timed(command: list[str], **kwargs) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, **kwargs)
    return time.perf_counter() - started, done.stdout


def mimicry_seeds(
    directory: Path, draws: list[int], families: list[str], flags: list[str]
) -> set[tuple[str, int]]:
    """(family, seed) of every survivor of one ``mimicry sieve`` over ``families``."""
    (directory / "draws.txt").write_text("".join(f"{d}\n" for d in draws))
    named = [flag for family in families for flag in ("--family", family)]
    out = json.loads(
        timed([*MIMICRY, "sieve", "draws.txt", *named, *flags, "--json"], cwd=directory)[1]
    )
    answers = out.get("answers", [out])
    return {(a["job"]["family"], s["seed"]) for a in answers for s in a["survivors"]}


CASES = {
    "A": {
        "draws": lambda: [1328851649],
        "peer": lambda draws: [str(draws[0])],
        "searches": [
            (
                ["mt19937", "php5_mt"],
                ["--projection", "php_mt_rand", "--seeds", f"0..{2**32 - 1}"],
            ),
        ],
    },
    "sweep": {
        "draws": lambda: php_range_draws(SWEEP_SEED, 8, 1000),
        "peer": lambda draws: [str(v) for d in draws for v in (d, d, 0, 999)],
        "searches": [(["mt19937"], ["--modulus", "1000", "--seeds", f"0..{2**32 - 1}"])],
    },
    "token": {
        "draws": lambda: php_range_draws(TOKEN_SEED, 10, 62),
        "peer": lambda draws: [str(v) for d in draws for v in (d, d, 0, 61)],
        "searches": [
            (
                ["mt19937"],
                [
                    "--projection",
                    "php_mt_rand_range",
                    "--modulus",
                    "62",
                    "--seeds",
                    f"0..{2**32 - 1}",
                ],
            ),
        ],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=SOURCE, help="php_mt_seed's git URL or directory")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    args = parser.parse_args()
    peer, how = build_peer(args.source)
    print(f"php_mt_seed: {how}", flush=True)
    print(f"cores: {os.cpu_count()}", flush=True)
    for name in args.cases:
        case = CASES[name]
        draws = case["draws"]()
        peer_times, our_times, found = [], [], set()
        with tempfile.TemporaryDirectory() as scratch:
            for _ in range(args.repeat):
                if peer is not None:
                    seconds, out = timed([str(peer), *case["peer"](draws)])
                    peer_times.append(seconds)
                    peer_found = out.count("seed = ")
                started = time.perf_counter()
                for families, flags in case["searches"]:
                    found |= mimicry_seeds(Path(scratch), draws, families, flags)
                our_times.append(time.perf_counter() - started)
                print(
                    f"  {name}: php_mt_seed {peer_times[-1] if peer_times else float('nan'):.1f} s,"
                    f" mimicry {our_times[-1]:.1f} s",
                    flush=True,
                )
        ours = statistics.median(our_times)
        line = f"{name}: draws {draws}; mimicry median {ours:.1f} s of {len(our_times)}"
        line += f", found {sorted(found)}"
        if peer_times:
            theirs = statistics.median(peer_times)
            line += (
                f"; php_mt_seed median {theirs:.1f} s ({peer_found} seeds printed); "
                f"mimicry runs at {theirs / ours:.2f}x php_mt_seed's speed"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
