#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
# The generator tests run the real runtimes: g++, glibc, the JDK, CPython and PHP's php-cli;
# clang compiles the gpu kernels for AMD GPUs (HIP), as nvcc (from the test extra) does for CUDA.
missing=""
command -v php >/dev/null 2>&1 || missing="$missing php-cli"
command -v clang++ >/dev/null 2>&1 || missing="$missing clang"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && apt-get install -y -qq $missing) >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq $missing >/dev/null
    fi
fi
scripts/setup.sh test
. .venv/bin/activate
ruff check .
lint-imports
# One worker per core and one more (at most 5), each test file on one worker: a file's Prefect
# server, model and rig fixtures are built once; files are handed out in tests/conftest.py's
# order (longest first), not re-sorted by their number of tests. The extra worker fills the
# time the others spend waiting on servers, heartbeats and killed processes (measured on two
# cores, cold kernel cache: 1,034 s with two workers, 965 s with three, 1,064 s with four, whose
# load made a SIGTERM test fail; three since kernels compile once per machine: 793 and 826 s). `-n 0`
# runs in this process (the soaks need that).
# Python may cache what it compiles: a machine that sets PYTHONDONTWRITEBYTECODE (CI's does)
# otherwise makes every command, flow run and worker the suite starts (hundreds) compile the
# project's modules from source again (0.1 to 0.3 s each).
unset PYTHONDONTWRITEBYTECODE
cores=$(nproc)
workers=$(( cores + 1 < 5 ? cores + 1 : 5 ))
python -m pytest -q --numprocesses "$workers" --dist loadfile --no-loadscope-reorder "$@"
