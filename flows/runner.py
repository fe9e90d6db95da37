"""The settings a flow run reads, once, as it starts, and the Dask task runner every flow
uses, built from them for each run (not when the flow's module is imported: a worker's
settings at run time are the ones that count).

``MIMICRY_DASK_ADDRESS`` sends work to an existing scheduler (a rig's GPU and CPU workers, see
``deployments/``). Without it each flow run starts a ``LocalCluster``: with one worker (the
default) a worker thread in the flow's own process, which sieves on every core (the kernels
release the GIL) and costs no process start-up; with ``MIMICRY_DASK_WORKERS`` > 1, worker
processes that share the cores, numba giving each ``cores // workers`` threads.
"""

from __future__ import annotations

import logging
import os
import urllib.request

import dask
from distributed import LocalCluster
from prefect.client.orchestration import get_client
from prefect_dask import DaskTaskRunner

from mimicry.settings import Settings, get_settings

#: Threads per local Dask worker: while one chunk's kernel holds the cores (the cpu backend lets
#: one kernel run at a time), the other thread does the next chunk's Prefect and ledger
#: bookkeeping, so the cores do not sit idle between chunks.
CHUNK_THREADS = 2

#: Dask settings for the clusters mimicry starts itself. A sieve chunk's kernel uses every core,
#: so each background wake-up of the scheduler's and workers' event loops takes a core from it.
#: Measured in a 2^26-seed run on 2 cores, over 8 s of kernel: with Dask's defaults the event
#: loop thread woke 102 times a second (its health tick every 20 ms, on the scheduler and the
#: worker alike) and used 0.41-0.69 s of CPU, with the statistical profiler sampling every 10 ms;
#: with these, 16 wake-ups a second and 0.08 s. The profiler cannot see inside a numba kernel
#: anyway, and a 1 s tick still reports a blocked event loop.
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def quiet_local_cluster(**cluster_kwargs) -> LocalCluster:
    """A LocalCluster whose scheduler and workers start with :data:`QUIET_CLUSTER` (its servers
    read these settings as they start; worker processes get them through their nanny)."""
    with dask.config.set(QUIET_CLUSTER):
        return LocalCluster(**cluster_kwargs)


#: How prefect_dask announces the dashboard; it does so whether the link answers or not.
DASHBOARD_LINE = "The Dask dashboard is available at"


class _DashboardLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(DASHBOARD_LINE)


def dashboard_answers(link: str, timeout: float = 1.0) -> bool:
    """Whether the dashboard page answers: it needs bokeh on the scheduler (a scheduler
    without it serves 404), and a rig's dashboard listens on its own loopback only."""
    try:
        with urllib.request.urlopen(link, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


class CheckedDashboardLink(DaskTaskRunner):
    """A DaskTaskRunner that logs the dashboard's link only when the page answers (a dead link
    in every run's log sends a person to a 404)."""

    def __enter__(self):
        quiet = _DashboardLine()
        self.logger.addFilter(quiet)
        try:
            runner = super().__enter__()
        finally:
            self.logger.removeFilter(quiet)
        link = self.client.dashboard_link
        if link and link.startswith(("http://", "https://")) and dashboard_answers(link):
            self.logger.info(f"{DASHBOARD_LINE} {link}")
        return runner


class RigTaskRunner(CheckedDashboardLink):
    """The task runner of a rig's scheduler (``MIMICRY_DASK_ADDRESS``)."""


class LocalClusterTaskRunner(CheckedDashboardLink):
    """A DaskTaskRunner for a LocalCluster: quiet (logs and background wake-ups), and its worker
    processes report to the flow's own Prefect API.

    Without a configured ``PREFECT_API_URL`` the flow talks to Prefect's ephemeral server, and a
    worker process started by the cluster would start an ephemeral server of its own: its task
    runs would vanish from the flow's UI and cost seconds of start-up. Worker processes are given
    the address of the server the flow already uses (an in-process worker shares it anyway).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("cluster_class", quiet_local_cluster)  # duplicate() passes it on
        super().__init__(**kwargs)

    def __enter__(self):
        logging.getLogger("distributed").setLevel(logging.WARNING)
        in_process = not self.cluster_kwargs.get("processes", True)
        if self.address is None and not in_process and "PREFECT_API_URL" not in os.environ:
            with get_client(sync_client=True) as client:
                api_url = str(client.api_url)
            env = {**self.cluster_kwargs.get("env", {}), "PREFECT_API_URL": api_url}
            self.cluster_kwargs = {**self.cluster_kwargs, "env": env}
        return super().__enter__()


#: Where the local cluster's servers listen: the loopback interface only. Dask does not
#: authenticate, and its HTTP servers show logs, call stacks and the task graph: nothing of a
#: run's cluster is reachable from the host's network addresses.
LOOPBACK = "127.0.0.1"


def loopback_cluster(dashboard: str | None, processes: bool) -> dict:
    """LocalCluster arguments that bind the scheduler, its HTTP server and the workers' to the
    loopback interface (worker processes talk over TCP on it; an in-process worker over
    ``inproc://``, which opens no port), with the scheduler's dashboard served only when asked
    for (``MIMICRY_DASK_DASHBOARD``, e.g. ``127.0.0.1:8787``)."""
    return {
        **({"host": LOOPBACK} if processes else {}),
        "processes": processes,
        "dashboard_address": None,
        "scheduler_kwargs": {
            "dashboard": dashboard is not None,
            "dashboard_address": dashboard or f"{LOOPBACK}:0",
        },
        "worker_dashboard_address": f"{LOOPBACK}:0",
    }


def run_settings() -> Settings:
    """This flow run's settings (``MIMICRY_*`` of the process that runs it), read where the run
    starts; flows pass the values they need down (docs/design.md §3)."""
    return get_settings()


class PerRunTaskRunner(DaskTaskRunner):
    """The task runner a flow names: a placeholder whose copy for each run (Prefect takes one
    as every run starts, :meth:`duplicate`) is the runner that run's settings configure."""

    def duplicate(self) -> DaskTaskRunner:
        return dask_task_runner(run_settings())


def dask_task_runner(settings: Settings) -> DaskTaskRunner:
    if settings.dask_address:
        security = settings.dask_security()
        return RigTaskRunner(
            address=settings.dask_address,
            client_kwargs={"security": security} if security is not None else {},
        )
    workers = settings.dask_workers
    if workers == 1:
        # Measured: a worker process took 4.4 s to start and 2 s to stop per run (imports of
        # distributed, Prefect, numba and the kernels), 13 % of a 2^28-candidate sieve.
        return LocalClusterTaskRunner(
            cluster_kwargs={
                "n_workers": 1,
                "threads_per_worker": CHUNK_THREADS,
                **loopback_cluster(settings.dask_dashboard, processes=False),
            }
        )
    threads = max(1, (os.cpu_count() or 1) // workers)
    return LocalClusterTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": CHUNK_THREADS,
            **loopback_cluster(settings.dask_dashboard, processes=True),
            # numba reads its thread count when a worker imports it; Dask's own start-up and
            # shutdown chatter stays out of the run's log.
            "env": {"NUMBA_NUM_THREADS": str(threads), "DASK_LOGGING__DISTRIBUTED": "warning"},
        }
    )
