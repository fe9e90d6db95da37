#!/usr/bin/env bash
# The main job on a fresh machine: set up, make a history from a registry generator with a family
# and seed the pipeline is not told, run the pipeline (Prefect flow, Dask workers, SQLite store)
# to find them, and show the recovered hypothesis, the next draws and where to see the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
export MIMICRY_HOME=${MIMICRY_HOME:-$PWD/.mimicry}
mkdir -p "$MIMICRY_HOME"
read -r family secret discard < <(python - <<'PY'
import secrets
print(secrets.choice(["mt19937", "glibc_rand", "python_random"]), secrets.randbelow(1 << 24),
      secrets.randbelow(8))
PY
)
# A stream of its own each run: a stream holds one history, and a second run in the same
# MIMICRY_HOME hides another generator.
stream="demo-$(date +%Y%m%d-%H%M%S)"
draws="$MIMICRY_HOME/$stream.txt"
mimicry simulate --family "$family" --seed "$secret" --discard "$discard" --count 300 --out "$draws"
echo "demo: 300 draws % 1000 from a hidden family, seed (0..16777215) and discard (0..7) -> $draws"
mimicry run "$draws" --stream "$stream" --family mt19937 --family glibc_rand --family python_random \
    --seeds 0..16777215 --offsets 0..7 --predict 5 --top 5
echo "demo: the hidden generator was $family, seed $secret, $discard calls discarded"
mimicry simulate --family "$family" --seed "$secret" --discard "$((discard + 300))" --count 5 \
    | tr '\n' ' ' | sed 's/^/demo: its next 5 draws are: /'
echo
cat <<TEXT
demo: the run, its chunk tasks and artifacts are in Prefect's database; to see them in the UI:
    . .venv/bin/activate && prefect server start     # then open http://127.0.0.1:4200
demo: the store: MIMICRY_HOME=$MIMICRY_HOME mimicry status
TEXT
