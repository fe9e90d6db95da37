#!/usr/bin/env bash
# Start the Prefect API server and UI in the foreground.
#
#   deployments/start-prefect-server.sh [prefect server start options]
#
# Listens on PREFECT_SERVER_API_HOST:PREFECT_SERVER_API_PORT (default 127.0.0.1:4200; 0.0.0.0
# for workers on other machines). Its own database is PREFECT_API_DATABASE_CONNECTION_URL
# (default: SQLite under PREFECT_HOME; postgresql+asyncpg://... for a rig, see docs/deploy.md).
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require prefect
exec prefect server start \
    --host "${PREFECT_SERVER_API_HOST:-127.0.0.1}" \
    --port "${PREFECT_SERVER_API_PORT:-4200}" \
    "$@"
