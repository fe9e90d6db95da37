"""One selfplay episode on one stream (docs/design.md §21): load what it needs, replay the
champion and the study's candidates on the stream's history, judge each by the gate and the
acceptance, record everything, and promote at most one.

The rules are pure (:mod:`mimicry.selfplay.gate`, :mod:`watcher.selfplay`); this module is
their edge: the store and the stream's Optuna study. Replays go through ``replay`` (one origin
of one configuration), which the selfplay flow makes a Prefect task and a test calls plainly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

from mimicry.requests import PipelineRequest
from mimicry.selfplay.candidate import Candidate, suggest, trial_params
from mimicry.selfplay.gate import GateVerdict, gate
from mimicry.selfplay.replay import (
    OriginScore,
    ReplayPlan,
    ReplayScore,
    cannot_catch_up,
    replay_plan,
)
from mimicry.store.decisions import NewDecision, save_decision
from mimicry.store.selfplay import (
    ChampionView,
    NewCandidate,
    NewChampion,
    add_champion,
    champion,
    champion_history,
    finish_episode,
    link_decision,
    record_candidate,
    start_episode,
    tried_since_promotion,
)
from mimicry.store.statuses import (
    CandidateVerdict,
    ChampionState,
    DecisionStatus,
    EpisodeStatus,
)
from mimicry.store.streams import history
from mimicry.store.watch import stream_snapshot
from watcher.acceptance import Outcome, Proposal
from watcher.health import last_search
from watcher.policy import Policy
from watcher.review import search_request
from watcher.selfplay import champion_request, promotion_verdict

#: One origin of one configuration: (draws up to the frontier, origin, horizon, request) → score.
Replay = Callable[[Sequence[int], int, int, PipelineRequest], OriginScore]


class EpisodeReport(BaseModel):
    """What an episode did, as ``mimicry selfplay --json`` prints it (one of its episodes)."""

    model_config = ConfigDict(frozen=True)
    id: int
    stream: str
    frontier: int
    plan: dict
    #: The configuration it proposed and who proposed it (the study, or the advisor).
    candidate: dict
    source: str
    #: Its replay over every origin it reached (hits, draws, mean gain a draw), and per half.
    replay: dict
    exploration: dict
    confirmation: dict | None
    champion_version: int
    champion: dict
    p_value: float | None
    gate: dict | None
    verdict: CandidateVerdict
    reason: str
    cpu_seconds: float
    promoted: dict | None
    #: The decision that runs the new champion's first search, when one was promoted.
    decision_id: int | None = None


def study_name(stream: str) -> str:
    """One study per stream: exploration goes on across episodes and restarts."""
    return f"selfplay {stream}"


def told(study, candidate: Candidate, space, value: float) -> bool:
    """Add ``candidate`` to ``study`` as a finished trial worth ``value``, without asking for
    it; False when its knobs lie outside the space's distributions (a champion promoted under
    a wider policy), which a trial cannot hold."""
    import warnings

    import optuna

    fixed = optuna.trial.FixedTrial(trial_params(candidate, space))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out of range: said by create_trial below
        suggest(fixed, space)
    try:
        trial = optuna.trial.create_trial(
            params=fixed.params, distributions=fixed.distributions, value=value
        )
    except ValueError:
        return False
    study.add_trial(trial)
    return True


def _replayed(
    replay: Replay,
    draws: Sequence[int],
    origins: Sequence[int],
    plan: ReplayPlan,
    request: PipelineRequest,
    to_beat: int | None = None,
) -> tuple[ReplayScore, bool]:
    """``request`` replayed on ``origins`` in order; stopped (True) as soon as it could not
    reach ``to_beat`` hits even if every draw left hit."""
    done: list[OriginScore] = []
    for index, origin in enumerate(origins):
        done.append(replay(draws, origin, plan.horizon, request))
        remaining = plan.horizon * (len(origins) - index - 1)
        if to_beat is not None and cannot_catch_up(done, remaining, to_beat):
            return ReplayScore(origins=tuple(done)), True
    return ReplayScore(origins=tuple(done)), False


def proposal_candidate(base: Candidate, proposals: Sequence[Proposal]) -> Candidate | None:
    """The champion with the advisor's accepted-kind proposals applied (the knobs a candidate
    has), or None when none of them names one."""
    knobs = {"pool_size", "model_trials", "window_trials", "scorer_trials", "trial_budget"}
    changes = {p.parameter: int(p.value) for p in proposals if p.parameter in knobs}
    return base.model_copy(update=changes) if changes else None


def run_episode(
    stream: str,
    policy: Policy,
    storage_url: str,
    replay: Replay,
    proposals: Sequence[Proposal] = (),
    decision_id: int | None = None,
    now: datetime | None = None,
    seed: int = 0,
) -> EpisodeReport:
    """One episode (see the module doc). Raises
    :class:`~mimicry.selfplay.replay.HistoryTooShortForReplay` before recording anything when
    the stream is too short for the policy's origins."""

    from mimicry.store.studies import resumable_study

    settings = policy.selfplay
    now = now or datetime.now(UTC)
    snapshot = stream_snapshot(stream, now)
    base = search_request(last_search(snapshot), stream)
    current = champion(stream)
    champion_config = champion_request(base, current.candidate if current else None)
    stream_draws = list(history(stream))[base.segment_start :]
    plan = replay_plan(
        len(stream_draws),
        settings.live_draws,
        settings.origins,
        settings.horizon,
        settings.min_training,
    )
    draws = stream_draws[: plan.frontier]
    episode_id = start_episode(
        stream,
        base.segment_start + plan.frontier,
        plan.model_dump(mode="json"),
        current.id if current else None,
        decision_id,
    )
    spent = 0.0
    try:
        champion_exploration, _ = _replayed(replay, draws, plan.exploration, plan, champion_config)
        champion_confirmation, _ = _replayed(
            replay, draws, plan.confirmation, plan, champion_config
        )
        spent = champion_exploration.cpu_seconds + champion_confirmation.cpu_seconds
        study = resumable_study(study_name(stream), storage_url, seed)
        champion_knobs = Candidate.of(champion_config)
        # The champion first, with its own replay (not replayed as a candidate): the study
        # learns where it stands before it wanders off.
        told(study, champion_knobs, settings.space, champion_exploration.hit_rate)
        advised = proposal_candidate(champion_knobs, proposals)
        if advised is not None:
            study.enqueue_trial(trial_params(advised, settings.space), skip_if_exists=True)
        trial = study.ask()
        candidate = suggest(trial, settings.space)
        source = "advisor" if advised is not None and candidate == advised else "study"
        judged = _judge(
            candidate,
            source,
            base,
            draws,
            plan,
            replay,
            champion_exploration,
            champion_confirmation,
            tried_since_promotion(stream),
            policy,
            stream,
            now,
        )
        replayed = judged.whole
        # The study's objective: the exploration origins' hit rate (the confirmation origins
        # are the gate's, never the study's).
        study.tell(trial, judged.exploration.hit_rate)
        candidate_id = record_candidate(episode_id, judged.record)
        promoted, promotion_decision = None, None
        if judged.record.verdict == CandidateVerdict.PROMOTED:
            new_champion, promotion_decision = _promote(
                stream,
                judged,
                candidate_id,
                episode_id,
                base.segment_start + len(stream_draws),
                snapshot.draws,
                policy,
                now,
            )
            promoted = new_champion.public()
        outcome = (
            f"promoted as champion {promoted['version']}: {judged.record.reason}"
            if promoted
            else f"{judged.record.verdict.value}: {judged.record.reason}"
        )
        finish_episode(episode_id, EpisodeStatus.DONE, outcome, extra_cpu_seconds=spent)
    except BaseException as error:
        finish_episode(episode_id, EpisodeStatus.FAILED, f"{type(error).__name__}: {error}", spent)
        raise
    return EpisodeReport(
        id=episode_id,
        stream=stream,
        frontier=base.segment_start + plan.frontier,
        plan=plan.model_dump(mode="json"),
        candidate=judged.record.candidate,
        source=source,
        replay=replayed.summary(),
        exploration=judged.record.exploration,
        confirmation=judged.record.confirmation,
        champion_version=current.version if current else 0,
        champion={
            "candidate": champion_knobs.model_dump(mode="json"),
            "exploration": _summary(champion_exploration),
            "confirmation": _summary(champion_confirmation),
        },
        p_value=judged.gate.p_value if judged.gate else None,
        gate=judged.record.gate,
        verdict=judged.record.verdict,
        reason=judged.record.reason,
        cpu_seconds=spent + judged.record.cpu_seconds,
        promoted=promoted,
        decision_id=promotion_decision,
    )


class _Judged(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    candidate: Candidate
    request: PipelineRequest | None
    exploration: ReplayScore
    confirmation: ReplayScore | None
    gate: GateVerdict | None
    record: NewCandidate
    approval: Outcome | None = None
    approval_rule: str = ""

    @property
    def whole(self) -> ReplayScore:
        """Its replay over every origin it reached."""
        confirmed = self.confirmation.origins if self.confirmation else ()
        return ReplayScore(origins=self.exploration.origins + confirmed)


def _summary(score: ReplayScore) -> dict:
    return score.summary() | {
        "cpu_seconds": round(score.cpu_seconds, 3),
        "origins": [o.model_dump(mode="json") for o in score.origins],
    }


def _judge(
    candidate: Candidate,
    source: str,
    base: PipelineRequest,
    draws: Sequence[int],
    plan: ReplayPlan,
    replay: Replay,
    champion_exploration: ReplayScore,
    champion_confirmation: ReplayScore,
    tried: int,
    policy: Policy,
    stream: str,
    now: datetime,
) -> _Judged:
    settings = policy.selfplay
    empty = ReplayScore(origins=())

    def verdict(
        kind: CandidateVerdict,
        reason: str,
        exploration=empty,
        confirmation=None,
        tested=None,
        request=None,
        approval=None,
        approval_rule="",
    ) -> _Judged:
        return _Judged(
            candidate=candidate,
            request=request,
            exploration=exploration,
            confirmation=confirmation,
            gate=tested,
            approval=approval,
            approval_rule=approval_rule,
            record=NewCandidate(
                candidate_key=candidate.key,
                candidate=candidate.model_dump(mode="json"),
                source=source,
                exploration=_summary(exploration),
                confirmation=_summary(confirmation) if confirmation else None,
                verdict=kind,
                gate=tested.model_dump(mode="json") if tested else None,
                reason=reason,
                cpu_seconds=exploration.cpu_seconds
                + (confirmation.cpu_seconds if confirmation else 0.0),
            ),
        )

    outside = candidate.outside(settings.space)
    if outside:
        return verdict(CandidateVerdict.REFUSED, outside)
    try:
        request = candidate.applied_to(base)
    except (ValidationError, ValueError) as error:
        return verdict(CandidateVerdict.REFUSED, f"the stream cannot run it: {error}")
    to_beat = champion_exploration.hits + 1
    exploration, stopped = _replayed(replay, draws, plan.exploration, plan, request, to_beat)
    if stopped or exploration.hits < to_beat:
        return verdict(
            CandidateVerdict.STOPPED_EARLY,
            (
                f"{exploration.hits} hits on the exploration origins"
                + (" so far" if stopped else "")
                + f", the champion {champion_exploration.hits}: it cannot beat the champion there"
            ),
            exploration,
        )
    confirmation, _ = _replayed(replay, draws, plan.confirmation, plan, request)
    tested = gate(
        confirmation.hit_list,
        champion_confirmation.hit_list,
        tried + 1,
        settings.alpha,
        settings.min_effect,
    )
    if not tested.passed:
        return verdict(
            CandidateVerdict.NOT_BETTER, tested.reason, exploration, confirmation, tested, request
        )
    accepted = promotion_verdict(candidate, champion_history(stream), settings, now)
    if accepted.outcome == Outcome.REJECTED:
        return verdict(
            CandidateVerdict.REFUSED,
            f"{tested.reason}; refused: {accepted.rule}",
            exploration,
            confirmation,
            tested,
            request,
        )
    return verdict(
        CandidateVerdict.PROMOTED,
        f"{tested.reason}; {accepted.rule}",
        exploration,
        confirmation,
        tested,
        request,
        accepted.outcome,
        accepted.rule,
    )


def _promote(
    stream: str,
    judged: _Judged,
    candidate_id: int,
    episode_id: int,
    live_from: int,
    draws: int,
    policy: Policy,
    now: datetime,
) -> tuple[ChampionView, int]:
    """Record the new champion and the decision that runs its first search (approved, or
    waiting for a person, who answers it as any decision)."""
    person = judged.approval == Outcome.NEEDS_APPROVAL
    confirmation = judged.confirmation
    new = add_champion(
        stream,
        NewChampion(
            candidate=judged.candidate.model_dump(mode="json"),
            request=judged.request.model_dump(mode="json"),
            evidence={
                "gate": judged.gate.model_dump(mode="json"),
                "candidate": _summary(confirmation),
                "exploration": _summary(judged.exploration),
            },
            promised_hit_rate=confirmation.hit_rate,
            episode_id=episode_id,
            candidate_id=candidate_id,
            state=ChampionState.PROPOSED if person else ChampionState.ACTIVE,
            live_from=live_from,
        ),
    )
    request = judged.request.model_copy(update={"draws_file": None, "decision_id": None})
    decision = save_decision(
        NewDecision(
            stream=stream,
            tick_id=f"selfplay-episode-{episode_id}",
            draws=draws,
            triggers=[],
            bundle_fingerprint=None,
            advice=None,
            action="research",
            rule=(
                f"selfplay episode {episode_id} promoted candidate {candidate_id} as champion "
                f"{new.version}: {judged.gate.reason}"
            ),
            proposals=[],
            approval={"mode": "person" if person else "auto", "rule": judged.approval_rule},
            status=DecisionStatus.PENDING_APPROVAL if person else DecisionStatus.APPROVED,
            request={"flow": "pipeline", "request": request.model_dump(mode="json")},
            idempotency_key=f"selfplay-{episode_id}-{candidate_id}",
            expires_at=(
                now + timedelta(minutes=policy.approval_timeout_minutes) if person else None
            ),
            outcome=None,
        )
    )
    link_decision(new.id, decision.id)
    return new, decision.id
