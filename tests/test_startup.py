"""The commands that run no kernel and read no store load none of the heavy libraries
(issue 26 item 5; the times are in benchmarks/startup.py and BENCHMARKS.md)."""

from __future__ import annotations

import ctypes
import random
import subprocess
import sys

import pytest

HEAVY = ("numba", "llvmlite", "torch", "prefect", "sqlalchemy", "dask", "distributed")
#: What ``mimicry recover`` leaves out besides, where no MIMICRY_* variable asks for the settings
#: model (pydantic itself comes with typer).
RECOVER_LEAVES_OUT = ("numpy", "pydantic_settings")

#: Runs the CLI in this process and says, at exit, which watched libraries it loaded.
PROBE = f"""
import atexit, sys
heavy = set({(*HEAVY, *RECOVER_LEAVES_OUT)!r})
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
    assert not set(done.stderr.splitlines()[-1].split()[1:]) & set(HEAVY), done.stderr


def probe(arguments: list[str], home, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        capture_output=True,
        text=True,
        cwd=home,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), **variables},
    )


@pytest.mark.parametrize("family", ["python_random", "mt19937", "glibc_rand"])
def test_recover_starts_without_numpy_or_the_settings_model(family, words, tmp_path):
    """With no MIMICRY_* variable the settings are the defaults: ``recover`` loads neither the
    settings model nor numpy (the families' twins wait for numba's first kernel)."""
    if family == "glibc_rand":  # glibc's own rand(), through ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.srand(2026)
        words = tmp_path / "glibc.txt"
        words.write_text("".join(f"{libc.rand()}\n" for _ in range(300)))
    done = probe(["recover", str(words), "--family", family, "--projection", "raw"], tmp_path)
    assert done.returncode == 0, done.stderr  # the state, found
    assert done.stderr.splitlines()[-1] == "loaded: ", done.stderr


def test_recover_still_refuses_a_bad_setting(words, tmp_path):
    """A MIMICRY_* variable brings the settings model back: a bad one is refused before any
    work, by ``recover`` as by every command."""
    done = probe(
        ["recover", str(words), "--family", "python_random"], tmp_path, MIMICRY_BACKEND="bogus"
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "mimicry: error: MIMICRY_BACKEND: expected one of reference, cpu, gpu (got 'bogus')"
    )
    assert not (tmp_path / ".mimicry").exists()


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
    assert {"numba", "numpy"} <= set(done.stderr.splitlines()[-1].split())


def test_numba_ready_leaves_no_stand_in_behind(tmp_path):
    """Once a kernel may compile, every gpu_kernels module holds numpy itself and numpy's
    scalars, as ``import numpy as np`` and ``np.uint64(...)`` gave them: numba types a global by
    its value (a fresh process: this one has run kernels already)."""
    check = """
import sys
import numpy
import gpu_kernels.registry
from gpu_kernels.jit import numba_ready
numba_ready()
modules = [m for name, m in list(sys.modules.items()) if name.startswith("gpu_kernels") and m]
left = sorted(
    f"{m.__name__}.{k}" for m in modules for k, v in vars(m).items()
    if type(v).__name__ in ("_Numpy", "_UInt64")
)
families = [m for m in modules if m.__name__.startswith("gpu_kernels.families.")]
print(len(families), all(vars(m).get("np") is numpy for m in families if "np" in vars(m)), left)
"""
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert done.stdout.split(" ", 2) == ["10", "True", "[]\n"], done.stdout
