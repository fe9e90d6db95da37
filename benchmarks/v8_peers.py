"""mimicry against the V8 ``Math.random()`` predictors on their documented case, paired.

    python benchmarks/v8_peers.py [--source URL_OR_DIR] [--repeat 5] [--predict 10]

The draws come from Node itself: each repetition starts a fresh ``node`` process that prints
``Array.from(Array(N), Math.random)``; the first doubles are the input, the rest what a
prediction must say. Whole processes, in turn on the same draws:

* PwnFunction/v8-randomness-predictor (``main.py``, z3 over two 64-bit state words; five doubles,
  one prediction, its README's case). Built from its public source (``--source``, cloned into
  ``~/.cache/mimicry/v8-randomness-predictor``) with the sequence written into a copy of its
  script, as its README says to do; z3-solver from pip where it is not importable.
* js-randomness-predictor (npm, z3 in WebAssembly; five doubles for Node, ``-p`` predictions),
  installed with npm into ``~/.cache/mimicry/js-randomness-predictor``.
* ``mimicry recover --family v8 --json --predict K``.

Cases: ``documented`` is a fresh process's first five doubles (the predictors' own case);
``refill`` is doubles 60..64 of a fresh process, whose continuation crosses V8's 64-value cache
refill (js-randomness-predictor refuses more than 64 values in all). A tool that cannot run
says why on its line; each line gives the median time and how many of the predictions were
Node's next values.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = "https://github.com/PwnFunction/v8-randomness-predictor"
CACHE = Path.home() / ".cache" / "mimicry"
INPUT = 5
#: Doubles a fresh process prints before the case's input, per case.
CASES = {"documented": 0, "refill": 60}


def node_doubles(count: int) -> list[float]:
    script = f"console.log(JSON.stringify(Array.from(Array({count}), Math.random)))"
    return json.loads(
        subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
    )


def node_major() -> int:
    return int(
        subprocess.run(
            ["node", "-p", "process.versions.node"], capture_output=True, text=True, check=True
        ).stdout.split(".")[0]
    )


def pwnfunction_script(source: str) -> tuple[Path | None, dict, str]:
    """PwnFunction's main.py (copied per case), the environment it runs in, and how it was got;
    None and why not."""
    clone = CACHE / "v8-randomness-predictor"
    if not (clone / "main.py").exists():
        shutil.rmtree(clone, ignore_errors=True)
        clone.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["git", "clone", "--depth", "1", source, str(clone)], capture_output=True, text=True
        )
        if done.returncode != 0:
            return None, {}, f"cannot clone {source}: {done.stderr.strip().splitlines()[-1]}"
    env = dict(os.environ)
    try:
        import z3  # noqa: F401
    except ImportError:
        target = CACHE / "z3-solver"
        if not (target / "z3").exists():
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--target",
                    str(target),
                    "z3-solver",
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                return None, {}, "cannot pip install z3-solver"
        env["PYTHONPATH"] = str(target)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    return clone / "main.py", env, f"{clone} at {commit}"


def js_predictor() -> tuple[Path | None, str]:
    folder = CACHE / "js-randomness-predictor"
    binary = folder / "node_modules" / ".bin" / "js-randomness-predictor"
    if not binary.exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(folder), "js-randomness-predictor"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not binary.exists():
            return None, "cannot npm install js-randomness-predictor"
    version = json.loads(
        (folder / "node_modules" / "js-randomness-predictor" / "package.json").read_text()
    )["version"]
    return binary, f"js-randomness-predictor {version} (npm)"


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - started, done


def right(predicted: list[float], actual: list[float]) -> int:
    """How many of ``predicted`` are Node's next values, in order, before the first miss."""
    count = 0
    for guess, truth in zip(predicted, actual, strict=False):
        if guess != truth:
            break
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=SOURCE, help="PwnFunction's git URL or directory")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--predict", type=int, default=10)
    args = parser.parse_args()
    major = node_major()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        script, z3_env, how = pwnfunction_script(args.source)
        print(f"PwnFunction/v8-randomness-predictor: {how}", flush=True)
        js, js_how = js_predictor()
        print(f"js-randomness-predictor: {js_how}; node {major}", flush=True)
        for case, skip in CASES.items():
            times: dict[str, list[float]] = {}
            hits: dict[str, list[str]] = {}
            for _ in range(args.repeat):
                doubles = node_doubles(skip + INPUT + args.predict)
                given, actual = doubles[skip : skip + INPUT], doubles[skip + INPUT :]
                runs = {}
                if script is not None:
                    copy = scratch / "main.py"
                    copy.write_text(
                        re.sub(
                            r"sequence = \[.*?\]\n",
                            f"sequence = {given!r}\n",
                            script.read_text(),
                            count=1,
                            flags=re.S,
                        )
                    )
                    seconds, done = timed([sys.executable, str(copy)], env=z3_env)
                    lines = done.stdout.strip().splitlines()
                    guess = [float(lines[-1])] if done.returncode == 0 and lines else []
                    runs["PwnFunction (z3)"] = (seconds, guess, done)
                if js is not None:
                    export = scratch / "js.json"
                    seconds, done = timed(
                        [
                            str(js),
                            "-e",
                            "node",
                            "-v",
                            str(major),
                            "-s",
                            *map(repr, given),
                            "-p",
                            str(args.predict),
                            "-x",
                            str(export),
                            "-f",
                        ],
                        cwd=scratch,
                    )
                    guess = (
                        json.loads(export.read_text())["predictions"]
                        if done.returncode == 0 and export.exists()
                        else []
                    )
                    export.unlink(missing_ok=True)
                    runs["js-randomness-predictor (z3)"] = (seconds, guess, done)
                draws = scratch / "draws.txt"
                draws.write_text("".join(f"{d!r}\n" for d in given))
                seconds, done = timed(
                    [
                        sys.executable,
                        "-m",
                        "mimicry_cli",
                        "recover",
                        str(draws),
                        "--family",
                        "v8",
                        "--json",
                        "--predict",
                        str(args.predict),
                    ],
                    cwd=scratch,
                )
                guess = json.loads(done.stdout)["next"] if done.returncode == 0 else []
                runs["mimicry recover"] = (seconds, guess, done)
                for name, (seconds, guess, done) in runs.items():
                    times.setdefault(name, []).append(seconds)
                    said = (
                        f"{right(guess, actual)}/{len(guess)}"
                        if guess
                        else f"none (exit {done.returncode})"
                    )
                    hits.setdefault(name, []).append(said)
            print(
                f"{case}: {INPUT} doubles after {skip} of a fresh node process, "
                f"{args.predict} asked",
                flush=True,
            )
            for name, values in times.items():
                print(
                    f"  {name}: median {statistics.median(values):.2f} s "
                    f"({', '.join(f'{v:.2f}' for v in values)}); right: "
                    f"{', '.join(hits[name])}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
