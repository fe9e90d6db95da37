#!/usr/bin/env bash
# Start a Prefect process worker in the foreground: it polls the work pool and runs each flow
# run as a subprocess, in this environment, in the checkout MIMICRY_PROJECT_DIR (default: the
# one this script is in), which the pull step of prefect.yaml enters.
#
#   PREFECT_API_URL=http://HOST:4200/api \
#   MIMICRY_DATABASE_URL=postgresql+psycopg://USER:PASSWORD@HOST:5432/mimicry \
#   MIMICRY_DASK_ADDRESS=tcp://HOST:8786 \
#   deployments/start-prefect-worker.sh [prefect worker start options]
#
# A flow run gets everything from here: the store (MIMICRY_DATABASE_URL; default SQLite under
# MIMICRY_HOME, for a one-machine setup), the Dask scheduler (MIMICRY_DASK_ADDRESS; unset: a
# LocalCluster on this machine per run), the Prefect API. MIMICRY_WORKER_LIMIT caps the runs
# this worker starts at once (default: no cap of its own; the pool and deployments have theirs).
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require prefect mimicry
[ -n "${PREFECT_API_URL:-}" ] \
    || mimicry_die "set PREFECT_API_URL to the server's API (http://HOST:4200/api)"
[ -f "$MIMICRY_PROJECT_DIR/flows/pipeline.py" ] \
    || mimicry_die "MIMICRY_PROJECT_DIR=$MIMICRY_PROJECT_DIR is not a mimicry checkout"

options=(
    --pool "$MIMICRY_WORK_POOL"
    --type process
    --name "${MIMICRY_WORKER_NAME:-mimicry-$(hostname)-$$}"
)
if [ -n "${MIMICRY_WORKER_LIMIT:-}" ]; then
    options+=(--limit "$MIMICRY_WORKER_LIMIT")
fi
exec prefect --no-prompt worker start "${options[@]}" "$@"
