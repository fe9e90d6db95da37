#!/usr/bin/env bash
# Start this machine's Dask workers for the rig's scheduler, in the foreground:
#
#   * one worker per GPU, pinned to it (CUDA_VISIBLE_DEVICES=i on NVIDIA, found with
#     `nvidia-smi -L`; HIP_VISIBLE_DEVICES=i on AMD, found with `rocm-smi --showid`) and started
#     with `--resources GPU=1`, so the scheduler places GPU chunks (annotated GPU=1 by
#     flows/sieve.py) there, one at a time per GPU;
#   * MIMICRY_CPU_WORKERS (default 1) CPU worker processes without the resource, sharing the
#     cores the GPU workers leave (numba's NUMBA_NUM_THREADS each).
#
# A machine without GPUs starts CPU workers only.
#
#   deployments/start-dask-workers.sh [tcp://SCHEDULER:8786] [dask worker options...]
#
# The address defaults to MIMICRY_DASK_ADDRESS, then tcp://127.0.0.1:8786. The workers run the
# chunk tasks, so they need what a flow run needs: mimicry installed, the store
# (MIMICRY_DATABASE_URL, shared by every machine) and PREFECT_API_URL.
#
#   MIMICRY_GPUS                 unset: detect; "none": no GPU workers; "0,2": these GPU indices
#   MIMICRY_GPU_VENDOR           nvidia | amd (default: detected; nvidia when both tools exist)
#   MIMICRY_CPU_WORKERS          CPU worker processes (default 1; 0 for none)
#   MIMICRY_CPU_THREADS          numba threads per CPU worker (default: free cores / CPU workers)
#   MIMICRY_GPU_WORKER_THREADS   numba threads of a GPU worker (default 1; it feeds one GPU)
#   MIMICRY_DRY_RUN=1            print the worker commands, one a line, and start nothing
#
# Each worker listens for the scheduler and its peers on the interface that reaches the scheduler
# (Dask's choice; with MIMICRY_DASK_TLS_DIR only holders of the rig's certificates connect,
# without it keep it inside the rig's network: Dask does not authenticate); its own HTTP
# server (health, logs, call stacks) listens on loopback only
# (MIMICRY_DASK_WORKER_DASHBOARD_ADDRESS, default 127.0.0.1:0).
#
# GPU workers also take CPU chunks when they are idle (Dask restricts only the tasks that ask
# for a resource), with MIMICRY_GPU_WORKER_THREADS numba threads.
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

scheduler=${MIMICRY_DASK_ADDRESS:-tcp://127.0.0.1:8786}
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    scheduler=$1
    shift
fi
dry_run=${MIMICRY_DRY_RUN:-0}
# Mutual TLS with MIMICRY_DASK_TLS_DIR (deployments/make-dask-certs.sh), to a tls:// scheduler.
tls_options=$(mimicry_dask_tls worker)
tls=()
if [ -n "$tls_options" ]; then
    mapfile -t tls <<<"$tls_options"
    [[ "$scheduler" == tls://* ]] \
        || mimicry_die "MIMICRY_DASK_TLS_DIR is set: the scheduler address must be tls://HOST:PORT; got '$scheduler'"
fi
host=$(hostname)

is_count() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

# GPU indices, one a line, of the vendor whose tool lists any.
nvidia_gpus() {
    command -v nvidia-smi >/dev/null 2>&1 || return 0
    nvidia-smi -L 2>/dev/null | sed -n 's/^GPU \([0-9][0-9]*\):.*/\1/p' || true
}

amd_gpus() {
    command -v rocm-smi >/dev/null 2>&1 || return 0
    rocm-smi --showid 2>/dev/null | sed -n 's/^GPU\[\([0-9][0-9]*\)\].*/\1/p' | sort -un || true
}

vendor=${MIMICRY_GPU_VENDOR:-}
gpus=()
case ${MIMICRY_GPUS:-} in
    none) ;;
    '')
        if [ -z "$vendor" ] || [ "$vendor" = nvidia ]; then
            mapfile -t gpus < <(nvidia_gpus)
            [ "${#gpus[@]}" -gt 0 ] && vendor=nvidia
        fi
        if [ "${#gpus[@]}" -eq 0 ] && { [ -z "$vendor" ] || [ "$vendor" = amd ]; }; then
            mapfile -t gpus < <(amd_gpus)
            [ "${#gpus[@]}" -gt 0 ] && vendor=amd
        fi
        ;;
    *)
        IFS=, read -r -a gpus <<<"$MIMICRY_GPUS"
        for index in "${gpus[@]}"; do
            is_count "$index" || mimicry_die "MIMICRY_GPUS must be 'none' or GPU indices like 0,2; got '$MIMICRY_GPUS'"
        done
        if [ -z "$vendor" ]; then
            if command -v nvidia-smi >/dev/null 2>&1; then
                vendor=nvidia
            elif command -v rocm-smi >/dev/null 2>&1; then
                vendor=amd
            else
                mimicry_die "MIMICRY_GPUS is set but neither nvidia-smi nor rocm-smi is here; set MIMICRY_GPU_VENDOR"
            fi
        fi
        ;;
esac
case $vendor in
    nvidia) pin_variable=CUDA_VISIBLE_DEVICES ;;
    amd) pin_variable=HIP_VISIBLE_DEVICES ;;
    '') ;;
    *) mimicry_die "MIMICRY_GPU_VENDOR must be nvidia or amd; got '$vendor'" ;;
esac

# nproc obeys OMP_NUM_THREADS, which Dask sets to 1 in its workers: count the CPUs we may use.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
cpu_workers=${MIMICRY_CPU_WORKERS:-1}
gpu_threads=${MIMICRY_GPU_WORKER_THREADS:-1}
is_count "$cpu_workers" || mimicry_die "MIMICRY_CPU_WORKERS must be a count; got '$cpu_workers'"
if ! is_count "$gpu_threads" || [ "$gpu_threads" -lt 1 ]; then
    mimicry_die "MIMICRY_GPU_WORKER_THREADS must be >= 1; got '$gpu_threads'"
fi
if [ "${#gpus[@]}" -eq 0 ] && [ "$cpu_workers" -eq 0 ]; then
    mimicry_die "no GPU found and MIMICRY_CPU_WORKERS=0: nothing to start"
fi
if [ "$cpu_workers" -gt 0 ]; then
    free_cores=$((cores - ${#gpus[@]} * gpu_threads))
    default_threads=$((free_cores / cpu_workers))
    [ "$default_threads" -ge 1 ] || default_threads=1
    cpu_threads=${MIMICRY_CPU_THREADS:-$default_threads}
    if ! is_count "$cpu_threads" || [ "$cpu_threads" -lt 1 ]; then
        mimicry_die "MIMICRY_CPU_THREADS must be >= 1; got '$cpu_threads'"
    fi
fi

worker_dashboard=${MIMICRY_DASK_WORKER_DASHBOARD_ADDRESS:-127.0.0.1:0}

# Each command is an `env` invocation, so the pinning is visible in a dry run and in `ps`.
commands=()
for index in "${gpus[@]}"; do
    commands+=("$(printf '%q ' env "$pin_variable=$index" "NUMBA_NUM_THREADS=$gpu_threads" \
        dask worker "$scheduler" --name "$host-gpu$index" --nworkers 1 --nthreads 1 \
        --resources GPU=1 --dashboard-address "$worker_dashboard" ${tls[@]+"${tls[@]}"} "$@")")
done
if [ "$cpu_workers" -gt 0 ]; then
    commands+=("$(printf '%q ' env "NUMBA_NUM_THREADS=$cpu_threads" \
        dask worker "$scheduler" --name "$host-cpu" --nworkers "$cpu_workers" --nthreads 1 \
        --dashboard-address "$worker_dashboard" ${tls[@]+"${tls[@]}"} "$@")")
fi

if [ "$dry_run" = 1 ]; then
    printf '%s\n' "${commands[@]% }"
    exit 0
fi

mimicry_require dask mimicry
# A chunk task reports to the Prefect API from the worker (without PREFECT_API_URL each worker
# would start a private ephemeral server and its task runs would vanish from the UI), and writes
# its chunk to the store's ledger, which must be the store the flow run reads.
[ -n "${PREFECT_API_URL:-}" ] \
    || mimicry_die "set PREFECT_API_URL to the Prefect server's API (http://HOST:4200/api)"
if [ -z "${MIMICRY_DATABASE_URL:-}" ]; then
    mimicry_log "warning: MIMICRY_DATABASE_URL is unset: chunks go to the SQLite store under" \
        "MIMICRY_HOME on this machine, right only if the flow runs use that same file"
fi
mimicry_log "${#gpus[@]} GPU worker(s)${vendor:+ ($vendor)}, $cpu_workers CPU worker(s) for $scheduler"
pids=()
stop_workers() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap 'stop_workers; exit 143' TERM
trap 'stop_workers; exit 130' INT
for command in "${commands[@]}"; do
    # exec: the background job *is* the worker's nanny, so TERM reaches it directly.
    eval "exec $command" &
    pids+=("$!")
done
# One worker group ending ends them all, so a supervisor (systemd, compose) sees it and restarts.
status=0
wait -n || status=$?
mimicry_log "a worker group exited with status $status; stopping the others"
stop_workers
exit "$status"
