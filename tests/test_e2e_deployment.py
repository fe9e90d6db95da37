"""The deployment end to end, as an operator runs it (docs/deploy.md), with real processes.

One Prefect server (``deployments/start-prefect-server.sh``, its own PREFECT_HOME and port), the
work pool and the deployments of ``prefect.yaml`` (``deployments/deploy.sh``: ``prefect work-pool
create`` + ``prefect deploy --all``) and a process worker (``deployments/start-prefect-worker.sh``)
serve every test of this module; the store is SQLite under a temporary MIMICRY_HOME.

* ``pipeline/full`` triggered the way CI does (``prefect deployment run --param request=...
  --watch``) finds a secret mt19937 seed; the flow run is Completed in the API, and the store
  holds a completed run linked to that flow run whose best survivor is the secret seed.
* A WATCHER tick on new draws of that stream dispatches ``pipeline/retrain`` through the
  deployment (the decision's idempotency key; the worker runs it) and the next tick records
  how it ended: decision, flow run and store run name each other.
* The deployments are what ``prefect.yaml`` says: pool, parameters enforced by the flows'
  models, concurrency limits, and a pull step whose directory is resolved when a run starts.
* Bad parameters are refused when the run is created: nothing runs.
* ``sieve/adhoc`` on a rig started by ``deployments/start-dask-scheduler.sh`` and
  ``start-dask-workers.sh``: the chunks run on those workers (reached through
  ``MIMICRY_DASK_ADDRESS``, given to the run as a job variable), and the GPU worker the launcher
  starts (this machine has no GPU: a stand-in ``nvidia-smi`` lists one) is pinned with
  ``CUDA_VISIBLE_DEVICES`` and offers the ``GPU`` resource, the CPU worker does not.
* ``start-dask-workers.sh``'s plan (dry run) for no GPU, NVIDIA GPUs and AMD GPUs.

Every long-running process starts in its own session and is stopped as a group (TERM, then
KILL after a timeout) in fixture teardown, whatever the test's outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import select

from flows.stream_slot import slot_name
from mimicry.store.database import connect
from mimicry.store.models import Chunk, DecisionRecord, Run, SelfplayEpisode
from mimicry.store.streams import append_draws, require_stream

REPO = Path(__file__).resolve().parents[1]
DEPLOYMENTS = REPO / "deployments"
BIN = Path(sys.executable).parent
POOL = "mimicry-process"
#: Seconds: the server's first start migrates its database; a flow run starts a Dask cluster.
SERVER_START_TIMEOUT = 180
CLI_TIMEOUT = 180
RUN_TIMEOUT = 600
STOP_TIMEOUT = 30
LOG_TAIL = 6000
#: What Prefect's own client retries: a busy SQLite database answers 503 ("database is locked").
RETRIED_STATUSES = (429, 502, 503)
API_ATTEMPTS = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, limit: int = LOG_TAIL) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return text if len(text) <= limit else "…" + text[-limit:]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


@dataclass
class Service:
    """A long-running process started in its own session, logging to a file."""

    name: str
    process: subprocess.Popen
    log: Path

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """TERM the process group; KILL what is left after ``timeout`` seconds. Descendants in
        sessions of their own (Prefect starts each flow run in a new process group) are ended
        the same way."""
        try:
            descendants = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        pgid = self.process.pid  # start_new_session: the leader's pid is the group id
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.running() or _group_alive(pgid):
            warnings.warn(
                f"{self.name} did not stop within {timeout} s of SIGTERM; killing its group",
                stacklevel=2,
            )
            _signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.2)
        left = [p for p in descendants if p.is_running()]
        if left:
            warnings.warn(f"{self.name} left {len(left)} processes; ending them", stacklevel=2)
            for process in left:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.terminate()
            _, left = psutil.wait_procs(left, timeout=timeout)
            for process in left:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            psutil.wait_procs(left, timeout=STOP_TIMEOUT)


@dataclass
class Rig:
    """What the operator has set up: the server, the pool and deployments, a worker."""

    root: Path
    env: dict[str, str]
    api_url: str
    services: list[Service] = field(default_factory=list)
    #: Logs of short commands (deploy, runs), kept for failure messages.
    transcripts: list[str] = field(default_factory=list)

    @property
    def mimicry_home(self) -> Path:
        return Path(self.env["MIMICRY_HOME"])

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.mimicry_home / 'mimicry.db'}"

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Service:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args,
                cwd=self.root,
                env=env or self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, process, log)
        self.services.append(service)
        return service

    def diagnostics(self) -> str:
        parts = [f"--- {s.name} ({s.log}) ---\n{tail(s.log)}" for s in self.services]
        parts += self.transcripts[-4:]
        return "\n".join(parts)

    def api(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        """One call to the server's API, retried as Prefect's client retries it (the server
        answers 503 while its SQLite database is locked by a worker's writes); any other
        failure fails the test with the server's answer and every service's log."""
        for attempt in range(API_ATTEMPTS):
            response = httpx.request(method, f"{self.api_url}{path}", json=body, timeout=30)
            if response.status_code not in RETRIED_STATUSES:
                break
            time.sleep(float(response.headers.get("Retry-After", 2**attempt)))
        if response.is_error:
            pytest.fail(
                f"{method} {path} answered {response.status_code}: {response.text}\n"
                f"{self.diagnostics()}"
            )
        return response

    def cli(
        self,
        *args: str,
        timeout: float = CLI_TIMEOUT,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a short command; with ``check``, fail with its output and every service's log."""
        try:
            result = subprocess.run(
                list(args),
                cwd=REPO,
                env=env or self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as error:
            pytest.fail(
                f"{' '.join(args)} did not finish in {timeout} s\n"
                f"stdout: {error.stdout}\nstderr: {error.stderr}\n{self.diagnostics()}"
            )
        transcript = (
            f"--- $ {' '.join(args)} (exit {result.returncode}) ---\n"
            f"{result.stdout[-LOG_TAIL:]}\n{result.stderr[-LOG_TAIL:]}"
        )
        self.transcripts.append(transcript)
        if check and result.returncode != 0:
            pytest.fail(f"{transcript}\n{self.diagnostics()}")
        return result


def operator_env(root: Path, api_url: str, port: int) -> dict[str, str]:
    """A clean environment: nothing of the caller's Prefect profile or mimicry settings leaks in
    (the numba kernel cache is kept: it only saves compile time)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "MIMICRY_", "DASK_")) or key == "MIMICRY_KERNEL_CACHE"
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_HOME=str(root / "prefect-home"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_CLI_COLORS="false",
        MIMICRY_HOME=str(root / "mimicry-home"),
        MIMICRY_PROJECT_DIR=str(REPO),
        COLUMNS="200",
        NO_COLOR="1",
    )
    return env


def wait_for_health(rig: Rig, server: Service) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if not server.running():
            pytest.fail(
                f"the Prefect server exited with {server.process.returncode}\n{rig.diagnostics()}"
            )
        try:
            if httpx.get(f"{rig.api_url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(
        f"the Prefect server was not healthy after {SERVER_START_TIMEOUT} s\n{rig.diagnostics()}"
    )


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[Rig]:
    root = tmp_path_factory.mktemp("rig")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    rig = Rig(root=root, env=operator_env(root, api_url, port), api_url=api_url)
    try:
        server = rig.start("prefect-server", [str(DEPLOYMENTS / "start-prefect-server.sh")])
        wait_for_health(rig, server)
        rig.cli(str(DEPLOYMENTS / "deploy.sh"))
        rig.start("prefect-worker", [str(DEPLOYMENTS / "start-prefect-worker.sh")])
        yield rig
    finally:
        # The worker first, while the server it reports to is still up.
        for service in reversed(rig.services):
            service.stop()


def simulate(rig: Rig, seed: int, name: str) -> Path:
    draws = rig.root / f"{name}.txt"
    rig.cli(
        str(BIN / "mimicry"), "simulate", "--family", "mt19937", "--seed", str(seed),
        "--count", "60", "--out", str(draws),
    )  # fmt: skip
    return draws


def flow_run_id(result: subprocess.CompletedProcess[str]) -> str:
    match = re.search(r"UUID: ([0-9a-f-]{36})", result.stdout)
    assert match, f"no flow run id in the output of prefect deployment run:\n{result.stdout}"
    return match.group(1)


def run_deployment(rig: Rig, name: str, *options: str) -> tuple[subprocess.CompletedProcess, str]:
    """``prefect deployment run NAME ... --watch``: exit 0 only when the run is Completed."""
    result = rig.cli(
        str(BIN / "prefect"), "deployment", "run", name, *options,
        "--watch", "--watch-timeout", str(RUN_TIMEOUT),
        timeout=RUN_TIMEOUT + 60, check=False,
    )  # fmt: skip
    run_id = flow_run_id(result)
    state = rig.api("GET", f"/flow_runs/{run_id}").json()["state"]
    assert result.returncode == 0 and state["type"] == "COMPLETED", (
        f"flow run {run_id} of {name} ended {state['type']} ({state.get('message')}), "
        f"exit {result.returncode}\n{rig.diagnostics()}"
    )
    return result, run_id


def stored_run(rig: Rig, run_id: str) -> dict:
    """The store's run linked to Prefect flow run ``run_id``: state, jobs, best survivors."""
    with connect(rig.store_url) as session:
        runs = session.scalars(select(Run).where(Run.flow_run_id == run_id)).all()
        assert len(runs) == 1, f"{len(runs)} runs in the store for flow run {run_id}"
        run = runs[0]
        jobs = [
            {
                "key": job.job_key,
                "state": job.state,
                "best": [(s.family, s.seed, s.p_value) for s in job.survivors[:1]],
            }
            for job in run.jobs
        ]
        return {"state": run.state, "summary": run.summary, "error": run.error, "jobs": jobs}


@dataclass
class SecretSearch:
    secret: int
    stream: str
    flow_run_id: str


@pytest.fixture(scope="module")
def secret_search(rig: Rig) -> SecretSearch:
    """``pipeline/full`` triggered the way CI does, on 60 draws of a secret mt19937 seed."""
    secret = secrets.randbelow(10_000)
    draws = simulate(rig, secret, "secret")
    request = {
        "stream": "e2e-secret",
        "draws_file": str(draws),
        "families": ["mt19937"],
        "sieve": {"seeds": [0, 9999]},
        "window_trials": 4,
        # One Optuna trial per model type, as CI would for a quick check (the selection has
        # tests of its own); the retrain the WATCHER dispatches keeps the run's settings.
        "ranking": {"model_trials": 1},
    }
    _, run_id = run_deployment(rig, "pipeline/full", "--param", f"request={json.dumps(request)}")
    return SecretSearch(secret, "e2e-secret", run_id)


def test_pipeline_deployment_finds_the_secret_seed(rig: Rig, secret_search: SecretSearch) -> None:
    run = stored_run(rig, secret_search.flow_run_id)
    context = f"secret seed {secret_search.secret}; stored run {run}\n{rig.diagnostics()}"
    assert run["state"] == "completed", context
    assert run["summary"]["significant"] is True, context
    assert len(run["jobs"]) == 1 and run["jobs"][0]["state"] == "complete", context
    assert run["jobs"][0]["best"][0][:2] == ("mt19937", secret_search.secret), context
    # Named and tagged by what it is in the UI; its chunks named by their family.
    flow_run = rig.api("GET", f"/flow_runs/{secret_search.flow_run_id}").json()
    assert flow_run["name"] == "search-e2e-secret", flow_run["name"]
    # Its final state says what was found, in the UI and to `prefect deployment run --watch`.
    state = flow_run["state"]
    assert (state["type"], state["name"]) == ("COMPLETED", "Signal"), state
    assert state["message"].startswith(f"Found mt19937 seed {secret_search.secret} among"), state
    assert "signal: held-out pools hit" in state["message"], state
    assert "stream:e2e-secret" in flow_run["tags"], flow_run["tags"]
    task_runs = rig.api(
        "POST",
        "/task_runs/filter",
        {"flow_runs": {"id": {"any_": [secret_search.flow_run_id]}}},
    ).json()
    chunks = [t["name"] for t in task_runs if t["name"].startswith("chunk ")]
    assert chunks and all(n.startswith("chunk mt19937 ") for n in chunks), chunks


def watch_once(rig: Rig, policy: Path, stream: str | None = None) -> dict:
    only = ["--stream", stream] if stream else []
    result = rig.cli(
        str(BIN / "mimicry"), "watch", "--once", "--json", "--policy", str(policy), *only
    )
    (decision,) = json.loads(result.stdout)["decisions"]
    return decision


def wait_until_final(rig: Rig, flow_run_id: str) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        flow_run = rig.api("GET", f"/flow_runs/{flow_run_id}").json()
        if flow_run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return flow_run
        time.sleep(2)
    pytest.fail(f"flow run {flow_run_id} did not end in {RUN_TIMEOUT} s\n{rig.diagnostics()}")


def test_the_watcher_dispatches_a_retrain_through_its_deployment(
    rig: Rig, secret_search: SecretSearch
) -> None:
    """A WATCHER tick on a server with the deployments starts ``pipeline/retrain`` with
    ``run_deployment`` and the decision's idempotency key; the worker runs it; the next tick
    reads how it ended. Each side names the other: decision, flow run, store run."""
    more = rig.root / "more.txt"
    rig.cli(
        str(BIN / "mimicry"), "simulate", "--family", "mt19937",
        "--seed", str(secret_search.secret), "--count", "65", "--out", str(more),
    )  # fmt: skip
    with connect(rig.store_url) as session:
        stream = require_stream(session, secret_search.stream)
        values = [int(line) for line in more.read_text().split()][60:]
        append_draws(session, secret_search.stream, values, stream.modulus, "test")
    policy = rig.root / "watcher.toml"
    policy.write_text("stale_draws = 5\n")

    first = watch_once(rig, policy)
    context = f"{first}\n{rig.diagnostics()}"
    assert first["action"] == "retrain" and first["status"] == "running", context
    with connect(rig.store_url) as session:
        record = session.get(DecisionRecord, first["id"])
        flow_run_id, key = record.flow_run_id, record.idempotency_key
    assert flow_run_id is not None, context
    flow_run = wait_until_final(rig, flow_run_id)
    assert flow_run["state"]["type"] == "COMPLETED", f"{flow_run['state']}\n{rig.diagnostics()}"
    assert flow_run["idempotency_key"] == key
    assert "stream:e2e-secret" in flow_run["tags"], flow_run["tags"]
    # The tick's log names the run it started, with its link.
    started = f"decision {first['id']}: started pipeline/retrain: "
    logs = rig.api(
        "POST",
        "/logs/filter",
        {"logs": {"text": {"query": "started pipeline/retrain"}}, "limit": 50},
    ).json()
    assert any(
        log["message"].startswith(started) and flow_run_id in log["message"] for log in logs
    ), [log["message"][:160] for log in logs]
    deployment = rig.api("GET", f"/deployments/{flow_run['deployment_id']}").json()
    assert deployment["name"] == "retrain"
    # The same key again (a repeated tick) names the same flow run: nothing starts twice.
    again = rig.api(
        "POST",
        f"/deployments/{flow_run['deployment_id']}/create_flow_run",
        {"idempotency_key": key, "parameters": flow_run["parameters"]},
    ).json()
    assert again["id"] == flow_run_id

    second = watch_once(rig, policy)  # resolves the first, then waits: nothing new arrived
    assert second["action"] == "wait", f"{second}\n{rig.diagnostics()}"
    listed = json.loads(rig.cli(str(BIN / "mimicry"), "decisions", "--json").stdout)["decisions"]
    (dispatched,) = [d for d in listed if d["id"] == first["id"]]
    assert dispatched["status"] == "done" and dispatched["flow_run_id"] == flow_run_id
    run = stored_run(rig, flow_run_id)
    assert run["state"] == "completed", run
    with connect(rig.store_url) as session:
        stored = session.scalars(select(Run).where(Run.flow_run_id == flow_run_id)).one()
        assert str(stored.id) == dispatched["run_id"]
        assert stored.parameters["decision_id"] == first["id"]
    # The deployment run held the stream's slot (one search or retrain at a time) and gave it back.
    slot = rig.api("GET", f"/v2/concurrency_limits/{slot_name(secret_search.stream)}").json()
    assert slot["limit"] == 1 and slot["active_slots"] == 0, slot


def entropy_stream(rig: Rig, name: str, draws: int) -> None:
    with connect(rig.store_url) as session:
        values = [secrets.randbelow(1000) for _ in range(draws)]
        append_draws(session, name, values, 1000, "os")


def flow_run_of_form(rig: Rig, decision_id: int, paused: bool) -> dict:
    """The approval form's flow run for a decision, once it is paused (or final)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        runs = rig.api(
            "POST",
            "/flow_runs/filter",
            {"flow_runs": {"name": {"any_": [f"decision-{decision_id}"]}}},
        ).json()
        if runs:
            state = runs[0]["state"]
            if (state["type"] == "PAUSED") if paused else state["type"] in (
                "COMPLETED", "FAILED", "CANCELLED", "CRASHED"
            ):  # fmt: skip
                return runs[0]
        time.sleep(1)
    pytest.fail(f"no {'paused' if paused else 'final'} form for {decision_id}\n{rig.diagnostics()}")


def test_an_answer_in_the_terminal_ends_the_ui_form_at_once(rig: Rig) -> None:
    """The tick asks in the UI (the worker runs the paused form); `mimicry reject` in the
    terminal ends that run at once, in a state named by what was decided. A form left open
    (the answer given where no server was named) refuses a late answer visibly, and the next
    tick closes what is still open."""
    policy = rig.root / "person.toml"
    policy.write_text('new_data_draws = 40\nresearch_approval = "person"\n')
    for name in ("form-a", "form-b"):
        entropy_stream(rig, name, 50)
    asked = {}
    for name in ("form-a", "form-b"):
        result = rig.cli(
            str(BIN / "mimicry"), "watch", "--once", "--json", "--stream", name,
            "--policy", str(policy),
        )  # fmt: skip
        (made,) = json.loads(result.stdout)["decisions"]
        assert made["status"] == "pending_approval", made
        asked[name] = made["id"]
    for decision_id in asked.values():
        flow_run_of_form(rig, decision_id, paused=True)
    # Answered in the terminal, with the server named: the form ends within seconds.
    started = time.monotonic()
    rejected = rig.cli(
        str(BIN / "mimicry"), "reject", str(asked["form-a"]), "--note", "not this week"
    )
    assert "rejected" in rejected.stdout
    ended = flow_run_of_form(rig, asked["form-a"], paused=False)
    assert time.monotonic() - started < 30, rig.diagnostics()
    assert (ended["state"]["type"], ended["state"]["name"]) == ("COMPLETED", "Rejected")
    assert f"decision {asked['form-a']}: rejected by" in ended["state"]["message"]
    # Answered where no server was named: the form is still open; a late answer there fails.
    no_server = {k: v for k, v in rig.env.items() if k != "PREFECT_API_URL"}
    rig.cli(str(BIN / "mimicry"), "approve", str(asked["form-b"]), env=no_server)
    form = flow_run_of_form(rig, asked["form-b"], paused=True)
    resumed = rig.api(
        "POST",
        f"/flow_runs/{form['id']}/resume",
        {"run_input": {"approve": False, "note": "too late"}},
    )
    assert resumed.status_code in (200, 201), resumed.text
    late = flow_run_of_form(rig, asked["form-b"], paused=False)
    assert (late["state"]["type"], late["state"]["name"]) == ("FAILED", "Refused"), late["state"]
    assert "is approved, not waiting for approval" in late["state"]["message"]
    with connect(rig.store_url) as session:
        assert session.get(DecisionRecord, asked["form-b"]).status in ("approved", "done")
    # The approved search is not this test's business: cancelled before a tick dispatches it
    # (a 2^32 search left running competed with the later tests and outlived the rig's worker).
    cancelled = rig.cli(str(BIN / "mimicry"), "cancel", str(asked["form-b"]), "--json")
    assert json.loads(cancelled.stdout)["was"] == "approved", cancelled.stdout


def test_a_run_cancelled_in_prefect_is_stored_cancelled_with_its_decision(rig: Rig) -> None:
    """The UI's Cancel (``prefect flow-run cancel``, the same API call) on a search a tick
    dispatched to ``pipeline/full``: the run is stored ``cancelled``, not ``failed``, and the
    decision that started it says so."""
    from watcher.policy import load_policy
    from watcher.tick import review_stream

    entropy_stream(rig, "cancel-me", 40)
    policy = rig.root / "auto.toml"
    policy.write_text('new_data_draws = 20\nresearch_approval = "auto"\nsearches_per_day = 1\n')
    environ = {"MIMICRY_HOME": str(rig.mimicry_home)}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in environ.items():
            patch.setenv(key, value)
        patch.delenv("MIMICRY_DATABASE_URL", raising=False)
        from mimicry.settings import get_settings

        get_settings.cache_clear()
        view = review_stream(
            "cancel-me", load_policy(policy), "test", datetime.now(UTC), get_settings()
        )
        get_settings.cache_clear()
    long_search = {
        "stream": "cancel-me",
        "families": ["glibc_rand"],
        "sieve": {"chunk_size": 1 << 22},
        "window_trials": 0,
        "rank": False,
    }
    with connect(rig.store_url) as session:
        record = session.get(DecisionRecord, view.id)
        record.request = {"flow": "pipeline", "request": long_search}
    first = watch_once(rig, policy, "cancel-me")
    assert first["action"] == "wait", first  # the approved search went first: in flight
    with connect(rig.store_url) as session:
        record = session.get(DecisionRecord, view.id)
        assert record.status == "running" and record.flow_run_id, rig.diagnostics()
        flow_run_id = record.flow_run_id
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:  # the worker's run has started sieving
        with connect(rig.store_url) as session:
            run = session.scalar(select(Run).where(Run.flow_run_id == flow_run_id))
            if run is not None and session.scalar(select(Chunk).limit(1)) is not None:
                break
        time.sleep(1)
    else:
        pytest.fail(f"the dispatched search never sieved\n{rig.diagnostics()}")
    rig.cli(str(BIN / "prefect"), "flow-run", "cancel", flow_run_id)
    ended = wait_until_final(rig, flow_run_id)
    assert ended["state"]["type"] == "CANCELLED", ended["state"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stored_run(rig, flow_run_id)["state"] == "running":
        time.sleep(1)
    run = stored_run(rig, flow_run_id)
    assert run["state"] == "cancelled", run
    assert run["error"] == "cancelled in Prefect (its flow run was cancelled)"
    watch_once(rig, policy, "cancel-me")  # reads how the dispatched run ended
    with connect(rig.store_url) as session:
        record = session.get(DecisionRecord, view.id)
        assert record.status == "cancelled", record.outcome
        assert record.outcome.startswith(f"run {record.run_id} cancelled")
    status = json.loads(rig.cli(str(BIN / "mimicry"), "status", "--json").stdout)
    assert [r["state"] for r in status["runs"] if r["flow_run_id"] == flow_run_id] == ["cancelled"]


def test_deployments_are_what_prefect_yaml_says(rig: Rig) -> None:
    expected = {
        "pipeline/full": ("flows.pipeline.pipeline", 2, {"request"}, "ENQUEUE"),
        "pipeline/retrain": ("flows.retrain.retrain", 2, {"request"}, "ENQUEUE"),
        "sieve/adhoc": ("flows.sieve.sieve_flow", 4, {"stream", "family"}, "ENQUEUE"),
        "watcher/scheduled": ("flows.watcher.watcher_tick", 1, set(), "CANCEL_NEW"),
        "selfplay/explore": ("flows.selfplay.selfplay", 2, {"request"}, "ENQUEUE"),
    }
    for name, (entrypoint, limit, required, collisions) in expected.items():
        deployment = rig.api("GET", f"/deployments/name/{name}").json()
        assert deployment["entrypoint"] == entrypoint
        assert deployment["work_pool_name"] == POOL
        assert deployment["enforce_parameter_schema"] is True
        assert set(deployment["parameter_openapi_schema"].get("required", [])) == required
        assert deployment["global_concurrency_limit"]["limit"] == limit
        assert deployment["concurrency_options"]["collision_strategy"] == collisions
        if name == "watcher/scheduled":  # a tick every 10 minutes
            (schedule,) = deployment["schedules"]
            assert schedule["schedule"]["interval"] == 600 and schedule["active"] is True
        # The checkout is found when a run starts, from the worker's environment: no path of
        # the machine that deployed is baked in.
        assert deployment["pull_steps"] == [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $MIMICRY_PROJECT_DIR }}"
                }
            }
        ]
    pool = rig.api("GET", f"/work_pools/{POOL}").json()
    assert pool["type"] == "process" and pool["concurrency_limit"] == 4


def test_selfplay_explore_runs_an_episode_from_the_deployment(rig: Rig) -> None:
    """``selfplay/explore`` triggered as CI or the UI would: one episode on a searched stream's
    history, stored with its candidate, its result the run's final state and artifacts."""
    draws = rig.root / "explore.txt"
    rig.cli(
        str(BIN / "mimicry"), "simulate", "--family", "mt19937", "--seed", "4321",
        "--count", "110", "--out", str(draws),
    )  # fmt: skip
    rig.cli(
        str(BIN / "mimicry"), "run", str(draws), "--stream", "e2e-explore", "--family",
        "mt19937", "--seeds", "0..9999", "--window-trials", "4", "--model-trials", "1",
        "--json",
    )  # fmt: skip
    policy = rig.root / "explore.toml"
    policy.write_text(
        "[selfplay]\norigins = 2\nhorizon = 10\nlive_draws = 20\nmin_training = 60\n"
        '[selfplay.space]\nfamilies = ["mt19937"]\nmax_offset = 2\nmax_skip = 0\n'
        "window_trials = [4, 4]\ntrial_budget = [4096, 4096]\nscorer_trials = [2, 2]\n"
        "model_trials = [1, 1]\npool_size = [10, 10]\n"
    )
    request = {"stream": "e2e-explore", "episodes": 1, "policy_file": str(policy)}
    _, run_id = run_deployment(rig, "selfplay/explore", "--param", f"request={json.dumps(request)}")
    flow_run = rig.api("GET", f"/flow_runs/{run_id}").json()
    assert flow_run["name"] == "explore-e2e-explore", flow_run["name"]
    with connect(rig.store_url) as session:
        episodes = session.scalars(select(SelfplayEpisode)).all()
        ours = [e for e in episodes if e.plan and e.status == "done"]
        assert len(ours) == 1, [(e.id, e.status, e.outcome) for e in episodes]
        assert ours[0].cpu_seconds > 0 and ours[0].outcome, ours[0].outcome
    artifacts = rig.api(
        "POST",
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [run_id]}}},
    ).json()
    assert {a["type"] for a in artifacts} >= {"markdown", "image"}, artifacts


def test_bad_parameters_are_refused_before_anything_runs(rig: Rig) -> None:
    request = {"stream": "refused", "families": ["mt19937"], "sieve": {"sedes": [0, 9]}}
    result = rig.cli(
        str(BIN / "prefect"), "deployment", "run", "pipeline/full",
        "--param", f"request={json.dumps(request)}", check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "sedes" in output, output
    assert "UUID:" not in output, output


def dask_workers(address: str, expected: int, timeout: float = 120) -> dict[str, dict]:
    """The scheduler's workers (address → info with ``resources`` and the pinned device)."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(expected, timeout=timeout)
        info = client.scheduler_info(n_workers=-1)["workers"]
        pinned = client.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
    return {addr: {**worker, "pinned": pinned[addr]} for addr, worker in info.items()}


def test_adhoc_sieve_on_a_dask_rig_started_by_the_launchers(rig: Rig, tmp_path: Path) -> None:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    nvidia_smi = fake_bin / "nvidia-smi"
    nvidia_smi.write_text("#!/bin/sh\necho 'GPU 0: Stand-in GPU (UUID: GPU-e2e-0)'\n")
    nvidia_smi.chmod(0o755)
    scheduler_env = {
        **rig.env,
        "MIMICRY_DASK_SCHEDULER_HOST": "127.0.0.1",
        "MIMICRY_DASK_SCHEDULER_PORT": str(port),
        "MIMICRY_DASK_DASHBOARD_ADDRESS": "127.0.0.1:0",
    }
    worker_env = {**rig.env, "PATH": f"{fake_bin}{os.pathsep}{rig.env['PATH']}"}
    services = [
        rig.start("dask-scheduler", [str(DEPLOYMENTS / "start-dask-scheduler.sh")], scheduler_env),
        rig.start(
            "dask-workers",
            [str(DEPLOYMENTS / "start-dask-workers.sh"), address, "--dashboard-address", ":0"],
            worker_env,
        ),
    ]
    try:
        workers = dask_workers(address, expected=2)
        gpu = [w for w in workers.values() if w["resources"].get("GPU") == 1]
        cpu = [w for w in workers.values() if not w["resources"].get("GPU")]
        context = f"{workers}\n{rig.diagnostics()}"
        assert len(gpu) == 1 and len(cpu) == 1, context
        assert gpu[0]["pinned"] == "0", context
        assert gpu[0]["name"].endswith("-gpu0") and cpu[0]["name"].endswith("-cpu"), context

        secret = secrets.randbelow(10_000)
        draws = simulate(rig, secret, "rig")
        rig.cli(str(BIN / "mimicry"), "ingest", str(draws), "--stream", "e2e-rig")
        sieve = {"seeds": [0, 9999], "chunk_size": 2500}
        _, run_id = run_deployment(
            rig, "sieve/adhoc",
            "--param", "stream=e2e-rig", "--param", "family=mt19937",
            "--param", f"sieve={json.dumps(sieve)}",
            "--job-variable", f"env={json.dumps({'MIMICRY_DASK_ADDRESS': address})}",
        )  # fmt: skip

        run = stored_run(rig, run_id)
        context = f"secret seed {secret}; stored run {run}\n{rig.diagnostics()}"
        assert run["state"] == "completed", context
        assert run["jobs"][0]["best"][0][:2] == ("mt19937", secret), context
        with connect(rig.store_url) as session:
            ran_on = set(
                session.scalars(select(Chunk.worker).where(Chunk.job_key == run["jobs"][0]["key"]))
            )
        assert ran_on and ran_on <= set(workers), f"chunks ran on {ran_on}\n{context}"
    finally:
        for service in reversed(services):
            service.stop()
            rig.services.remove(service)


def plan(tmp_path: Path, tools: dict[str, str], **settings: str) -> list[str]:
    """``start-dask-workers.sh``'s dry run with stand-in GPU tools (this machine's own, if it
    has any, are shadowed)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    for tool in ("nvidia-smi", "rocm-smi"):
        script = tools.get(tool, "echo 'no devices were found' >&2; exit 9")
        (fake_bin / tool).write_text(f"#!/bin/sh\n{script}\n")
        (fake_bin / tool).chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIMICRY_")}
    env.update(PATH=f"{fake_bin}{os.pathsep}{BIN}{os.pathsep}{env['PATH']}", MIMICRY_DRY_RUN="1")
    env.update(settings)
    result = subprocess.run(
        [str(DEPLOYMENTS / "start-dask-workers.sh"), "tcp://sched:8786"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_worker_launcher_plans_one_pinned_worker_per_gpu(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    # No GPU (the tools are there, but fail): CPU workers only, with every core.
    (only,) = plan(tmp_path, {})
    assert "--resources" not in only and "VISIBLE_DEVICES" not in only
    assert f"NUMBA_NUM_THREADS={cores} dask worker tcp://sched:8786" in only
    assert "--nworkers 1 --nthreads 1" in only

    nvidia = "echo 'GPU 0: A (UUID: GPU-a)'; echo 'GPU 1: B (UUID: GPU-b)'"
    *gpus, cpu = plan(tmp_path, {"nvidia-smi": nvidia}, MIMICRY_CPU_WORKERS="2")
    assert [g.split()[1] for g in gpus] == ["CUDA_VISIBLE_DEVICES=0", "CUDA_VISIBLE_DEVICES=1"]
    assert all("--resources GPU=1" in g and "--nworkers 1 --nthreads 1" in g for g in gpus)
    assert "--resources" not in cpu and "--nworkers 2" in cpu

    rocm = "printf 'GPU[0]\\t\\t: Device ID: 0x74a1\\nGPU[1]\\t\\t: Device ID: 0x74a1\\n'"
    *gpus, _cpu = plan(tmp_path, {"rocm-smi": rocm})
    assert [g.split()[1] for g in gpus] == ["HIP_VISIBLE_DEVICES=0", "HIP_VISIBLE_DEVICES=1"]

    assert len(plan(tmp_path, {"nvidia-smi": nvidia}, MIMICRY_GPUS="none")) == 1
    (only,) = plan(tmp_path, {"nvidia-smi": nvidia}, MIMICRY_GPUS="1", MIMICRY_CPU_WORKERS="0")
    assert "CUDA_VISIBLE_DEVICES=1" in only and "--resources GPU=1" in only
