#!/usr/bin/env bash
# The gpu backend's checks on a lent GPU machine (the `device` tool; see docs/design.md):
# the conformance suite on the device, then benchmarks/gpu.py, output under $OUT.
#
# That machine reaches nothing: its image has python3 (3.12) with CuPy (cupy-cuda13x), numba,
# numpy, pytest and hypothesis, but not pydantic, which gpu_kernels.job needs. Carry it as
# wheels, made here once (in the repository root):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl pydantic pydantic-core annotated-types typing-inspection typing-extensions
# then run (carry [".whl"], a timeout that leaves room for a second try):
#   bash scripts/device_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/device-out}"
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 MIMICRY_GPU_TARGET=device
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/device.txt"
# Correctness first: every family, projection and kind of job against the reference (the
# conftest is left out: it brings the store, which that machine has no packages for).
timeout 240 python3 -m pytest -q -x -p no:cacheprovider --noconftest tests/test_backend_conformance.py \
    -k "gpu and (exact or variable or far or pow2)" 2>&1 | tail -15 | tee "$out/conformance.txt"
# Then the issue's workloads: all 2^32 MT19937 seeds, xorshift32 states, glibc_rand and
# java_random 2^32 seeds, a day of Java millisecond seeds (whole and kernel seconds).
timeout 300 python3 benchmarks/gpu.py --repeats 3 2>&1 | tee "$out/gpu-benchmark.txt"
