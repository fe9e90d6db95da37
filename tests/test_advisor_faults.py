"""The advisor against servers that misbehave on purpose (issue 21): real HTTP servers on
127.0.0.1 that write terminal escapes, nest their reply past any parser's depth, drip a byte a
second, send 200 MB, or fail while the URL holds a password; and the real ``mimicry advise``.

Every misbehaviour must end in the heuristic's advice marked degraded, with the reason, in
bounded time and memory, and with no secret and no escape byte in anything printed or stored.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from llm.advisor import ATTEMPTS
from llm.backends import MAX_REPLY_BYTES, HttpBackend
from llm.schemas import RATIONALE_TEXT, StreamAdvice, advice_schema
from mimicry.redaction import REDACTED, redact_text, redact_url, url_secrets
from mimicry.settings import get_settings
from tests.test_advisor import VALID, bundle, run_advise, store_with_history
from watcher.tick import consult

ESCAPES = "\x1b[2J\x1b]0;TITLE\x07"


@contextmanager
def serving(respond: Callable[[BaseHTTPRequestHandler, int], None]) -> Iterator[tuple[str, list]]:
    """A real HTTP server on 127.0.0.1 answering the n-th POST (from 0) with
    ``respond(handler, n)``; yields its URL and the requests it received (headers, body)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"headers": dict(self.headers), "body": body})
            # The client giving up on us is what these tests want.
            with suppress(BrokenPipeError, ConnectionResetError):
                respond(self, len(received) - 1)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def answer(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def completion(content: str, model: str = "test-model") -> bytes:
    return json.dumps({"model": model, "choices": [{"message": {"content": content}}]}).encode()


def advise_json(home, url: str, **env) -> tuple[dict, str]:
    """``mimicry advise --stream s --json`` against ``url``: the report, and all it printed."""
    proc = run_advise(
        home, "--stream", "s", "--json", MIMICRY_LLM_BACKEND="http", MIMICRY_LLM_URL=url, **env
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stdout + proc.stderr


# -- 7: a server's words never act on the terminal -----------------------------------------------


def test_a_rationale_holding_control_characters_is_refused_by_the_schema():
    for rationale in ("a\x1b[2Jb", "a\x07", "a\nb", "trailing\n", "a\x7f", "a\x9bb", "a\u202eb"):
        with pytest.raises(ValidationError, match="rationale"):
            StreamAdvice.model_validate({**VALID, "rationale": rationale})
    # Nor anything a terminal could show as something else, nor an escape.
    for rationale in ("Hits fell — ü", "a\u200bb", 'say "wait"', "a\\b"):
        with pytest.raises(ValidationError, match="rationale"):
            StreamAdvice.model_validate({**VALID, "rationale": rationale})
    fine = "Hits fell to 20/40 (p 0.003); the promise [0.8] no longer holds: retrain? ~#&'{}"
    assert StreamAdvice.model_validate({**VALID, "rationale": fine}).rationale == fine
    # The grammar the model decodes under holds the same bound.
    schema = advice_schema(bundle().evidence_available)
    assert schema["properties"]["rationale"]["pattern"] == RATIONALE_TEXT


def test_advise_prints_no_escape_from_a_server(home):
    store_with_history("s", [True] * 12)
    evil = {**VALID, "rationale": f"Hits fell.{ESCAPES}"}

    def respond(handler, _):
        answer(handler, completion(json.dumps(evil), model=f"m{ESCAPES}" + "x" * 500))

    with serving(respond) as (url, _):
        human = run_advise(home, "--stream", "s", MIMICRY_LLM_BACKEND="http", MIMICRY_LLM_URL=url)
        report, printed = advise_json(home, url)
    assert human.returncode == 0, human.stderr
    for output in (human.stdout + human.stderr, printed):
        assert "\x1b" not in output and "\x07" not in output
    # The rationale cannot pass the schema: the advice is the heuristic's, saying why.
    assert report["degraded"] and len(report["failures"]) == ATTEMPTS
    assert all("rationale: String should match pattern" in f for f in report["failures"])
    # The server's model name is kept bounded and with its escapes shown, not obeyed.
    assert report["model"].startswith("m\\x1b[2J\\x1b]0;TITLE\\x07x")
    assert len(report["model"]) == 100
    assert "m\\x1b[2J" in human.stdout


# -- 8: every failure of an attempt ends in the heuristic's advice -------------------------------


def test_a_reply_nested_past_the_parsers_depth_is_a_failed_attempt(home):
    store_with_history("s", [True] * 12)

    def respond(handler, n):
        # The reply itself nested, then the advice inside a well-formed reply.
        answer(handler, b"[" * 200_000 if n == 0 else completion("[" * 200_000))

    with serving(respond) as (url, _):
        report, _ = advise_json(home, url)
    assert report["degraded"] and report["advice"]["recommended_action"] == "wait"
    assert "JSON nested too deeply" in report["failures"][0]
    assert report["failures"][1].startswith("attempt 2: ValidationError")


@pytest.mark.parametrize(
    "url", ["http://[::1", "ftp://127.0.0.1:8080", "http:///v1", "127.0.0.1:8080", "http://a b"]
)
def test_an_unusable_llm_url_is_refused_at_start(home, url):
    store_with_history("s", [True] * 12)
    proc = run_advise(home, "--stream", "s", MIMICRY_LLM_BACKEND="http", MIMICRY_LLM_URL=url)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(
        "mimicry: error: MIMICRY_LLM_URL: expected an http or https URL with a host"
    )
    assert proc.stdout == ""


# -- 9: one deadline per attempt, a cap on the reply ---------------------------------------------


def test_a_server_dripping_a_byte_a_second_meets_the_deadline(home):
    store_with_history("s", [True] * 12)
    reply = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + completion(
        json.dumps(VALID)
    )

    def respond(handler, _):
        # From the status line on: the headers alone would take a minute.
        for byte in reply[:60]:
            handler.wfile.write(bytes([byte]))
            time.sleep(1)

    timeout = 3
    started = time.monotonic()
    with serving(respond) as (url, received):
        report, _ = advise_json(home, url, MIMICRY_LLM_TIMEOUT_SECONDS=str(timeout))
    wall = time.monotonic() - started
    print(f"dripping server: advice {report['latency_s']} s, command {wall:.1f} s")
    # The documented bound: each attempt within the timeout, the whole advice within
    # ATTEMPTS of them (docs/design.md §16).
    assert report["latency_s"] <= ATTEMPTS * timeout + 1
    assert report["latency_s"] >= ATTEMPTS * timeout - 0.5  # it did wait for the server
    assert report["degraded"] and len(received) == ATTEMPTS
    assert report["failures"] == [
        f"attempt {n}: BackendError: {url} did not answer within 3 s (deadline)"
        for n in range(1, ATTEMPTS + 1)
    ]


@pytest.mark.parametrize("declared", [False, True])
def test_a_200_mb_reply_is_read_no_further_than_the_cap(home, declared):
    store_with_history("s", [True] * 12)
    size, chunk = 200 * 1024 * 1024, b" " * 65536
    sent: list[int] = []

    def respond(handler, _):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if declared:
            handler.send_header("Content-Length", str(size))
        handler.end_headers()  # HTTP/1.0: undeclared, the body runs until the server closes
        total = 0
        try:
            while total < size:  # made as it is sent, never held whole
                handler.wfile.write(chunk)
                total += len(chunk)
        finally:
            sent.append(total)

    with serving(respond) as (url, _):
        report, _ = advise_json(home, url)
        deadline = time.monotonic() + 10
        while len(sent) < ATTEMPTS and time.monotonic() < deadline:
            time.sleep(0.05)
    assert report["degraded"] and len(sent) == ATTEMPTS
    assert all(f"reply passed {MAX_REPLY_BYTES:,} bytes" in f for f in report["failures"])
    # What left the server is the cap plus what the sockets' buffers took in before the client
    # closed: megabytes, not the 200 MB it offered.
    print(f"bytes sent per attempt: {sent}")
    assert max(sent) < 32 * 1024 * 1024, sent


# -- 10: credentials never in clear ---------------------------------------------------------------


def test_the_api_key_is_sent_as_a_bearer_token_and_never_printed(home):
    store_with_history("s", [True] * 12)
    with serving(lambda handler, _: answer(handler, completion(json.dumps(VALID)))) as (
        url,
        received,
    ):
        report, printed = advise_json(home, url, MIMICRY_LLM_API_KEY="k3y-Secret")
    assert not report["degraded"], report["failures"]
    assert received[0]["headers"]["Authorization"] == "Bearer k3y-Secret"
    assert "k3y-Secret" not in printed


def test_a_failing_server_behind_a_password_shows_neither_password_nor_key(home, monkeypatch):
    store_with_history("s", [True] * 12)
    with serving(lambda handler, _: answer(handler, b"{}", status=500)) as (url, received):
        with_password = url.replace("http://", "http://user:s3cret@")
        report, printed = advise_json(home, with_password)
        # The URL's userinfo still authenticates the request itself.
        basic = base64.b64encode(b"user:s3cret").decode()
        assert received[0]["headers"]["Authorization"] == f"Basic {basic}"
        assert report["degraded"] and "s3cret" not in printed
        assert all(f"http://user:{REDACTED}@127.0.0.1" in f for f in report["failures"])
        human = run_advise(
            home,
            "--stream",
            "s",
            MIMICRY_LLM_BACKEND="http",
            MIMICRY_LLM_URL=with_password,
            MIMICRY_LLM_API_KEY="k3y-Secret",
        )
        assert human.returncode == 0, human.stderr
        assert received[-1]["headers"]["Authorization"] == "Bearer k3y-Secret"  # the key wins
        for secret in ("s3cret", "k3y-Secret"):
            assert secret not in human.stdout + human.stderr
        # What a WATCHER tick stores (its decision's advice is this report, less the bundle).
        monkeypatch.setenv("MIMICRY_LLM_BACKEND", "http")
        get_settings.cache_clear()
        stored = consult(
            "s",
            [],
            get_settings(),
            backend=HttpBackend(with_password, 0.7, 5.0, api_key="k3y-Secret"),
        ).report
    text = stored.model_dump_json()
    assert stored.degraded and "s3cret" not in text and "k3y-Secret" not in text


def test_redaction_of_urls_and_text():
    assert redact_url("https://u:p%40ss@host:8/v1?api_key=abc&x=1&access_token=t#f") == (
        f"https://u:{REDACTED}@host:8/v1?api_key={REDACTED}&x=1&access_token={REDACTED}#f"
    )
    assert redact_url("http://tok3n@host/") == f"http://{REDACTED}@host/"
    assert redact_url("http://127.0.0.1:8080/v1?model=m") == "http://127.0.0.1:8080/v1?model=m"
    # A URL urlsplit refuses is redacted by pattern, never passed through.
    assert redact_url("http://u:pw@[::1?token=t") == f"http://{REDACTED}@[::1?token={REDACTED}"
    secrets = url_secrets("http://u:p%40ss@host/?sig=zz")
    assert secrets == ["p%40ss", "zz"]
    text = "for url 'http://u:p%40ss@host' (p@ss) sig=zz"
    assert redact_text(text, secrets) == (
        f"for url 'http://u:{REDACTED}@host' ({REDACTED}) sig={REDACTED}"
    )


# -- 10: where the draws lie is not the server's to know -----------------------------------------


def test_the_prompt_holds_draw_file_names_not_their_folders(home):
    folder = home / "private-folder"
    store_with_history("s", [True] * 12, source=str(folder / "draws.csv"))
    with serving(lambda handler, _: answer(handler, completion(json.dumps(VALID)))) as (
        url,
        received,
    ):
        report, _ = advise_json(home, url)
    prompt_text = received[0]["body"]["messages"][0]["content"]
    assert '"sources":["draws.csv"]' in prompt_text
    assert "private-folder" not in prompt_text and str(home) not in prompt_text
    assert report["bundle"]["sources"] == ["draws.csv"]
