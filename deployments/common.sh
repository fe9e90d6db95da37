# shellcheck shell=bash
# Sourced by the scripts in deployments/: settings every launcher shares, with their defaults.
# Every name can be set in the environment first; docs/deploy.md lists them.

# The checkout the flows run in (the pull step of prefect.yaml enters it).
MIMICRY_PROJECT_DIR=${MIMICRY_PROJECT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export MIMICRY_PROJECT_DIR

# Use the checkout's virtualenv (scripts/setup.sh) unless one is active or mimicry is installed
# elsewhere on PATH (the docker images install it into the system Python).
if [ -z "${VIRTUAL_ENV:-}" ] && ! command -v mimicry >/dev/null 2>&1 \
    && [ -f "$MIMICRY_PROJECT_DIR/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "$MIMICRY_PROJECT_DIR/.venv/bin/activate"
fi

# The process work pool the deployments in prefect.yaml use, and its concurrency limit.
MIMICRY_WORK_POOL=${MIMICRY_WORK_POOL:-mimicry-process}
MIMICRY_WORK_POOL_LIMIT=${MIMICRY_WORK_POOL_LIMIT:-4}

# Prefect's usage telemetry only logs errors on rigs without internet.
export PREFECT_SERVER_ANALYTICS_ENABLED=${PREFECT_SERVER_ANALYTICS_ENABLED:-false}

mimicry_log() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

mimicry_die() {
    mimicry_log "error: $*"
    exit 2
}

mimicry_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 \
            || mimicry_die "'$tool' is not on PATH; install mimicry first (scripts/setup.sh or pip install -e .)"
    done
}

# The TLS options of a Dask process in ROLE (scheduler | worker), one a line, when
# MIMICRY_DASK_TLS_DIR names the folder of deployments/make-dask-certs.sh; nothing without it.
mimicry_dask_tls() {
    local role=$1 dir=${MIMICRY_DASK_TLS_DIR:-} file
    [ -n "$dir" ] || return 0
    for file in ca.pem "$role.pem" "$role-key.pem"; do
        [ -r "$dir/$file" ] || mimicry_die "MIMICRY_DASK_TLS_DIR=$dir has no readable $file (deployments/make-dask-certs.sh makes them)"
    done
    printf '%s\n' --tls-ca-file "$dir/ca.pem" --tls-cert "$dir/$role.pem" --tls-key "$dir/$role-key.pem"
}
