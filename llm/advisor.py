"""Asking for advice: a backend's answer validated, one retry, then the heuristic's, marked
``degraded``. Nothing here ever defaults to an action: an answer that is not a valid
:class:`~llm.schemas.StreamAdvice` for this bundle is never returned as one.
"""

from __future__ import annotations

import time
from typing import Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from llm.bundle import ContextBundle, prompt
from llm.heuristic import heuristic_advice
from llm.schemas import StreamAdvice, advice_schema
from mimicry.render import plain_text

#: Attempts a backend gets per advice: its answer, and one retry.
ATTEMPTS = 2


class BackendError(RuntimeError):
    """A backend could not answer (unreachable, timed out, refused); ``str()`` says why."""


class AdvisorUnavailable(ValueError):
    """The configured backend cannot be used here (the ``llm`` extra missing, a model file
    missing or corrupt, no URL); ``str()`` is one sentence naming what to fix. Not a failed
    attempt: no retry helps, so :func:`advise` lets it through to its caller."""


class Backend(Protocol):
    #: ``local``, ``http`` or ``heuristic``.
    name: str
    #: What answered: a model file's name, a server's model, or ``rules``.
    model: str

    def complete(self, text: str, schema: dict) -> str:
        """The raw answer (JSON text) to the prompt ``text``, decoded under ``schema``; raises
        :class:`BackendError`."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def close(self) -> None:
        """Release what the backend holds (a loaded model's memory)."""
        ...


class AdviceReport(BaseModel):
    """One advice with how it was obtained: what ``mimicry advise --json`` prints."""

    model_config = ConfigDict(extra="forbid")
    stream: str
    backend: str
    model: str
    #: True when the advice is the heuristic's because the backend's answers were not usable.
    degraded: bool
    #: Why it is degraded (each failed attempt, in order); empty when not.
    failures: list[str]
    attempts: int
    latency_s: float
    bundle: dict
    advice: StreamAdvice


def validated(answer: str, bundle: ContextBundle) -> StreamAdvice:
    """``answer`` as an advice for ``bundle``, or ValueError saying why it is not one: the schema,
    and evidence only from the bundle's own list."""
    advice = StreamAdvice.model_validate_json(answer)
    unknown = [e for e in advice.evidence if e not in bundle.evidence_available]
    if unknown:
        raise ValueError(f"evidence {unknown} is not among the bundle's metrics")
    return advice


def _short(error: Exception) -> str:
    """One line: the error's kind and, for a validation error, the field and what it broke."""
    # A server's or a library's words, stored and printed: no control character survives.
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(the answer)"
        return plain_text(f"ValidationError: {where}: {first['msg'][:160]}")
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return plain_text(f"{type(error).__name__}: {text[:200]}")


def advise(bundle: ContextBundle, backend: Backend) -> AdviceReport:
    """The backend's advice for ``bundle`` (validated; one retry), else the heuristic's, marked
    ``degraded`` with the reasons: any exception of an attempt is a failed attempt, except
    :class:`AdvisorUnavailable`, which is raised. The heuristic backend is never degraded."""
    started = time.perf_counter()
    failures: list[str] = []
    advice = None
    attempts = 0
    if backend.name != "heuristic":
        text, schema = prompt(bundle), advice_schema(bundle.evidence_available)
        for attempts in range(1, ATTEMPTS + 1):
            try:
                advice = validated(backend.complete(text, schema), bundle)
                break
            except AdvisorUnavailable:
                raise
            except Exception as error:  # whatever it was, the rules answer
                # A backend's own kind of failure or any other (a reply nested past a parser's
                # depth, a library's error): fail closed to the heuristic, saying why.
                failures.append(f"attempt {attempts}: {_short(error)}")
    degraded = advice is None and backend.name != "heuristic"
    if advice is None:
        advice = heuristic_advice(bundle)
    return AdviceReport(
        stream=bundle.stream,
        backend=backend.name,
        model=plain_text(backend.model),
        degraded=degraded,
        failures=failures,
        attempts=attempts,
        latency_s=round(time.perf_counter() - started, 3),
        bundle=bundle.model_dump(mode="json"),
        advice=advice,
    )
