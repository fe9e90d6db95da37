"""The pipeline flow on a real Prefect server (test harness) and real Dask clusters.

* A hidden seed behind an unknown offset: Step 1 narrows the offset range within the trial
  budget, Step 2 sieves the range in chunks on Dask workers, the store and the Prefect API hold
  the run, its jobs, its ledger, its survivors and its artifacts.
* Draws from OS entropy: nothing significant, said in words.
* GPU chunks carry the Dask resource GPU=1 and only run on the worker that advertises it.
* ``mimicry run --json`` through the installed command: one JSON object, the sieve's shape.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import secrets
import subprocess
import time
import urllib.request

import pytest
from distributed import Scheduler, SpecCluster, Worker
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.testing.utilities import prefect_test_harness
from prefect_dask import DaskTaskRunner
from sqlalchemy import select

from flows.pipeline import pipeline
from flows.sieve import sieve_flow
from gpu_kernels.backends import kernel_version
from gpu_kernels.backends.cpu import CpuBackend
from gpu_kernels.backends.gpu import GpuBackend
from gpu_kernels.job import SieveJob
from mimicry.draws.ingest import ingest_file
from mimicry.ranking.features import FEATURE_NAMES
from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings
from mimicry.search.sieve import default_chunk_size
from mimicry.settings import get_settings
from mimicry.store.database import connect
from mimicry.store.models import Prediction, Run
from mimicry.store.runs import ledger_chunks, standing_run
from mimicry.store.scoring import scoring_snapshot
from tests.history import make_history, write_draws
from tests.test_cli import MIMICRY, STATS_KEYS, SURVIVOR_KEYS


@pytest.fixture(scope="module")
def prefect_api():
    with prefect_test_harness(server_startup_timeout=300):
        yield


def artifacts(key: str) -> list:
    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )

    return asyncio.run(read())


def run_log(flow_run_id, last: str) -> list[str]:
    """The messages of a flow run's log (its tasks' included), oldest first, as the UI shows,
    once a line starting with ``last`` has arrived (Prefect ships logs in the background)."""

    async def read():
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            return [log.message for log in sorted(logs, key=lambda log: log.timestamp)]

    deadline = time.monotonic() + 60
    while True:
        log = asyncio.run(read())
        if any(line.startswith(last) for line in log) or time.monotonic() > deadline:
            return log
        time.sleep(1)


def test_pipeline_finds_a_seed_behind_an_unknown_offset(prefect_api, home):
    seed, offset = 1 + secrets.randbelow(12_000), 3
    draws = make_history("mt19937", "mod", 1000, seed, range(offset, offset + 80))
    request = PipelineRequest(
        stream="hidden",
        draws_file=write_draws(home / "draws.txt", draws),
        families=("mt19937", "glibc_rand"),
        sieve=SieveSettings(seeds=(0, 16_383), offsets=(0, 8), chunk_size=4096, predict=4),
        window_trials=12,
        trial_budget=1 << 14,
    )
    answer = pipeline(request)

    best = answer["survivors"][0]
    assert (best["family"], best["seed"]) == ("mt19937", seed)
    start = best["window"]["start"]
    # The offset counts calls before the stream's first draw, wherever Step 1 put the window.
    assert (best["offset"], best["first_call"]) == (offset, offset + start)
    truth = make_history("mt19937", "mod", 1000, seed, range(offset, offset + 84))
    assert best["next"] == truth[80:]
    assert best["p_value"] < 1e-100
    choices = answer["window_choices"]
    assert choices["mt19937"]["source"] == "optimised"
    assert choices["glibc_rand"]["source"] == "fallback"  # nothing to find there
    assert answer["stats"]["complete"] and answer["stats"]["significant"]
    assert answer["stats"]["candidates_tested"] == 2 * 16_384
    assert "Significant" in answer["verdict"]

    with connect() as session:
        run = session.get(Run, answer["run_id"])
        assert run.state == "completed" and run.flow_run_id
        assert {job.job["family"] for job in run.jobs} == {"mt19937", "glibc_rand"}
        for record in run.jobs:
            job = SieveJob.model_validate(record.job)
            chunks = ledger_chunks(session, job.key, kernel_version())
            # Four chunks of 4096 candidates, each once, computed on a Dask worker (the default
            # LocalCluster runs its one worker in the flow's process: an inproc:// address).
            assert [(c.lo, c.hi) for c in chunks] == [
                (lo, lo + 4096) for lo in range(0, 16_384, 4096)
            ]
            dask_worker = ("tcp://", "inproc://")
            assert all(c.executions == 1 and c.worker.startswith(dask_worker) for c in chunks)
            assert record.state == "complete" and record.chunk_size == 4096
        mt_job = next(j for j in run.jobs if j.job["family"] == "mt19937")
        assert mt_job.survivors[0].seed == seed
        # The run ranked (its window sits in the training draws), and the store keeps the
        # survivors exactly as shown: the same offset, and `next` past the newest draw.
        assert answer["signal"] is not None
        stored = {
            (r.family, r.seed, r.first_call, json.dumps(r.skip)): r
            for record in run.jobs
            for r in record.survivors
        }
        for shown in answer["survivors"]:
            row = stored[
                (shown["family"], shown["seed"], shown["first_call"], json.dumps(shown["skip"]))
            ]
            assert (row.offset, row.next) == (shown["offset"], shown["next"])
        assert mt_job.survivors[0].next == truth[80:]

    # The run's log tells the story in the UI: one line per decision, beside Prefect's own.
    log = run_log(run.flow_run_id, last="Step 6: ")
    assert (
        "Stream 'hidden' holds 80 draws (80 added from the run's file); from draw 0: 60 to "
        "search and rank, the newest 20 held out for Step 5's test"
    ) in log
    step1 = [line for line in log if line.startswith("Step 1, mt19937: optimised window ")]
    assert len(step1) == 1 and "best of 12 trials" in step1[0]
    assert any(line.startswith("Step 1, glibc_rand: fallback window ") for line in log)
    chunks = [line for line in log if line.startswith("chunk ")]
    assert len(chunks) == 8 and all(
        " window match" in line and ", sieved in " in line and " by the cpu backend on " in line
        for line in chunks
    )
    assert any(
        line.startswith("Step 2: A search of this size") and "Significant:" in line for line in log
    )
    # Steps 2.5, 3 and 4 say what they chose, each in one line (issue 25).
    (scorer,) = [line for line in log if line.startswith("Step 2.5: scorer tuned in ")]
    # The decoys are drawn at random: a decoy that is a survivor's twin is not added again.
    assert re.search(r" hypotheses \(\d+ survivors?, \d+ chance decoys\): validation gain ", scorer)
    (scoring,) = [line for line in log if line.startswith("Step 3: ")]
    assert " hypotheses scored at " in scoring and " walk-forward cuts" in scoring
    (selection,) = [line for line in log if line.startswith("Step 4: ")]
    assert " chosen, validation gain " in selection and "; the others: " in selection
    assert any(line.startswith("Step 5: signal (") for line in log)
    # The default cluster serves no dashboard: no link to a page that answers 404.
    assert not [line for line in log if "dashboard" in line.lower()]
    assert any(
        line.startswith("Step 6: next draw of 'hidden' (position 80): pool ") for line in log
    )

    progress = [a.description for a in artifacts("sieve-progress-mt19937")]
    assert "mt19937: 4 chunks of 4,096 candidates (16,384 in all) finished" in progress
    (summary,) = [a for a in artifacts("sieve-summary") if answer["run_id"] in a.data]
    assert "**Significant**" in summary.data
    assert any(str(seed) in json.dumps(a.data) for a in artifacts("top-survivors"))


def test_a_model_whose_training_went_wrong_does_not_predict_for_its_stream(prefect_api, home):
    """A run whose winner is critical (an MLP at a learning rate of 1,000, pinned through the
    request) completes, but its model is not promoted: the stream keeps the earlier run's model
    and prediction, and the answer, the run and the store say why."""
    draws = write_draws(home / "draws.txt", make_history("glibc_rand", "mod", 1000, 777, range(80)))
    search = dict(
        stream="sabotaged",
        draws_file=draws,
        families=("glibc_rand",),
        sieve=SieveSettings(seeds=(0, 2047)),
        window_trials=0,
    )
    first = pipeline(
        PipelineRequest(**search, ranking=RankingSettings(model_types=("xgboost",), model_trials=1))
    )
    assert first["not_promoted"] is None and first["prediction"]["position"] == 80
    broken = pipeline(
        PipelineRequest(
            **search,
            ranking=RankingSettings(
                model_types=("mlp",),
                model_trials=1,
                model_params={"mlp": {"learning_rate": 1000.0}},
            ),
        )
    )
    assert broken["model"]["health"] == "critical" and broken["signal"] == "signal"
    assert broken["not_promoted"].startswith(
        "not promoted: the mlp model's training health is critical ("
    )
    assert "diverged" in broken["not_promoted"]
    # The operator hears of it: one event, with the run and the reason (docs/design.md §22).
    from tests.test_watcher_loop import mimicry_events

    (told,) = mimicry_events("mimicry.model.critical-health", at_least=1)
    assert told["payload"]["run_id"] == broken["run_id"]
    assert told["payload"]["reason"] == broken["not_promoted"]
    with connect() as session:
        assert session.get(Run, broken["run_id"]).not_promoted == broken["not_promoted"]
        assert session.get(Run, broken["run_id"]).state == "completed"
        (prediction,) = session.scalars(select(Prediction).where(Prediction.position == 80))
        assert prediction.run_id == first["run_id"]  # the earlier model's, kept
    # What predicts and scores the stream's next draws is the earlier run.
    snapshot = scoring_snapshot("sabotaged")
    assert snapshot.latest_ranked.run_id == first["run_id"] == snapshot.newest.run_id
    assert standing_run("sabotaged") == first["run_id"]  # what `mimicry run` points at
    assert standing_run("no such stream") is None


def test_draws_from_os_entropy_are_nothing_significant(prefect_api, home):
    draws = [secrets.randbelow(1000) for _ in range(40)]
    answer = pipeline(
        PipelineRequest(
            stream="entropy",
            draws_file=write_draws(home / "noise.txt", draws),
            families=("mt19937",),
            sieve=SieveSettings(seeds=(0, 8191)),
            window_trials=6,
            trial_budget=4096,
            rank=False,  # 40 draws: too few to hold any out
        )
    )
    assert answer["prediction"] is None and answer["signal"] is None  # nothing ranked
    assert not answer["stats"]["significant"]
    assert all(s["p_value"] >= 0.01 for s in answer["survivors"])
    assert "Nothing significant" in answer["verdict"]
    assert "**Significant**" not in answer["verdict"]
    assert answer["window_choices"]["mt19937"]["source"] == "fallback"


class _EmulatedGpu(CpuBackend):
    """Stands in for the GPU backend (no GPU here): the routing under test is Dask's, driven by
    the resources the backend declares, not by its name."""

    name = "gpu"
    dask_resources = GpuBackend.dask_resources

    def __init__(self, kernel_cache=None, target: str = "device") -> None:
        super().__init__(kernel_cache=kernel_cache)  # built as the gpu backend is


def test_gpu_chunks_run_only_on_a_gpu_worker(prefect_api, home, monkeypatch):
    monkeypatch.setattr("gpu_kernels.backends.gpu.GpuBackend", _EmulatedGpu)
    seed = 4321
    draws = make_history("xorshift32", "mod", 1000, seed, range(30))
    ingest_file(write_draws(home / "d.txt", draws), "routed", modulus=1000)
    workers = {
        "cpu": {"cls": Worker, "options": {"nthreads": 1}},
        "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}},
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0"}}
    with SpecCluster(workers=workers, scheduler=scheduler) as cluster:
        gpu_address = next(
            address
            for address, info in cluster.scheduler_info["workers"].items()
            if info.get("resources", {}).get("GPU")
        )
        flow = sieve_flow.with_options(
            task_runner=DaskTaskRunner(address=cluster.scheduler_address)
        )
        answer = flow(
            "routed",
            "xorshift32",
            SieveSettings(backend="gpu", seeds=(0, 9999), chunk_size=1000),
        )
    assert answer["survivors"][0]["seed"] == seed
    with connect() as session:
        job = SieveJob.model_validate(session.scalar(select(Run)).jobs[0].job)
        workers_used = {c.worker for c in ledger_chunks(session, job.key, kernel_version())}
    assert workers_used == {gpu_address}


def test_run_command_json_is_one_object_of_the_sieve_shape(home):
    seed = 777
    draws = make_history("glibc_rand", "mod", 1000, seed, range(80))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    path = write_draws(home / "pick.txt", draws[:40])
    command = [*MIMICRY, "run", path, "--family", "glibc_rand", "--seeds", "0..2047"]
    command += ["--window-trials", "3"]

    def mimicry(*args):
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)

    def status():
        return json.loads(mimicry(*MIMICRY, "status", "--json").stdout)

    # 40 draws are too few to hold 20 out and train on 40: refused before anything is written.
    refused = mimicry(*command, "--json")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        f"mimicry: error: {path}: the stream has 40 draws; holding out the newest 20 leaves 20 "
        "to train on, fewer than 40: it needs at least 60 draws (--no-rank searches it without "
        "ranking)"
    ]
    assert status()["runs"] == [] and status()["streams"] == []

    proc = mimicry(*command, "--no-rank", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    answer = json.loads(proc.stdout)  # exactly one JSON object: anything else fails to parse
    assert set(answer) >= {"run_id", "job", "jobs", "survivors", "stats", "timings"}
    assert answer["prediction"] is None and answer["model"] is None
    assert set(answer["survivors"][0]) >= SURVIVOR_KEYS
    assert set(answer["stats"]) >= STATS_KEYS
    assert answer["survivors"][0]["seed"] == seed
    assert answer["job"]["family"] == "glibc_rand"
    with connect() as session:
        (record,) = session.get(Run, answer["run_id"]).jobs
        # No --chunk-size: the cpu backend's default for this job, as recorded with the job.
        job = SieveJob.model_validate(record.job)
        assert record.chunk_size == default_chunk_size(job, CpuBackend) >= 1 << 24

    # The same stream, 40 draws later: now the run ranks, tests and predicts (readable output;
    # one Optuna trial per model type: what the selection does is tested in test_studies.py),
    # keeping every type's best model.
    write_draws(home / "pick.txt", draws)
    ranked = mimicry(
        *command, "--model-trials", "1", "--save-all-models", "--tensorboard", home / "tb"
    )
    assert ranked.returncode == 0, ranked.stderr[-3000:]
    assert "Test split: held-out pools hit 20/20" in ranked.stdout
    truth = make_history("glibc_rand", "mod", 1000, seed, [80])[0]
    assert "next draw of 'pick' (position 80)" in ranked.stdout
    pool = next(line for line in ranked.stdout.splitlines() if line.startswith("pool ("))
    assert pool.split(": ")[1].split()[0] == str(truth)
    runs = status()["runs"]
    assert [(r["state"], r["stream"]) for r in runs] == [("completed", "pick")] * 2
    assert answer["run_id"] in {r["run_id"] for r in runs}

    # Its model's training health: every fit checked, the worst severity on the run too.
    ranked_run = runs[0]["run_id"]
    checked = json.loads(mimicry(*MIMICRY, "health", "--run", ranked_run, "--json").stdout)
    model, *kept = checked["models"]  # the winner first, then the other types' best
    assert model["chosen"] and not any(other["chosen"] for other in kept)
    types = [model["model_type"], *(other["model_type"] for other in kept)]
    assert sorted(types) == ["catboost", "lightgbm", "mlp", "xgboost"]
    for other in kept:
        assert other["health"] in {"ok", "warning", "critical"} and other["attribution"] == []
        assert [fit["fit"] for fit in other["fits"]][-1] == "final"
    (newest,) = json.loads(mimicry(*MIMICRY, "health", "--stream", "pick", "--json").stdout)[
        "models"
    ]
    assert newest["model_id"] == model["model_id"]  # a stream's model is the one that predicts
    kept_table = mimicry(*MIMICRY, "health", "--run", ranked_run).stdout
    assert kept_table.count("(kept)") == 3, kept_table
    assert model["run_id"] == ranked_run and model["stream"] == "pick"
    assert model["health"] in {"ok", "warning", "critical"} and runs[0]["health"] == model["health"]
    fits = [fit["fit"] for fit in model["fits"]]
    assert fits[-2:] == ["monitored", "final"] and fits[0].startswith("fold ")
    checks = {finding["check"] for fit in model["fits"] for finding in fit["findings"]}
    assert {"diverged", "did_not_learn", "overfit", "constant_predictions"} <= checks
    assert runs[1]["health"] is None  # the --no-rank run trained no model
    # Why the first hypotheses rank first: the true seed, its features' shares.
    first = model["attribution"][0]
    assert len(model["attribution"]) == 5 and first["rank"] == 1 and "777" in first["hypothesis"]
    assert first["shares"] and {s["feature"] for s in first["shares"]} <= set(FEATURE_NAMES)
    (picture,) = (home / "home" / "training").rglob(f"{ranked_run}.png")
    assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size > 10_000
    # TensorBoard's own reader finds the learning curves and the findings (for people only:
    # nothing in mimicry reads them back).
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (home / "tb").glob(f"pick-*/{ranked_run}")
    board = EventAccumulator(str(events), size_guidance={"scalars": 0, "tensors": 0})
    board.Reload()
    curve = board.Scalars("loss/train")
    assert len(curve) > 1 and all(math.isfinite(point.value) for point in curve)
    assert {"health/text_summary", "why/text_summary"} <= set(board.Tags()["tensors"])
    (health_text,) = board.Tensors("health/text_summary")
    assert health_text.tensor_proto.string_val[0].decode().startswith(f"`{model['model_type']}: ")
    why = mimicry(*MIMICRY, "health", "--run", ranked_run, "--why")
    assert why.returncode == 0 and "#1 " in why.stdout and " because " in why.stdout, why
    table = mimicry(*MIMICRY, "health", "--all")
    assert table.returncode == 0 and "pick" in table.stdout and "final: diverged" in table.stdout
    for args, message in (
        (("--run", "no-such-run"), "--run: run no-such-run has no registered model"),
        (("--run", ranked_run, "--stream", "pick"), "--run and --stream: name one of them"),
        (("--stream", "nope"), "--stream: "),
    ):
        refused = mimicry(*MIMICRY, "health", *args)
        assert refused.returncode == 2 and refused.stdout == "", refused
        assert refused.stderr.startswith(f"mimicry: error: {message}"), refused.stderr


def background_periods(dask_worker=None, dask_scheduler=None) -> dict[str, float]:
    """The periods (ms) of a Dask server's background callbacks that wake it while a kernel
    holds the cores."""
    server = dask_worker or dask_scheduler
    return {
        name: callback.callback_time
        for name, callback in server.periodic_callbacks.items()
        if name in ("tick", "monitor", "profile")
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_local_clusters_start_quiet(prefect_api, workers):
    """The clusters a flow starts itself (an in-process worker, or worker processes) wake
    rarely and do not profile; Dask's settings outside them are left as they were."""
    import dask

    from flows.runner import dask_task_runner
    from mimicry.settings import Settings

    before = dask.config.get("distributed.admin.tick.interval")
    with dask_task_runner(Settings(dask_workers=workers)) as runner:
        quiet = {"tick": 1000, "monitor": 2000}
        assert runner.client.run_on_scheduler(background_periods) == quiet
        per_worker = runner.client.run(background_periods)
        assert len(per_worker) == workers
        assert all(periods == quiet for periods in per_worker.values())
    assert dask.config.get("distributed.admin.tick.interval") == before


def test_a_flow_run_takes_what_its_flags_leave_open_from_the_settings(
    prefect_api, home, monkeypatch
):
    # A deployment run passes no backend and no extension limit: the worker's settings decide,
    # once, and the run records what it used.
    monkeypatch.setenv("MIMICRY_BACKEND", "reference")
    monkeypatch.setenv("MIMICRY_EXTENSION_LIMIT", "5")
    get_settings.cache_clear()
    seed = 321
    draws = make_history("minstd_rand", "mod", 1000, seed, range(40))
    ingest_file(write_draws(home / "d.txt", draws), "configured", modulus=1000)
    answer = sieve_flow("configured", "minstd_rand", SieveSettings(seeds=(0, 499)))
    best = answer["survivors"][0]
    assert best["seed"] == seed
    assert (best["matches_after"], best["checked_after"]) == (5, 5)  # not the default 64
    with connect() as session:
        run = session.get(Run, answer["run_id"])
        assert run.parameters["sieve"]["backend"] == "reference"
        assert run.parameters["sieve"]["extension_limit"] == 5
        (record,) = run.jobs
        assert record.backend == "reference"


def _listening(pids: set[int]) -> list[tuple[int, str, int]]:
    import psutil

    return sorted(
        (c.pid, c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_local_clusters_listen_on_loopback_only(prefect_api, workers):
    """Nothing of a run's own cluster (scheduler, its HTTP server, workers, their HTTP servers)
    is reachable from the host's network addresses."""
    import psutil

    from flows.runner import dask_task_runner
    from mimicry.settings import Settings

    me = psutil.Process()
    before = set(_listening({me.pid}))
    with dask_task_runner(Settings(dask_workers=workers)) as runner:
        assert len(runner.client.run(lambda: 1)) == workers  # the cluster is up
        pids = {me.pid} | {child.pid for child in me.children(recursive=True)}
        opened = [row for row in _listening(pids) if row not in before]
        assert len(opened) >= 2 * workers  # each worker's server and HTTP server at least
        assert {ip for _, ip, _ in opened} == {"127.0.0.1"}, opened
        # The scheduler's HTTP server answers its health check on loopback. (Whether /status
        # answers depends on Dask's process-wide routes: a scheduler started earlier in this
        # process with a dashboard and no Bokeh adds a placeholder page to them for all.)
        port = runner.client.scheduler_info()["services"]["dashboard"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as reply:
            assert reply.read() == b"ok"


def test_the_progress_artifact_says_how_the_chunks_are_cut():
    from flows.sieve import progress_description

    # A chunk size larger than the search is not what a chunk holds (issue 25).
    assert progress_description("mt19937", [(0, 1 << 20)]) == (
        "mt19937: 1 chunk of 1,048,576 candidates (1,048,576 in all) finished"
    )
    assert progress_description("glibc_rand", [(0, 4096), (4096, 8192), (8192, 9000)]) == (
        "glibc_rand: 3 chunks of up to 4,096 candidates (9,000 in all) finished"
    )
