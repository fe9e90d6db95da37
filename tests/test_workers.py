"""What a waiting sieve step makes of the cluster's workers (flows/workers.py): the lines for
the run's log, and the end of its patience."""

from __future__ import annotations

import pytest

from flows.workers import NoDaskWorker, WorkerWatch, usable

CPU = {"resources": {}}
GPU = {"resources": {"GPU": 1}}


def test_workers_that_leave_and_join_are_told_once_each():
    watch = WorkerWatch("tcp://10.0.0.2:8786", {}, patience=60)
    assert watch.observe({"tcp://a:1": CPU, "tcp://b:1": CPU}, now=0) == []
    assert watch.observe({"tcp://a:1": CPU, "tcp://b:1": CPU}, now=2) == []
    assert watch.observe({"tcp://b:1": CPU}, now=4) == [
        "Dask worker tcp://a:1 left the cluster (the chunks it held run again on another); "
        "1 worker connected"
    ]
    assert watch.observe({"tcp://b:1": CPU, "tcp://c:1": CPU}, now=6) == [
        "Dask worker tcp://c:1 joined the cluster; 2 workers connected"
    ]


def test_no_usable_worker_for_the_patience_fails_the_step():
    watch = WorkerWatch("tcp://10.0.0.2:8786", {}, patience=10)
    assert watch.observe({}, now=100) == [
        "no Dask worker is connected to the scheduler at tcp://10.0.0.2:8786: waiting up to "
        "10 s for one"
    ]
    assert watch.observe({}, now=109.9) == []
    with pytest.raises(NoDaskWorker, match=r"^no Dask worker has been connected to the sched"):
        watch.observe({}, now=110)


def test_a_worker_returning_in_time_resets_the_patience():
    watch = WorkerWatch("tcp://s:8786", {}, patience=10)
    watch.observe({"tcp://a:1": CPU}, now=0)
    watch.observe({}, now=1)
    watch.observe({"tcp://a:1": CPU}, now=9)
    watch.observe({}, now=15)
    assert watch.observe({}, now=24) == []  # 9 s alone, not 23
    with pytest.raises(NoDaskWorker):
        watch.observe({}, now=25)


def test_a_gpu_step_counts_only_the_workers_with_a_gpu():
    workers = {"tcp://cpu:1": CPU, "tcp://gpu:1": GPU, "tcp://bare:1": {}}
    assert usable(workers, {"GPU": 1}) == {"tcp://gpu:1"}
    assert usable(workers, {}) == set(workers)
    watch = WorkerWatch("tcp://s:8786", {"GPU": 1}, patience=5)
    watch.observe({"tcp://cpu:1": CPU}, now=0)
    with pytest.raises(NoDaskWorker, match="no Dask worker with GPU=1 has been connected"):
        watch.observe({"tcp://cpu:1": CPU}, now=5)


def test_the_dashboard_link_is_logged_only_when_the_page_answers():
    import http.server
    import socket
    import threading

    from flows.runner import dashboard_answers

    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # a scheduler without bokeh serves /status as 404
            self.send_response(200 if self.path == "/status" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert dashboard_answers(f"http://127.0.0.1:{port}/status")
        assert not dashboard_answers(f"http://127.0.0.1:{port}/missing")
    finally:
        server.shutdown()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        assert not dashboard_answers(f"http://127.0.0.1:{closed.getsockname()[1]}/status")
