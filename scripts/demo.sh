#!/usr/bin/env bash
# The main job on a fresh machine: set up, make a history from a generator with a seed the
# search is not told, find the generator and seed, and predict the next draws.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
export MIMICRY_HOME=${MIMICRY_HOME:-$PWD/.mimicry}
mkdir -p "$MIMICRY_HOME"
secret=$(python -c 'import secrets; print(secrets.randbelow(1 << 24))')
mimicry simulate --family mt19937 --seed "$secret" --count 40 --out "$MIMICRY_HOME/demo-draws.txt"
echo "demo: 40 draws of mt19937 % 1000 from a hidden seed in 0..16777215 -> $MIMICRY_HOME/demo-draws.txt"
mimicry sieve "$MIMICRY_HOME/demo-draws.txt" --family mt19937 --seeds 0..16777215 --predict 5 --top 5
echo "demo: the hidden seed was $secret"
