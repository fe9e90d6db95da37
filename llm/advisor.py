"""Asking for advice: a backend's answer validated, one retry, then the heuristic's, marked
``degraded``. Nothing here ever defaults to an action: an answer that is not a valid
:class:`~llm.schemas.StreamAdvice` for this bundle is never returned as one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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


def advise_in_turn(
    backends: Sequence[Backend], bundle_for: Callable[[Backend], ContextBundle]
) -> AdviceReport:
    """Each backend in turn (``MIMICRY_LLM_BACKEND=local,http``: the replaced system's primary
    and backup model): the first validated advice wins; when none gives one, the heuristic's,
    degraded, with every backend's failed attempts in order. ``bundle_for`` sizes the bundle to
    a backend's context. A backend that cannot be used here is a failure of the chain's, not an
    error, unless it is the only one (:class:`AdvisorUnavailable` is raised, as by
    :func:`advise`)."""
    if len(backends) == 1:
        return advise(bundle_for(backends[0]), backends[0])
    started = time.perf_counter()
    failures: list[str] = []
    attempts = 0
    report = None
    for backend in backends:
        try:
            report = advise(bundle_for(backend), backend)
        except AdvisorUnavailable as error:
            failures.append(f"{backend.name}: unavailable: {_short(error)}")
            continue
        attempts += report.attempts
        failures += [f"{backend.name}: {failure}" for failure in report.failures]
        if not report.degraded:
            break
    if report is None:  # no backend of the chain could be used: the rules answer
        heuristic = _heuristic()
        report = advise(bundle_for(heuristic), heuristic)
    return report.model_copy(
        update={
            # Degraded: the rules answered because a model before them gave no valid answer.
            "degraded": report.degraded or (report.backend == "heuristic" and bool(failures)),
            "backend": ",".join(b.name for b in backends) if report.degraded else report.backend,
            "failures": failures,
            "attempts": attempts,
            "latency_s": round(time.perf_counter() - started, 3),
        }
    )


def _heuristic() -> Backend:
    from llm.backends import HeuristicBackend

    return HeuristicBackend()
