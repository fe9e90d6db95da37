#!/usr/bin/env bash
# Create the process work pool the deployments use (once; an existing pool is left as it is, so
# changes made to it in the UI survive), and set its concurrency limit.
#
#   PREFECT_API_URL=http://HOST:4200/api deployments/create-work-pool.sh
#
# MIMICRY_WORK_POOL (mimicry-process) names it; MIMICRY_WORK_POOL_LIMIT (4) caps the flow runs
# it starts at once, over all its workers; 0 removes the cap.
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require prefect

if prefect work-pool inspect "$MIMICRY_WORK_POOL" >/dev/null 2>&1; then
    mimicry_log "work pool '$MIMICRY_WORK_POOL' exists; keeping it"
else
    prefect work-pool create "$MIMICRY_WORK_POOL" --type process
fi
if [ "$MIMICRY_WORK_POOL_LIMIT" -gt 0 ]; then
    prefect work-pool set-concurrency-limit "$MIMICRY_WORK_POOL" "$MIMICRY_WORK_POOL_LIMIT"
else
    prefect work-pool clear-concurrency-limit "$MIMICRY_WORK_POOL"
fi
