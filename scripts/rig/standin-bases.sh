#!/usr/bin/env bash
# Stand-ins for the official base images, built from Debian's packages, for a Docker engine that
# cannot pull python:3.11-slim-bookworm and postgres:16 (a rig without Docker Hub):
#   mimicry-standin/python:3.11-bookworm  Debian's Python 3.11, pip installing system-wide as in
#                                         the official image (PYTHON_IMAGE of docker/*.Dockerfile)
#   mimicry-standin/postgres:15           Debian's PostgreSQL 15 with an entrypoint doing what
#                                         compose.yaml uses of the official one
#                                         (scripts/rig/postgres-entrypoint.sh; MIMICRY_POSTGRES_IMAGE)
# Both trust this machine's own CA certificates (/usr/local/share/ca-certificates), as its pip
# and apt do. Needs root, debootstrap and a Debian mirror (MIMICRY_DEBIAN_MIRROR).
set -euo pipefail
cd "$(dirname "$0")/../.."
mirror=${MIMICRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bootstrap() {  # ROOT PACKAGES: a minimal Debian bookworm with PACKAGES, trusting our CAs
    debootstrap --variant=minbase --include="ca-certificates,$2" bookworm "$1" "$mirror" >/dev/null
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"
        chroot "$1" update-ca-certificates >/dev/null
    fi
    rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/archives/*.deb
}

root=$work/python
bootstrap "$root" python3,python3-pip,python3-venv,python3-dev
rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
ln -sf python3 "$root/usr/bin/python"
tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
    - mimicry-standin/python:3.11-bookworm >/dev/null
echo "built mimicry-standin/python:3.11-bookworm"

root=$work/postgres
bootstrap "$root" postgresql-15
install -m 0755 scripts/rig/postgres-entrypoint.sh "$root/usr/local/bin/docker-entrypoint.sh"
mkdir -p "$root/docker-entrypoint-initdb.d"
tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' --change 'CMD ["postgres"]' \
    - mimicry-standin/postgres:15 >/dev/null
echo "built mimicry-standin/postgres:15"
