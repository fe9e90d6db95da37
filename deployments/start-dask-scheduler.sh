#!/usr/bin/env bash
# Start the rig's Dask scheduler in the foreground. Flow runs reach it through
# MIMICRY_DASK_ADDRESS=tcp://HOST:PORT in the Prefect worker's environment.
#
#   deployments/start-dask-scheduler.sh [dask scheduler options]
#
# MIMICRY_DASK_SCHEDULER_HOST (default 0.0.0.0: every interface, for workers on other machines;
# Dask does not authenticate, so keep the port inside the rig's network),
# MIMICRY_DASK_SCHEDULER_PORT (8786) and MIMICRY_DASK_DASHBOARD_ADDRESS (127.0.0.1:8787: the
# dashboard shows logs, call stacks and task graphs without authentication, so it listens on
# loopback only; open it through `ssh -L 8787:127.0.0.1:8787 RIG`) choose where it listens. The scheduler unpickles the task graphs the flows send, so it needs the same Python
# environment as the workers: mimicry installed (it imports tasks/ and mimicry/).
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require dask mimicry
# Mutual TLS with MIMICRY_DASK_TLS_DIR (deployments/make-dask-certs.sh): only parties holding a
# certificate of the rig's CA connect; the address is then tls://HOST:PORT.
tls_options=$(mimicry_dask_tls scheduler)
tls=() protocol=()
if [ -n "$tls_options" ]; then
    mapfile -t tls <<<"$tls_options"
    protocol=(--protocol tls)
fi
exec dask scheduler \
    ${protocol[@]+"${protocol[@]}"} ${tls[@]+"${tls[@]}"} \
    --host "${MIMICRY_DASK_SCHEDULER_HOST:-0.0.0.0}" \
    --port "${MIMICRY_DASK_SCHEDULER_PORT:-8786}" \
    --dashboard-address "${MIMICRY_DASK_DASHBOARD_ADDRESS:-127.0.0.1:8787}" \
    "$@"
