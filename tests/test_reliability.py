"""Reliability of Step 2 under faults, with real processes, a real Prefect server and real Dask.

* A chunk failing its first attempt is retried and the run completes with full coverage.
* A run killed part-way through the sieve and started again computes only the chunks that had
  not finished (every ledger row computed exactly once).
* A Dask worker killed during the sieve: its chunks run elsewhere; nothing is lost or counted
  twice in the store.
* Two runs on the same stream at once do not corrupt each other's rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time

import pytest
from distributed import Client, LocalCluster
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness
from prefect_dask import DaskTaskRunner
from sqlalchemy import func, select

from flows.pipeline import pipeline
from gpu_kernels.backends import kernel_version
from gpu_kernels.backends.cpu import CpuBackend
from gpu_kernels.job import SieveJob
from mimicry.requests import PipelineRequest, SieveSettings
from mimicry.search.chunks import StoreMismatch, sieve_chunk
from mimicry.store.database import connect, store_fingerprint
from mimicry.store.models import Chunk, Draw, Run
from mimicry.store.runs import ledger_chunks
from tests.faults.inject import FAULT_PATH, failing
from tests.history import make_history, write_draws
from tests.test_cli import MIMICRY
from tests.test_pipeline import run_log


@pytest.fixture(scope="module")
def api_url():
    with prefect_test_harness(server_startup_timeout=300):
        yield PREFECT_API_URL.value()


def ledger_rows() -> list[Chunk]:
    with connect() as session:
        return list(session.scalars(select(Chunk).order_by(Chunk.lo)))


def job_chunks(run_id: str) -> list[Chunk]:
    with connect() as session:
        (record,) = session.get(Run, run_id).jobs
        return ledger_chunks(session, SieveJob.model_validate(record.job).key, kernel_version())


def run_command(api_url: str, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.Popen(
        [*MIMICRY, "run", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **popen,
    )


def test_a_chunk_failing_its_first_attempt_is_retried(api_url, home, monkeypatch):
    # The run's Dask worker is a thread of this process: patch the backend here.
    monkeypatch.setattr(
        CpuBackend, "sieve_chunk", failing(CpuBackend.sieve_chunk, fail_first_attempt=True)
    )
    seed = 2024
    draws = make_history("minstd_rand", "mod", 1000, seed, range(30))
    answer = pipeline(
        PipelineRequest(
            stream="flaky",
            draws_file=write_draws(home / "d.txt", draws),
            families=("minstd_rand",),
            sieve=SieveSettings(seeds=(0, 3999), chunk_size=1000, window=8, window_start=0),
            rank=False,  # the chunks are under test, not the ranking
        )
    )
    assert answer["survivors"][0]["seed"] == seed
    assert answer["stats"]["complete"]
    chunks = job_chunks(answer["run_id"])
    assert [(c.lo, c.hi, c.executions) for c in chunks] == [
        (lo, lo + 1000, 1) for lo in range(0, 4000, 1000)
    ]

    async def chunk_runs():
        async with get_client() as client:
            with connect() as session:
                flow_run_id = session.get(Run, answer["run_id"]).flow_run_id
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            return [r for r in runs if r.name.startswith("chunk ")]

    runs = asyncio.run(chunk_runs())
    assert len(runs) == 4
    assert all(r.state.is_completed() and r.run_count == 2 for r in runs)
    # Each retry is in the run's log, with the error that caused it (issue 25).
    log = run_log(runs[0].flow_run_id, last="Step 2: ")
    retries = [line for line in log if "Retry 1/3 will start" in line]
    assert len(retries) == 4 and all("failed with exception" in line for line in retries), log


def test_a_worker_starts_its_backend_once_for_all_its_chunks(api_url, home, monkeypatch):
    """A backend per process, not per chunk (issue 26): the gpu backend finds its device and
    builds its kernels' target when it starts, which every chunk paid again."""
    from mimicry.settings import _process_backend, get_settings, sieve_backend

    started = []
    original = CpuBackend.__init__

    def counted(self, *args, **kwargs):
        started.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(CpuBackend, "__init__", counted)
    _process_backend.cache_clear()
    draws = make_history("minstd_rand", "mod", 1000, 77, range(30))
    answer = pipeline(
        PipelineRequest(
            stream="one-backend",
            draws_file=write_draws(home / "d.txt", draws),
            families=("minstd_rand",),
            sieve=SieveSettings(seeds=(0, 3999), chunk_size=500, window=8, window_start=0),
            rank=False,
        )
    )
    assert answer["survivors"][0]["seed"] == 77
    assert len(job_chunks(answer["run_id"])) == 8
    assert len(started) == 1  # eight chunks, one backend (the run's worker is in this process)
    assert sieve_backend("cpu") is started[0]
    # Another configuration is another backend.
    monkeypatch.setenv("MIMICRY_KERNEL_CACHE", str(home / "other-kernels"))
    get_settings.cache_clear()
    assert sieve_backend("cpu") is not started[0] and len(started) == 2
    get_settings.cache_clear()
    _process_backend.cache_clear()


def test_a_range_that_keeps_failing_makes_the_run_fail_and_says_so(api_url, home):
    path = write_draws(home / "d.txt", make_history("minstd_rand0", "mod", 1000, 77, range(30)))
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PYTHONPATH": FAULT_PATH,
        "MIMICRY_TEST_FAIL_CHUNKS": "2000",
    }
    proc = subprocess.run(
        [
            *MIMICRY,
            "run",
            path,
            "--stream",
            "lossy",
            "--family",
            "minstd_rand0",
            "--seeds",
            "0..3999",
            "--chunk-size",
            "1000",
            "--window-trials",
            "0",
            "--no-rank",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 4, proc.stderr[-3000:]
    answer = json.loads(proc.stdout)
    assert not answer["stats"]["complete"]
    assert answer["stats"]["missing_ranges"] == {"minstd_rand0": [[2000, 2999]]}
    assert "Incomplete" in answer["verdict"] and "2000..2999 not searched" in answer["verdict"]
    assert proc.stderr.strip().splitlines()[-1] == (
        "mimicry: error: incomplete sieve: minstd_rand0 candidates 2000..2999 not searched"
    )
    with connect() as session:
        run = session.get(Run, answer["run_id"])
        assert run.state == "incomplete"
        assert run.jobs[0].state == "incomplete"
    assert answer["survivors"][0]["seed"] == 77  # what was searched is still reported


def test_a_worker_on_another_store_refuses_the_chunk(home):
    job = SieveJob(
        family="minstd_rand",
        window=tuple(make_history("minstd_rand", "mod", 1000, 5, range(6))),
        candidate_range=(0, 99),
    )
    with pytest.raises(StoreMismatch, match="give every worker the flow's MIMICRY_DATABASE_URL"):
        sieve_chunk(job, 0, 100, "cpu", store="0123456789ab")
    assert sieve_chunk(job, 0, 100, "cpu", store=store_fingerprint()).match_count == 1


def test_a_killed_run_resumes_with_only_the_unfinished_chunks(api_url, home):
    # The reference backend is slow on MT19937 (about a second per 1,000 seeds): the run is
    # killed while chunks are still being computed.
    seed = 9_000
    path = write_draws(home / "mt.txt", make_history("mt19937", "mod", 1000, seed, range(30)))
    args = [
        path,
        "--stream",
        "resume",
        "--family",
        "mt19937",
        "--seeds",
        "0..11999",
        "--window",
        "8",
        "--window-start",
        "0",
        "--min-matches",
        "8",
        "--backend",
        "reference",
        "--chunk-size",
        "1000",
        "--no-rank",
    ]
    first = run_command(api_url, *args, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        try:
            if len(ledger_rows()) >= 3:
                break
        except Exception:  # the store may not exist yet
            pass
        time.sleep(0.2)
    assert first.poll() is None, "the run finished before it could be killed"
    os.killpg(first.pid, signal.SIGKILL)  # the CLI, its Dask cluster, everything it started
    first.wait(60)
    finished_before = {(c.lo, c.hi) for c in ledger_rows()}
    assert 3 <= len(finished_before) < 12

    second = run_command(api_url, *args)
    out, err = second.communicate(timeout=900)
    assert second.returncode == 0, err[-3000:]
    answer = json.loads(out)
    assert answer["survivors"][0]["seed"] == seed and answer["stats"]["complete"]
    chunks = job_chunks(answer["run_id"])
    assert [(c.lo, c.hi) for c in chunks] == [(lo, lo + 1000) for lo in range(0, 12_000, 1000)]
    # Every chunk computed exactly once over both runs: the second run recomputed none of the
    # chunks the first one had finished, and computed each of the others once.
    assert all(c.executions == 1 for c in chunks)
    assert {(c.lo, c.hi) for c in chunks} - finished_before  # the second run did real work


def test_a_killed_dask_worker_loses_nothing(api_url, home):
    seed = 5_500
    draws = make_history("mt19937", "mod", 1000, seed, range(30))
    request = PipelineRequest(
        stream="worker-loss",
        draws_file=write_draws(home / "d.txt", draws),
        families=("mt19937",),
        sieve=SieveSettings(
            seeds=(0, 9999), chunk_size=1000, window=8, window_start=0, backend="reference"
        ),
        window_trials=0,  # the window is given: Step 1 would only sieve in plain Python
        rank=False,  # the chunks are under test, not the ranking
    )
    env = {"PREFECT_API_URL": api_url, "MIMICRY_HOME": os.environ["MIMICRY_HOME"]}
    killed = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=env
        ) as cluster,
        Client(cluster) as client,
    ):

        def kill_one_worker_mid_sieve():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if len(ledger_rows()) >= 2:
                        break
                except Exception:
                    pass
                time.sleep(0.1)
            pids = client.run(os.getpid)
            address, pid = sorted(pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append((address, len(ledger_rows())))

        killer = threading.Thread(target=kill_one_worker_mid_sieve)
        killer.start()
        flow = pipeline.with_options(task_runner=DaskTaskRunner(address=cluster.scheduler_address))
        state = flow(request, return_state=True)
        killer.join()
    answer = state.result()
    assert killed and killed[0][1] < 10, "the worker was killed after the sieve had finished"
    # The loss is in the run's log, where a person watching the run in the UI reads it.
    left = f"Dask worker {killed[0][0]} left the cluster (the chunks it held run again on another)"
    log = run_log(state.state_details.flow_run_id, last=left)
    assert any(line.startswith(left) for line in log), log
    assert answer["survivors"][0]["seed"] == seed
    assert answer["stats"]["complete"] and answer["stats"]["candidates_tested"] == 10_000
    chunks = job_chunks(answer["run_id"])
    assert [(c.lo, c.hi) for c in chunks] == [(lo, lo + 1000) for lo in range(0, 10_000, 1000)]
    with connect() as session:
        assert session.scalar(select(func.count()).select_from(Chunk)) == 10
        (record,) = session.get(Run, answer["run_id"]).jobs
        assert [s.seed for s in record.survivors] == [seed]


def test_a_run_with_no_dask_worker_fails_saying_so(api_url, home, monkeypatch):
    """A scheduler whose workers are all gone: the run fails after MIMICRY_NO_WORKER_SECONDS
    with a sentence naming the scheduler, instead of staying Running for ever."""
    from flows.sieve import sieve_flow
    from mimicry.draws.ingest import ingest_file
    from mimicry.settings import get_settings

    monkeypatch.setenv("MIMICRY_NO_WORKER_SECONDS", "4")
    get_settings.cache_clear()
    draws = make_history("glibc_rand", "mod", 1000, 77, range(30))
    assert ingest_file(write_draws(home / "w.txt", draws), "alone", modulus=1000).total == 30
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as cluster:
        flow = sieve_flow.with_options(
            task_runner=DaskTaskRunner(address=cluster.scheduler_address)
        )
        started = time.monotonic()
        state = flow(
            "alone",
            "glibc_rand",
            SieveSettings(seeds=(0, 999), window=8, backend="reference"),
            return_state=True,
        )
        waited = time.monotonic() - started
    get_settings.cache_clear()
    assert state.is_failed()
    expected = (
        f"no Dask worker has been connected to the scheduler at {cluster.scheduler_address} "
        "for 4 s (MIMICRY_NO_WORKER_SECONDS)"
    )
    assert expected in state.message, state.message
    assert 4 <= waited < 60
    log = run_log(state.state_details.flow_run_id, last="no Dask worker is connected")
    assert any(line.startswith("no Dask worker is connected to the scheduler at ") for line in log)
    with connect() as session:
        flow_run_id = str(state.state_details.flow_run_id)
        (run,) = session.scalars(select(Run).where(Run.flow_run_id == flow_run_id))
        assert run.state == "failed" and expected in run.error


def test_two_runs_on_one_stream_at_once(api_url, home):
    seed = 31_337
    path = write_draws(home / "twice.txt", make_history("glibc_rand", "mod", 1000, seed, range(50)))
    args = [
        path,
        "--stream",
        "shared",
        "--family",
        "glibc_rand",
        "--seeds",
        "0..39999",
        "--window-trials",
        "4",
        "--no-rank",
    ]
    runs = [run_command(api_url, *args) for _ in range(2)]
    outputs = [run.communicate(timeout=900) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    answers = [json.loads(out) for out, _ in outputs]
    assert answers[0]["run_id"] != answers[1]["run_id"]
    with connect() as session:
        assert session.scalar(select(func.count()).select_from(Draw)) == 50
        for answer in answers:
            run = session.get(Run, answer["run_id"])
            assert run.state == "completed"
            (record,) = run.jobs
            assert record.run_id == run.id and record.state == "complete"
            assert [s.seed for s in record.survivors][:1] == [seed]
            assert [s.rank for s in record.survivors] == list(range(len(record.survivors)))
    for answer in answers:
        assert answer["survivors"][0]["seed"] == seed and answer["stats"]["complete"]


def _task_states(flow_run_id: str) -> dict[str, str]:
    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            return {r.name.rsplit("-", 1)[0]: r.state.name for r in runs}

    return asyncio.run(read())


def test_cached_results_are_never_reused_across_stores(api_url, tmp_path, monkeypatch):
    """The ranking's cached steps (keyed on inputs and code) were reused from another
    MIMICRY_HOME's run; the store is now part of every cache key."""
    from mimicry.requests import RankingSettings
    from mimicry.settings import get_settings

    path = write_draws(tmp_path / "d.txt", make_history("mt19937", "mod", 1000, 99, range(120)))
    request = PipelineRequest(
        stream="cached",
        draws_file=path,
        families=("mt19937",),
        sieve=SieveSettings(seeds=(0, 1023), window=8, window_start=0),
        window_trials=0,
        ranking=RankingSettings(scorer_trials=2, model_trials=1, model_types=("lightgbm",)),
    )
    cached_steps = ("full-scoring", "scorer-meta-optimisation", "model-selection")

    def run_in(home: str) -> dict[str, str]:
        monkeypatch.delenv("MIMICRY_DATABASE_URL", raising=False)
        monkeypatch.setenv("MIMICRY_HOME", str(tmp_path / home))
        get_settings.cache_clear()
        answer = pipeline(request)
        with connect() as session:
            flow_run_id = session.get(Run, answer["run_id"]).flow_run_id
        return _task_states(str(flow_run_id))

    first = run_in("one")
    assert all(first[name] == "Completed" for name in cached_steps), first
    again = run_in("one")  # the same store: the cache serves
    assert all(again[name] == "Cached" for name in cached_steps), again
    other = run_in("two")  # a new store: everything is computed for it
    assert all(other[name] == "Completed" for name in cached_steps), other


def test_the_embedded_default_keeps_prefect_results_under_mimicry_home(api_url, tmp_path):
    path = write_draws(tmp_path / "d.txt", make_history("minstd_rand", "mod", 1000, 5, range(30)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMICRY_", "PREFECT_LOCAL"))}
    env |= {"PREFECT_API_URL": api_url, "MIMICRY_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [
            *MIMICRY,
            "run",
            path,
            "--family",
            "minstd_rand",
            "--seeds",
            "0..999",
            "--no-rank",
            "--window-trials",
            "0",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["survivors"][0]["seed"] == 5
    assert list((tmp_path / "home" / "prefect-results").iterdir())  # the chunk's result


def test_a_conflicting_ingest_in_a_flow_run_is_not_retried(api_url, home):
    """A deployment run whose file disagrees with the stream fails once, with the conflict as its
    message: retrying bad input cannot help."""
    first = write_draws(home / "a.txt", make_history("mt19937", "mod", 1000, 1, range(30)))
    other = write_draws(home / "b.txt", make_history("mt19937", "mod", 1000, 2, range(30)))
    request = PipelineRequest(
        stream="s",
        draws_file=first,
        families=("mt19937",),
        rank=False,
        sieve=SieveSettings(seeds=(0, 99)),
        window_trials=0,
    )
    assert pipeline(request)["stats"]["complete"]
    state = pipeline(request.model_copy(update={"draws_file": other}), return_state=True)
    assert state.is_failed() and "StoreConflict" in state.message
    states = asyncio.run(_ingest_runs(str(state.state_details.flow_run_id)))
    assert [run_count for _, run_count in states] == [1]


async def _ingest_runs(flow_run_id: str) -> list[tuple[str, int]]:
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        return [(r.state.name, r.run_count) for r in runs if r.name.startswith("ingest")]
