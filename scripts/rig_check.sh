#!/usr/bin/env bash
# The container rig, checked end to end on this machine's Docker engine (docker/README.md):
#
#   1. the images build (docker/server.Dockerfile, docker/cpu.Dockerfile);
#   2. the stack comes up on the host's network, every part on loopback and authenticated
#      (docker/compose.yaml + docker/compose.host.yaml, secrets from docker/setup-env.sh);
#   3. `prefect deployment run 'pipeline/full'` from the host, as CI would, finds the generator
#      behind a draw file copied into the worker as docker/README.md says;
#   4. a Dask worker container is killed mid-run and started again: the run completes, every
#      chunk computed, the result in PostgreSQL;
#   5. the whole stack goes down and up again: nothing in the store is lost.
#
#   scripts/rig_check.sh                 # with the official base images
#   MIMICRY_RIG_STANDINS=1 scripts/rig_check.sh
#                                        # bases built from Debian's packages first
#                                        # (scripts/rig/standin-bases.sh; needs root, debootstrap)
#
# MIMICRY_TORCH_INDEX_URL chooses PyTorch's CPU index for the build (a mirror, or a local
# folder served over HTTP); MIMICRY_RIG_KEEP=1 leaves the stack up at the end. Exit 0 when every
# check passed; the first failure ends it with one line naming the check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf 'rig_check: %s\n' "$*"; }
fail() {
    printf 'rig_check: FAILED: %s\n' "$*" >&2
    exit 1
}
command -v docker >/dev/null || fail "docker is not on PATH"
if docker compose version >/dev/null 2>&1; then
    compose_command=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose_command=(docker-compose)
else
    fail "neither docker compose (v2) nor docker-compose (1.29) is installed"
fi
compose() { "${compose_command[@]}" --project-directory docker -f docker/compose.yaml -f docker/compose.host.yaml "$@"; }
[ -x .venv/bin/prefect ] || fail "the host needs the checkout's .venv (scripts/setup.sh) for prefect and mimicry"
export PATH="$root/.venv/bin:$PATH"

started=$(date +%s)
if [ "${MIMICRY_RIG_STANDINS:-0}" = 1 ]; then
    scripts/rig/standin-bases.sh
    export MIMICRY_PYTHON_IMAGE=mimicry-standin/python:3.11-bookworm
    export MIMICRY_POSTGRES_IMAGE=mimicry-standin/postgres:15
fi
python_image=${MIMICRY_PYTHON_IMAGE:-python:3.11-slim-bookworm}
torch_index=${MIMICRY_TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}

say "1. building the images on $python_image (PyTorch from $torch_index)"
docker build --quiet --network host --build-arg "PYTHON_IMAGE=$python_image" \
    -f docker/server.Dockerfile -t mimicry-prefect-server . >/dev/null \
    || fail "1. the server image did not build"
docker build --quiet --network host --build-arg "PYTHON_IMAGE=$python_image" \
    --build-arg "TORCH_INDEX_URL=$torch_index" \
    -f docker/cpu.Dockerfile -t mimicry-cpu . >/dev/null \
    || fail "1. the cpu image did not build"
docker run --rm --network none mimicry-cpu python -c \
    "import torch, sys; sys.exit(0 if torch.__version__.endswith('+cpu') else 1)" \
    || fail "1. the cpu image's torch is not the CPU build"
say "1. built: $(docker image inspect -f '{{.Size}}' mimicry-cpu | awk '{printf "mimicry-cpu %.2f GB", $1/1e9}'), $(docker image inspect -f '{{.Size}}' mimicry-prefect-server | awk '{printf "mimicry-prefect-server %.2f GB", $1/1e9}')"

say "2. secrets and certificates (docker/setup-env.sh), then the stack"
docker/setup-env.sh
set -a
# shellcheck disable=SC1091
. docker/.env
set +a
export PREFECT_API_URL=http://127.0.0.1:4200/api PREFECT_API_AUTH_STRING=$MIMICRY_PREFECT_AUTH_STRING
compose up -d --no-build >/dev/null 2>&1 || fail "2. docker compose up failed"
container() { compose ps -q "$1"; }
deadline=$(($(date +%s) + 300))
until [ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(container setup)")" = "exited 0" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "2. the setup service did not finish in 300 s: $(compose logs --tail 20 setup 2>&1)"
    sleep 3
done
curl -sf -o /dev/null http://127.0.0.1:4200/ || fail "2. the UI does not answer at http://127.0.0.1:4200/"
unauthorised=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:4200/api/flows/filter -H 'content-type: application/json' -d '{}')
[ "$unauthorised" = 401 ] || fail "2. the Prefect API answered $unauthorised to a request without the auth string"
say "2. up: $(compose ps --services --filter status=running 2>/dev/null | sort | tr '\n' ' ')(API refuses a request without its auth string: 401)"

store() { docker exec "$(container postgres)" psql -U mimicry -d mimicry -At -c "$1"; }

say "3. a draw file into the worker, and pipeline/full from the host"
seed=$((RANDOM * 1000 + RANDOM % 1000))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mimicry simulate --family mt19937 --seed "$seed" --count 60 --out "$work/history.txt"
docker cp "$work/history.txt" "$(container prefect-worker):/data/draws/history.txt"
stream="rig-check-$seed"
# 2^26 seeds in 256 chunks: long enough to kill a worker with most chunks still to do.
seeds=$((1 << 26)) chunk=$((1 << 18))
expected=$((seeds / chunk))
request=$(printf '{"stream": "%s", "draws_file": "/data/draws/history.txt", "families": ["mt19937"], "sieve": {"seeds": [0, %d], "chunk_size": %d, "window": 8, "window_start": 0}, "window_trials": 0, "rank": false}' "$stream" $((seeds - 1)) "$chunk")

run_started=$(date +%s)
(
    # 4. a Dask worker container killed once chunks are being stored, started again 5 s later.
    for _ in $(seq 600); do
        # This run's chunks: the ledger's rows since it started (its job is recorded at the end).
        chunks=$(store "select count(*) from chunks where finished_at > to_timestamp($run_started)" 2>/dev/null || echo 0)
        if [ "${chunks:-0}" -ge 3 ]; then
            docker kill "$(container cpu-worker)" >/dev/null
            echo "$chunks" >"$work/killed-at"
            sleep 5
            compose start cpu-worker >/dev/null 2>&1
            exit 0
        fi
        sleep 0.2
    done
) &
killer=$!
timeout 900 prefect deployment run 'pipeline/full' --param "request=$request" --watch \
    >"$work/run.log" 2>&1 || fail "3. the run did not complete: $(tail -5 "$work/run.log")"
wait "$killer" || true
[ -s "$work/killed-at" ] || fail "4. the worker was not killed during the run"
[ "$(cat "$work/killed-at")" -lt "$expected" ] \
    || fail "4. the worker was killed after the sieve had finished ($(cat "$work/killed-at") chunks)"
say "3. $(grep -o "finished successfully in '[^']*'" "$work/run.log" || tail -1 "$work/run.log") in $(($(date +%s) - run_started)) s"

run_row=$(store "select r.id, r.state from runs r join streams s on s.id = r.stream_id where s.name = '$stream'")
[[ "$run_row" == *"|completed" ]] || fail "3. the run's record in PostgreSQL is '$run_row', not completed"
found=$(store "select s.seed from survivors s join sieve_jobs j on j.id = s.job_id where j.run_id = '${run_row%%|*}' order by s.rank limit 1")
found=$((10#${found:-0}))  # stored as a zero-padded unsigned 64-bit number
[ "$found" = "$seed" ] || fail "3. PostgreSQL holds survivor '$found', not the hidden seed $seed"
chunks=$(store "select count(*), sum(c.executions), min(c.executions) from chunks c join sieve_jobs j on j.job_key = c.job_key where j.run_id = '${run_row%%|*}'")
[ "${chunks%%|*}" = "$expected" ] || fail "4. the ledger holds ${chunks%%|*} chunks, not $expected"
say "3. PostgreSQL: run ${run_row%%|*} completed, best survivor seed $found (the hidden seed)"
say "4. worker container killed after $(cat "$work/killed-at") of $expected chunks and started again; ledger: count|executions|min $chunks"

say "5. the whole stack down and up again"
before=$(store "select (select count(*) from runs), (select count(*) from chunks), (select count(*) from draws), (select count(*) from survivors)")
compose down >/dev/null 2>&1 || fail "5. docker compose down failed"
compose up -d --no-build >/dev/null 2>&1 || fail "5. docker compose up failed"
deadline=$(($(date +%s) + 120))
until after=$(store "select (select count(*) from runs), (select count(*) from chunks), (select count(*) from draws), (select count(*) from survivors)" 2>/dev/null); do
    [ "$(date +%s)" -lt "$deadline" ] || fail "5. PostgreSQL did not come back"
    sleep 2
done
[ "$before" = "$after" ] || fail "5. the store held runs|chunks|draws|survivors $before before and $after after"
mimicry_status=$(docker exec "$(container prefect-worker)" mimicry status 2>&1 | sed -n 1,12p)
say "5. runs|chunks|draws|survivors $before before and after; mimicry status in the worker:"
printf '%s\n' "$mimicry_status"

if [ "${MIMICRY_RIG_KEEP:-0}" != 1 ]; then
    compose down -v >/dev/null 2>&1
fi
say "PASSED in $(($(date +%s) - started)) s"
