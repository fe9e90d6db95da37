"""A rig that authenticates its parts (docs/deploy.md, "Who may connect"): the Dask cluster
with mutual TLS from deployments/make-dask-certs.sh, the Prefect server behind its auth string.
A party without the certificate, or without the string, is refused. Real processes: the
launchers in deployments/, a Prefect server, Dask clients."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from distributed import Client
from distributed.security import Security

from mimicry.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = ROOT / "deployments"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A script of deployments/ run to its end."""
    return subprocess.run(
        ["bash", str(DEPLOYMENTS / name), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def certificates(folder: Path) -> Path:
    made = script("make-dask-certs.sh", str(folder))
    assert made.returncode == 0, made.stderr
    return folder


def start(script: str, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", str(DEPLOYMENTS / script), *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    with_group = os.getpgid(process.pid)
    os.killpg(with_group, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(with_group, signal.SIGKILL)
        process.wait(10)


def test_the_certificates_are_the_roles_and_their_keys_are_private(tmp_path):
    folder = certificates(tmp_path / "certs")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "ca.pem",
        "client-key.pem",
        "client.pem",
        "scheduler-key.pem",
        "scheduler.pem",
        "worker-key.pem",
        "worker.pem",
    ]
    assert {oct((folder / n).stat().st_mode & 0o777) for n in names if "key" in n} == {"0o600"}
    again = script("make-dask-certs.sh", str(folder))
    assert again.returncode == 2
    assert again.stderr.strip().endswith(
        f"error: {folder} already holds certificates (ca.pem); choose a new folder"
    )


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A scheduler and a CPU worker started by the rig's launchers with the rig's certificates."""
    folder = certificates(tmp_path_factory.mktemp("rig") / "certs")
    port = free_port()
    address = f"tls://127.0.0.1:{port}"
    scheduler = start(
        "start-dask-scheduler.sh",
        MIMICRY_DASK_TLS_DIR=str(folder),
        MIMICRY_DASK_SCHEDULER_HOST="127.0.0.1",
        MIMICRY_DASK_SCHEDULER_PORT=str(port),
        MIMICRY_DASK_DASHBOARD_ADDRESS="127.0.0.1:0",
    )
    workers = start(
        "start-dask-workers.sh",
        address,
        MIMICRY_DASK_TLS_DIR=str(folder),
        MIMICRY_GPUS="none",
        MIMICRY_CPU_THREADS="1",
        # The launcher wants the server its chunk tasks report to; these tasks report nothing.
        PREFECT_API_URL="http://127.0.0.1:9/api",
    )
    try:
        yield address, folder
    finally:
        stop(workers)
        stop(scheduler)


def test_the_cluster_takes_the_rigs_certificates(tls_cluster):
    address, folder = tls_cluster
    settings = Settings(dask_address=address, dask_tls_dir=folder)
    with Client(address, security=settings.dask_security(), timeout=60) as client:
        client.wait_for_workers(1, timeout=120)
        assert client.submit(sum, [1, 2, 3]).result(timeout=60) == 6
    # The flows' own task runner connects the same way.
    from flows.runner import dask_task_runner

    with dask_task_runner(settings) as runner:
        assert len(runner.client.scheduler_info(n_workers=-1)["workers"]) >= 1


def test_a_client_without_the_rigs_certificate_is_refused(tls_cluster, tmp_path):
    address, folder = tls_cluster
    plain = address.replace("tls://", "tcp://")
    with pytest.raises((OSError, TimeoutError)):
        Client(plain, timeout=5)
    # TLS with the rig's CA but no certificate to show: the scheduler ends the connection.
    context = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    context.check_hostname = False
    host, port = address.removeprefix("tls://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw) as anonymous,
    ):
        try:  # TLS 1.3 reports the refusal at the first read: an alert, or the end of it
            anonymous.sendall(b"\0" * 16)
            answer = anonymous.recv(1)
        except (ssl.SSLError, ConnectionError) as error:
            answer = error
        assert answer == b"" or isinstance(answer, ssl.SSLError | ConnectionError), answer
    other = certificates(tmp_path / "other")  # a certificate of another CA
    stranger = Security(
        tls_ca_file=str(other / "ca.pem"),
        tls_client_cert=str(other / "client.pem"),
        tls_client_key=str(other / "client-key.pem"),
        require_encryption=True,
    )
    with pytest.raises((OSError, TimeoutError)):
        Client(address, security=stranger, timeout=5)


def test_a_worker_needs_a_tls_address_with_the_certificates(tmp_path):
    folder = certificates(tmp_path / "certs")
    refused = script(
        "start-dask-workers.sh",
        "tcp://127.0.0.1:8786",
        MIMICRY_DASK_TLS_DIR=str(folder),
        MIMICRY_GPUS="none",
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "start-dask-workers.sh: error: MIMICRY_DASK_TLS_DIR is set: the scheduler address must "
        "be tls://HOST:PORT; got 'tcp://127.0.0.1:8786'"
    )


def test_the_prefect_server_refuses_a_client_without_its_auth_string(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    auth = "mimicry:" + os.urandom(12).hex()
    server = start(
        "start-prefect-server.sh",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_API_AUTH_STRING=auth,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", auth=tuple(auth.split(":", 1))).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, server.stderr.read()
            time.sleep(1)
        assert httpx.post(f"{api}/flows/filter", json={}).status_code == 401
        wrong = httpx.post(f"{api}/flows/filter", json={}, auth=("mimicry", "guess"))
        assert wrong.status_code == 401
        right = httpx.post(f"{api}/flows/filter", json={}, auth=tuple(auth.split(":", 1)))
        assert right.status_code == 200
        # Prefect's own client (what mimicry's commands and workers use) with and without it.
        env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "client")}
        env.pop("PREFECT_API_AUTH_STRING", None)
        cli = ["prefect", "work-pool", "ls"]
        refused = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0
        allowed = subprocess.run(
            cli,
            env=env | {"PREFECT_API_AUTH_STRING": auth},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert allowed.returncode == 0, allowed.stderr
    finally:
        stop(server)


def test_the_prefect_server_will_not_listen_beyond_loopback_without_an_auth_string(tmp_path):
    refused = script(
        "start-prefect-server.sh",
        PREFECT_SERVER_API_HOST="0.0.0.0",
        PREFECT_HOME=str(tmp_path),
        PREFECT_SERVER_API_AUTH_STRING="",
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "start-prefect-server.sh: error: PREFECT_SERVER_API_HOST=0.0.0.0 reaches beyond this "
        "machine: set PREFECT_SERVER_API_AUTH_STRING (user:password) too"
    )
