#!/usr/bin/env bash
# Create .venv and install mimicry into it. Usage: scripts/setup.sh [extras], e.g. "test".
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# Every version pinned as the images pin it (constraints.txt, shared with docker/).
export PIP_CONSTRAINT="$PWD/constraints.txt"
# PyTorch's CPU build first: the project's torch range accepts it, so nothing larger is fetched.
python -m pip install --quiet "torch==2.13.0"
extras=${1:-}
# Not --no-compile (96 s -> 40 s here): where PYTHONDONTWRITEBYTECODE is set, as on CI's machine,
# every process would then compile every module it imports from source, every time.
pip_options=()
if [[ ",$extras," == *,test,* || ",$extras," == *,llm,* ]]; then
    # llama-cpp-python compiles llama.cpp on install. Its default native build (-march=native)
    # also compiles ggml's AMX kernels on a CPU that lists AMX, and those died with SIGILL
    # (tilezero) on such a machine here: on x86-64 build for AVX2/FMA/F16C instead. The wheel
    # is built once per machine into a directory named by the flags (pip's own wheel cache
    # ignores CMAKE_ARGS, so it would hand back a native build).
    if [ "$(uname -m)" = x86_64 ]; then
        flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
        wheels="${XDG_CACHE_HOME:-$HOME/.cache}/mimicry/llama-wheels/$(printf %s "$flags" | sha256sum | cut -c1-12)"
        if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
            mkdir -p "$wheels"
            CMAKE_ARGS="$flags" python -m pip wheel --quiet --no-deps --no-cache-dir \
                --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python>=0.3.16,<0.4"
        fi
        # Also over a native build an earlier setup installed.
        python -m pip install --quiet --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
        pip_options+=(--find-links "$wheels" --only-binary llama-cpp-python)
    fi
fi
if [ -n "$extras" ]; then
    python -m pip install --quiet ${pip_options[@]+"${pip_options[@]}"} -e ".[$extras]"
else
    python -m pip install --quiet ${pip_options[@]+"${pip_options[@]}"} -e .
fi
