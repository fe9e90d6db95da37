#!/usr/bin/env bash
# Start the Prefect API server and UI in the foreground.
#
#   deployments/start-prefect-server.sh [prefect server start options]
#
# Listens on PREFECT_SERVER_API_HOST:PREFECT_SERVER_API_PORT (default 127.0.0.1:4200; 0.0.0.0
# for workers on other machines). Its own database is PREFECT_API_DATABASE_CONNECTION_URL
# (default: SQLite under PREFECT_HOME; postgresql+asyncpg://... for a rig, see docs/deploy.md).
# Listening beyond loopback, give it PREFECT_SERVER_API_AUTH_STRING (user:password, e.g. from
# docker/setup-env.sh): every API call and the UI then need it, and every client sets the same
# string as PREFECT_API_AUTH_STRING. Refused without it on any address but loopback.
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require prefect
host=${PREFECT_SERVER_API_HOST:-127.0.0.1}
case "$host" in
    127.* | localhost | ::1) ;;
    *) [ -n "${PREFECT_SERVER_API_AUTH_STRING:-}" ] \
        || mimicry_die "PREFECT_SERVER_API_HOST=$host reaches beyond this machine: set PREFECT_SERVER_API_AUTH_STRING (user:password) too" ;;
esac
exec prefect server start \
    --host "$host" \
    --port "${PREFECT_SERVER_API_PORT:-4200}" \
    "$@"
