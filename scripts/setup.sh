#!/usr/bin/env bash
# Create .venv and install mimicry into it. Usage: scripts/setup.sh [extras], e.g. "test".
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# PyTorch's CPU build first: the project's torch range accepts it, so nothing larger is fetched.
python -m pip install --quiet "torch==2.13.0"
extras=${1:-}
if [ -n "$extras" ]; then
    python -m pip install --quiet -e ".[$extras]"
else
    python -m pip install --quiet -e .
fi
