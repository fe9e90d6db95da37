"""The commands that run no kernel and read no store load none of the heavy libraries
(issue 26 item 5; the times are in benchmarks/startup.py and BENCHMARKS.md)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

HEAVY = ("numba", "llvmlite", "torch", "prefect", "sqlalchemy", "dask", "distributed")

#: Runs the CLI in this process and says, at exit, which heavy libraries it loaded.
PROBE = f"""
import atexit, sys
heavy = set({HEAVY!r})
atexit.register(
    lambda: sys.stderr.write(
        "loaded: " + " ".join(sorted({{m.split(".")[0] for m in sys.modules}} & heavy)) + "\\n"
    )
)
from mimicry_cli import main
sys.argv = ["mimicry", *sys.argv[1:]]
main()
"""


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    path = tmp_path_factory.mktemp("startup") / "words.txt"
    generator = random.Random(26)
    path.write_text("".join(f"{generator.getrandbits(32)}\n" for _ in range(624)))
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["recover", "{words}", "--family", "python_random", "--json"],
        ["recover", "{words}", "--family", "mt19937", "--projection", "raw"],
        ["simulate", "--family", "php5_mt", "--seed", "5", "--count", "3"],
        ["families", "--json"],
        ["--help"],
        ["sieve", "--help"],
        ["status", "--help"],
    ],
    ids=" ".join,
)
def test_a_command_that_runs_no_kernel_loads_no_heavy_library(command, words, tmp_path):
    arguments = [part.format(words=words) for part in command]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MIMICRY_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # it answered
    assert done.stderr.splitlines()[-1] == "loaded: "


def test_the_probe_sees_a_heavy_library_where_one_is_loaded(words, tmp_path):
    """The check above can fail: ``mimicry sieve`` runs numba's kernels."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            "sieve",
            str(words),
            "--family",
            "xorshift32",
            "--projection",
            "raw",
            "--mode",
            "state",
            "--seeds",
            "1..99",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MIMICRY_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "numba" in done.stderr.splitlines()[-1].split()
