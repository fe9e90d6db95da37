#!/usr/bin/env bash
# Once per rig, before the first `docker compose up`: generate its secrets.
#   docker/.env     COMPOSE_PROJECT_NAME=mimicry, MIMICRY_POSTGRES_PASSWORD (the store's and the
#                   Prefect server's database) and MIMICRY_PREFECT_AUTH_STRING (user:password of
#                   the Prefect API and UI), random, mode 0600; compose reads it
#   docker/certs/   the Dask cluster's certificates (deployments/make-dask-certs.sh), owned by
#                   the images' uid 10001 (through the mimicry-cpu image when not run as root)
# Run again, it keeps what exists. Neither goes into an image (.dockerignore) or into git.
set -euo pipefail
cd "$(dirname "$0")"
command -v openssl >/dev/null || { echo "setup-env.sh: error: openssl is needed" >&2; exit 2; }
if [ -e .env ]; then
    echo "setup-env.sh: docker/.env exists; its secrets are kept"
else
    (
        umask 077
        {
            echo "COMPOSE_PROJECT_NAME=mimicry"
            echo "MIMICRY_POSTGRES_PASSWORD=$(openssl rand -hex 24)"
            echo "MIMICRY_PREFECT_AUTH_STRING=mimicry:$(openssl rand -hex 24)"
        } >.env
    )
    echo "setup-env.sh: wrote docker/.env (PostgreSQL password, Prefect auth string)"
fi
if [ -e certs/ca.pem ]; then
    echo "setup-env.sh: docker/certs exists; the Dask certificates are kept"
elif [ "$(id -u)" = 0 ]; then
    ../deployments/make-dask-certs.sh certs 10001
else
    ../deployments/make-dask-certs.sh certs
    # The containers run as uid 10001: hand it the keys with the image's own chown.
    docker run --rm --user 0 --network none -v "$PWD/certs:/certs" \
        "${MIMICRY_CPU_IMAGE:-mimicry-cpu}" chown -R 10001:10001 /certs
fi
