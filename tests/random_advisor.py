"""A bad advisor for the loop's tests and benchmarks: an OpenAI-compatible HTTP server on
127.0.0.1 whose every answer is random advice that validates (issue 12 §4)."""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RandomAdvisor(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose every answer is a random advice that validates:
    any action, any failure mode, up to three proposals anywhere inside the schema's bounds."""

    rng = random.Random(0)
    answered = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        schema = body["response_format"]["json_schema"]["schema"]
        names = schema["properties"]["evidence"]["items"].get("enum", [])
        rng = RandomAdvisor.rng
        ranges = {
            "pool_size": (1, 100),
            "holdout_fraction": (0.05, 0.5),
            "model_trials": (1, 50),
            "window_trials": (1, 200),
        }
        proposals = []
        for parameter in rng.sample(sorted(ranges), rng.randint(0, 3)):
            low, high = ranges[parameter]
            if isinstance(low, float):  # two decimals, as the schema asks
                value = round(rng.uniform(low, high), 2)
            else:
                value = rng.randint(low, high)
            proposals.append({"parameter": parameter, "value": value})
        advice = {
            "schema_version": "3",
            "recommended_action": rng.choice(["wait", "retrain", "research", "escalate"]),
            "failure_mode": rng.choice(["none", "regime_shift", "chance", "data_quality"]),
            "retrain_scope": rng.choice(["none", "model", "ranking", "search"]),
            "parameter_proposals": proposals,
            "confidence": round(rng.random(), 2),
            "evidence": rng.sample(names, min(len(names), rng.randint(0, 3))),
            "rationale": "random",
        }
        RandomAdvisor.answered += 1
        reply = json.dumps(
            {"model": "random", "choices": [{"message": {"content": json.dumps(advice)}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@contextmanager
def random_advisor() -> Iterator[type[RandomAdvisor]]:
    """The server running, and MIMICRY_LLM_BACKEND / MIMICRY_LLM_URL pointing at it (restored
    after); yields the handler class, whose ``answered`` counts the answers."""
    from mimicry.settings import get_settings

    server = ThreadingHTTPServer(("127.0.0.1", 0), RandomAdvisor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    saved = {key: os.environ.get(key) for key in ("MIMICRY_LLM_BACKEND", "MIMICRY_LLM_URL")}
    os.environ["MIMICRY_LLM_BACKEND"] = "http"
    os.environ["MIMICRY_LLM_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    get_settings.cache_clear()
    try:
        yield RandomAdvisor
    finally:
        server.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
