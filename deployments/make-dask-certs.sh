#!/usr/bin/env bash
# Make the certificates of the rig's Dask cluster (mutual TLS: docs/deploy.md §5): a CA of its
# own and a certificate and key for each role, signed by it, in DIR:
#   ca.pem                       the CA every party checks the others against
#   scheduler.pem scheduler-key.pem   deployments/start-dask-scheduler.sh
#   worker.pem worker-key.pem         deployments/start-dask-workers.sh
#   client.pem client-key.pem         the flows (MIMICRY_DASK_TLS_DIR), mimicry's commands
# The CA's key is not kept: more certificates mean a new CA (run again with a new DIR). Point
# MIMICRY_DASK_TLS_DIR at DIR on every machine of the rig (copy it there); a party without a
# certificate signed by this CA is refused. Keys are 0600, owned by OWNER_UID when given (the
# images run as uid 10001), else by whoever runs this.
#
#   deployments/make-dask-certs.sh DIR [OWNER_UID]
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mimicry_require openssl
[ "$#" -ge 1 ] && [ -n "$1" ] || mimicry_die "usage: make-dask-certs.sh DIR [OWNER_UID]"
dir=$1
owner=${2:-}
if [ -n "$owner" ] && ! [[ "$owner" =~ ^[0-9]+$ ]]; then
    mimicry_die "OWNER_UID must be a number; got '$owner'"
fi
if [ -e "$dir/ca.pem" ]; then
    mimicry_die "$dir already holds certificates (ca.pem); choose a new folder"
fi
days=${MIMICRY_DASK_CERT_DAYS:-825}
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
    -subj "/CN=mimicry Dask CA" -keyout "$work/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
for role in scheduler worker client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=mimicry Dask $role" -keyout "$dir/$role-key.pem" -out "$work/$role.csr" 2>/dev/null
    openssl x509 -req -in "$work/$role.csr" -CA "$dir/ca.pem" -CAkey "$work/ca-key.pem" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$days" -out "$dir/$role.pem" 2>/dev/null
done
chmod 0644 "$dir"/ca.pem "$dir"/scheduler.pem "$dir"/worker.pem "$dir"/client.pem
chmod 0600 "$dir"/*-key.pem
chmod 0755 "$dir"
if [ -n "$owner" ]; then
    chown -R "$owner" "$dir"
fi
mimicry_log "Dask certificates in $dir (valid $days days): ca.pem and scheduler, worker, client"
