"""The operator's events and the automations that tell someone (docs/design.md §22): the events a
decision, a halt, a promotion or a critical model makes, and the shipped automations calling a
webhook (a real HTTP server on 127.0.0.1) through a real Prefect server's automation services."""

from __future__ import annotations

import http.server
import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from mimicry import events
from mimicry.store.decisions import DecisionView
from tests.test_cli import MIMICRY

ROOT = Path(__file__).resolve().parents[1]


def view(**fields) -> DecisionView:
    base = {
        "id": 7,
        "stream": "pick3",
        "created_at": datetime(2026, 12, 7, tzinfo=UTC),
        "triggers": [],
        "advice": None,
        "action": "wait",
        "rule": "nothing fired",
        "proposals": [],
        "approval": {},
        "status": "done",
        "run_id": None,
        "flow_run_id": None,
        "outcome": None,
    }
    return DecisionView.model_validate(base | fields)


def test_a_decision_makes_the_events_an_operator_wants_to_hear_about():
    assert events.decision_events(view()) == []
    assert events.decision_events(view(action="retrain", status="approved")) == []
    (waiting,) = events.decision_events(
        view(action="research", status="pending_approval", rule="research_approval = person")
    )
    assert waiting.event == events.AWAITING_APPROVAL
    assert waiting.resource() == {
        "prefect.resource.id": "mimicry.stream.pick3",
        "prefect.resource.name": "pick3",
    }
    assert waiting.sentence == (
        "Stream 'pick3': decision 7 (research) waits for a person's approval: "
        "research_approval = person."
    )
    shift, escalated = events.decision_events(
        view(
            action="escalate",
            status="pending_approval",
            rule="regime shift, but the search budget is spent (2 a day)",
            triggers=[{"name": "regime_shift", "change_point": 412}],
        )
    )
    assert (shift.event, shift.payload["change_point"]) == (events.REGIME_SHIFT, 412)
    assert escalated.event == events.ESCALATED and escalated.payload["decision_id"] == 7


def test_text_from_people_travels_as_plain_text():
    (halted,) = events.halt_events(True, "disk\x1b[2J full\x07", "ops (mimicry watch)")
    assert halted.event == events.HALTED
    assert "\x1b" not in halted.sentence and "\x07" not in halted.sentence
    assert "\x1b" not in json.dumps(halted.payload)
    (resumed,) = events.halt_events(False, None, "ops")
    assert resumed.event == events.RESUMED and resumed.sentence == "The WATCHER was resumed by ops."
    (critical,) = events.critical_health_events("s", "r1", "its final fit is critical (nan_loss)")
    assert critical.event == events.CRITICAL_HEALTH and critical.payload["run_id"] == "r1"
    (promoted,) = events.promotion_events("s", {"version": 3, "state": "pending"}, 12, "beat it")
    assert promoted.event == events.PROMOTED
    assert "champion 3, waiting for a person's approval (decision 12 runs its search)" in (
        promoted.sentence
    )


class Hook(http.server.BaseHTTPRequestHandler):
    received: queue.Queue

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.put(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webhook():
    received: queue.Queue = queue.Queue()
    handler = type("Handler", (Hook,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts?token=s3cret", received
    server.shutdown()


@pytest.fixture(scope="module")
def api_url():
    with prefect_test_harness(server_startup_timeout=300):
        from prefect.settings import PREFECT_API_URL

        yield PREFECT_API_URL.value()


def calls(received: queue.Queue, event: str, seconds: float = 90) -> dict:
    """The first webhook call for ``event`` (others are put back for later asserts)."""
    deadline, others = time.monotonic() + seconds, []
    try:
        while time.monotonic() < deadline:
            try:
                body = received.get(timeout=1)
            except queue.Empty:
                continue
            if body["event"] == event:
                return body
            others.append(body)
        raise AssertionError(f"no webhook call for {event} in {seconds} s; got {others}")
    finally:
        for body in others:
            received.put(body)


def register_automations(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What deployments/deploy.sh runs after the deployments."""
    return subprocess.run(
        [sys.executable, "-m", "deployments.automations"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_automations_call_the_webhook(api_url, webhook, home):
    url, received = webhook
    env = {**os.environ, "PREFECT_API_URL": api_url, "MIMICRY_ALERT_WEBHOOK_URL": url}
    registered = register_automations(env)
    assert registered.returncode == 0, registered.stderr
    # Seven automations; the webhook's token is not printed.
    assert registered.stdout.startswith("automations: 7 registered, calling http://127.0.0.1:")
    assert "s3cret" not in registered.stdout + registered.stderr
    again = register_automations(env)  # a re-run replaces them, it does not add more
    assert again.returncode == 0, again.stderr
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        names = [a.name for a in client.read_automations() if a.name.startswith("mimicry: ")]
    assert len(names) == 7 == len(set(names))
    time.sleep(2)  # the triggers service reads new automations on its own schedule

    # A person halts the WATCHER from the terminal: the reason, as plain text, reaches the hook.
    halted = subprocess.run(
        [*MIMICRY, "watch", "--halt", "disk \x1b[31mfull"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert halted.returncode == 0, halted.stderr
    body = calls(received, events.HALTED)
    assert body["resource"] == "mimicry.watcher"
    assert body["sentence"].startswith("The WATCHER was halted by ")
    assert body["sentence"].endswith(": disk \\x1b[31mfull.")
    assert body["payload"]["reason"] == "disk \\x1b[31mfull"

    # A run of mimicry's flows that fails: Prefect's own event, told with the state's message.
    from flows.sieve import sieve_flow

    state = sieve_flow("no-such-stream", "mt19937", return_state=True)
    assert state.is_failed()
    body = calls(received, "prefect.flow-run.Failed")
    assert body["name"] == "sieve-no-such-stream-mt19937"
    assert body["sentence"].startswith("Flow run sieve-no-such-stream-mt19937 ended Failed: ")


def test_a_bad_webhook_url_is_refused_in_one_sentence():
    bad = register_automations({**os.environ, "MIMICRY_ALERT_WEBHOOK_URL": "ftp://user:pw@host/x"})
    assert bad.returncode == 2
    assert bad.stderr == (
        "automations: error: MIMICRY_ALERT_WEBHOOK_URL must be an http:// or https:// URL, got "
        "'ftp://user:***@host/x'\n"
    )
