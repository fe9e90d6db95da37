"""A WATCHER tick's work on one stream, at the edges of the pure review (docs/design.md §17.1):
load the stream's snapshot, consult the advisor when the review wants advice, review, save the
plan. Callable without Prefect (``flows/watcher.py`` runs these as tasks)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from llm.advisor import advise, advise_in_turn
from llm.backends import AdvisorUnavailable, HeuristicBackend, backends_from, sized_bundle
from llm.bundle import ContextBundle
from mimicry.settings import Settings
from mimicry.store.decisions import DecisionView, NewDecision, decision_by_key, save_decision
from mimicry.store.statuses import DecisionStatus
from mimicry.store.watch import stream_snapshot
from watcher.health import last_search
from watcher.policy import Policy
from watcher.review import Consultation, review, search_request
from watcher.triggers import Trigger


def consult(stream: str, triggers: list[Trigger], settings: Settings, backend=None) -> Consultation:
    """The advice for the stream's bundle and the bundle's fingerprint. A backend that cannot be
    used here (the extra missing, a corrupt model, no URL) gives the heuristic's advice,
    degraded, with the reason. ``backend``: the advisor's (default: the ones the settings name,
    tried in turn)."""
    lines = [t.line() for t in triggers]
    backends = []
    try:
        backends = [backend] if backend is not None else backends_from(settings)
        report = advise_in_turn(
            backends, lambda chosen: sized_bundle(stream, chosen, triggers=lines)
        )
    except AdvisorUnavailable as error:
        heuristic = HeuristicBackend()
        report = advise(sized_bundle(stream, heuristic, triggers=lines), heuristic).model_copy(
            update={
                "backend": settings.llm_backend,
                "degraded": True,
                "failures": [f"the advisor is unavailable: {error}"],
            }
        )
    finally:
        for used in backends:
            used.close()  # the model's memory goes back before any sieve needs it
    bundle_text = ContextBundle.model_validate(report.bundle).as_text()
    fingerprint = hashlib.sha256(bundle_text.encode()).hexdigest()
    return Consultation(report=report, fingerprint=fingerprint)


def review_stream(
    stream: str,
    policy: Policy,
    tick_id: str,
    now: datetime,
    settings: Settings,
    backend=None,
) -> DecisionView:
    """Decide for ``stream`` and record the decision (or find the same one recorded earlier):
    the snapshot, the rules' plan, the advisor when that plan wants advice, the plan reviewed
    with the advice, saved."""
    snapshot = stream_snapshot(stream, now)
    plan = review(snapshot, None, policy, now, tick_id)
    if plan.rules_key is not None:
        # The same decision on the same store state, made by an earlier tick: that one stands
        # (and the advisor is not asked again).
        earlier = decision_by_key(plan.rules_key)
        if earlier is not None:
            return earlier
    if plan.wants_advice:
        consultation = consult(stream, plan.triggers, settings, backend)
        plan = review(snapshot, consultation, policy, now, tick_id)
    return save_decision(plan.record(tick_id))


def record_halted(stream: str, tick_id: str, reason: str | None) -> DecisionView:
    """The tick's record for a stream while the WATCHER is halted: nothing was decided."""
    return save_decision(
        NewDecision(
            stream=stream,
            tick_id=tick_id,
            draws=0,
            triggers=[],
            bundle_fingerprint=None,
            advice=None,
            action="wait",
            rule=f"halted: {reason}",
            proposals=[],
            approval={"mode": "auto", "rule": "nothing to run"},
            status=DecisionStatus.HALTED,
            request=None,
            idempotency_key=hashlib.sha256(f"{stream}|halted|{tick_id}".encode()).hexdigest(),
            expires_at=None,
            outcome=f"the WATCHER is halted: {reason}",
        )
    )


def stream_pool_size(stream: str, now: datetime) -> int:
    """K for the stream's next predictions: its last search's pool size."""
    snapshot = stream_snapshot(stream, now)
    return search_request(last_search(snapshot), stream).ranking.pool_size


def arbiter(stream: str, policy: Policy) -> str | None:
    """The live scoring keeps a promotion honest (docs/design.md §21): a champion whose live
    predictions fall short of its replay's promise is demoted, the champion before it back;
    what was done, in words, or None."""
    from mimicry.store.selfplay import champion, end_champion, live_hits
    from mimicry.store.statuses import ChampionState
    from watcher.selfplay import demotion

    active = champion(stream)
    if active is None:
        return None
    shortfall = demotion(active, live_hits(stream, active), policy.selfplay)
    if shortfall is None:
        return None
    reason = f"demoted by the live scoring: {shortfall.reason}"
    if end_champion(stream, ChampionState.DEMOTED, reason) is None:
        return None  # ended elsewhere meanwhile
    return f"champion {active.version} {reason}"
