#!/bin/sh
# The entrypoint of the stand-in postgres image (scripts/rig/standin-bases.sh), for machines that
# cannot pull postgres:16: what compose.yaml uses of the official one. On an empty data folder it
# creates POSTGRES_USER (password POSTGRES_PASSWORD, scram-sha-256 over TCP) and POSTGRES_DB and
# runs /docker-entrypoint-initdb.d/*.sql; then it runs postgres with the command's options
# (`postgres -c port=5433 …`, the leading `postgres` optional). PGPORT chooses the port.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
BIN=/usr/lib/postgresql/15/bin
if [ "${1:-}" = postgres ]; then
    shift
fi
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?the stand-in needs POSTGRES_PASSWORD}"
    user=${POSTGRES_USER:-postgres}
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    "$BIN/initdb" -D "$PGDATA" -U "$user" --pwfile="$password_file" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    database=${POSTGRES_DB:-$user}
    if [ "$database" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q -c "CREATE DATABASE \"$database\""
    fi
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [ -e "$script" ] && psql -v ON_ERROR_STOP=1 -U "$user" -d "$database" -q -f "$script"
    done
    "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$BIN/postgres" -D "$PGDATA" "$@"
