"""Selfplay's records in the store (docs/design.md §21): episodes, their candidates, the
streams' champions and the replay scores kept for reuse. Every function opens its own
transaction and hands back frozen snapshots; nothing outside the store sees a row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from mimicry.store.database import connect
from mimicry.store.models import (
    ChampionRecord,
    ReplayRecord,
    SelfplayCandidate,
    SelfplayEpisode,
    Stream,
    as_utc,
    utcnow,
)
from mimicry.store.statuses import CandidateVerdict, ChampionState, EpisodeStatus
from mimicry.store.streams import draw_count, require_stream

#: Hours an episode left "running" (its process killed) holds its stream's next episodes.
RUNNING_HOURS = 6

# -- snapshots ----------------------------------------------------------------------------------


class ChampionView(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int
    stream: str
    version: int
    candidate: dict[str, Any]
    request: dict[str, Any]
    evidence: dict[str, Any]
    promised_hit_rate: float
    episode_id: int | None
    candidate_id: int | None
    decision_id: int | None
    state: ChampionState
    live_from: int
    created_at: datetime
    ended_at: datetime | None
    ended_reason: str | None

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class EpisodeView(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int
    stream: str
    status: EpisodeStatus
    frontier: int
    plan: dict[str, Any]
    champion_id: int | None
    decision_id: int | None
    cpu_seconds: float
    outcome: str | None
    created_at: datetime
    finished_at: datetime | None
    candidates: list[CandidateView]


class NewCandidate(BaseModel):
    model_config = ConfigDict(frozen=True)
    candidate_key: str
    candidate: dict[str, Any]
    source: str
    exploration: dict[str, Any]
    confirmation: dict[str, Any] | None
    verdict: CandidateVerdict
    gate: dict[str, Any] | None
    reason: str
    cpu_seconds: float


class CandidateView(NewCandidate):
    """A candidate as stored: what was recorded, with its ids and time."""

    id: int
    episode_id: int
    created_at: datetime


class NewChampion(BaseModel):
    model_config = ConfigDict(frozen=True)
    candidate: dict[str, Any]
    request: dict[str, Any]
    evidence: dict[str, Any]
    promised_hit_rate: float
    episode_id: int | None
    candidate_id: int | None
    #: ``active`` (promoted now) or ``proposed`` (a person decides).
    state: ChampionState
    live_from: int


def _champion(row: ChampionRecord, stream: str) -> ChampionView:
    return ChampionView(
        id=row.id,
        stream=stream,
        version=row.version,
        candidate=row.candidate,
        request=row.request,
        evidence=row.evidence,
        promised_hit_rate=row.promised_hit_rate,
        episode_id=row.episode_id,
        candidate_id=row.candidate_id,
        decision_id=row.decision_id,
        state=ChampionState(row.state),
        live_from=row.live_from,
        created_at=as_utc(row.created_at),
        ended_at=as_utc(row.ended_at) if row.ended_at else None,
        ended_reason=row.ended_reason,
    )


def _candidate(row: SelfplayCandidate) -> CandidateView:
    recorded = {name: getattr(row, name) for name in NewCandidate.model_fields}
    return CandidateView(
        **recorded,
        id=row.id,
        episode_id=row.episode_id,
        created_at=as_utc(row.created_at),
    )


# -- episodes -----------------------------------------------------------------------------------


def start_episode(
    stream: str,
    frontier: int,
    plan: dict[str, Any],
    champion_id: int | None,
    decision_id: int | None = None,
) -> int:
    with connect() as session:
        record = SelfplayEpisode(
            stream_id=require_stream(session, stream).id,
            status=EpisodeStatus.RUNNING,
            frontier=frontier,
            plan=plan,
            champion_id=champion_id,
            decision_id=decision_id,
            cpu_seconds=0.0,
        )
        session.add(record)
        session.flush()
        return record.id


def record_candidate(episode_id: int, candidate: NewCandidate) -> int:
    with connect() as session:
        episode = session.get(SelfplayEpisode, episode_id)
        record = SelfplayCandidate(
            episode_id=episode_id, stream_id=episode.stream_id, **candidate.model_dump()
        )
        session.add(record)
        episode.cpu_seconds = (episode.cpu_seconds or 0.0) + candidate.cpu_seconds
        session.flush()
        return record.id


def finish_episode(
    episode_id: int, status: EpisodeStatus, outcome: str, extra_cpu_seconds: float = 0.0
) -> None:
    """Close the episode; ``extra_cpu_seconds``: what it spent beyond its candidates' replays
    (the champion's, which its candidates' rows do not hold)."""
    with connect() as session:
        episode = session.get(SelfplayEpisode, episode_id)
        episode.status = status
        episode.outcome = outcome
        episode.cpu_seconds = (episode.cpu_seconds or 0.0) + extra_cpu_seconds
        episode.finished_at = utcnow()


def episodes(stream: str, limit: int = 20) -> list[EpisodeView]:
    """The stream's newest episodes, newest first, with their candidates in the order tried."""
    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        rows = session.scalars(
            select(SelfplayEpisode)
            .where(SelfplayEpisode.stream_id == stream_id)
            .order_by(SelfplayEpisode.id.desc())
            .limit(limit)
        ).all()
        views = []
        for row in rows:
            candidates = session.scalars(
                select(SelfplayCandidate)
                .where(SelfplayCandidate.episode_id == row.id)
                .order_by(SelfplayCandidate.id)
            ).all()
            views.append(
                EpisodeView(
                    id=row.id,
                    stream=stream,
                    status=EpisodeStatus(row.status),
                    frontier=row.frontier,
                    plan=row.plan,
                    champion_id=row.champion_id,
                    decision_id=row.decision_id,
                    cpu_seconds=row.cpu_seconds,
                    outcome=row.outcome,
                    created_at=as_utc(row.created_at),
                    finished_at=as_utc(row.finished_at) if row.finished_at else None,
                    candidates=[_candidate(c) for c in candidates],
                )
            )
        return views


class Usage(BaseModel):
    """What selfplay spent on a stream since a moment (the policy's daily budget)."""

    model_config = ConfigDict(frozen=True)
    episodes: int
    cpu_seconds: float
    running: int


def usage_since(stream: str, since: datetime) -> Usage:
    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        count, seconds = session.execute(
            select(
                func.count(SelfplayEpisode.id),
                func.coalesce(func.sum(SelfplayEpisode.cpu_seconds), 0.0),
            ).where(SelfplayEpisode.stream_id == stream_id, SelfplayEpisode.created_at >= since)
        ).one()
        # An episode closes itself on any error or stop; one whose process was killed outright
        # stays "running": after RUNNING_HOURS it no longer holds the stream's next episodes.
        running = session.scalar(
            select(func.count(SelfplayEpisode.id)).where(
                SelfplayEpisode.stream_id == stream_id,
                SelfplayEpisode.status == EpisodeStatus.RUNNING,
                SelfplayEpisode.created_at >= utcnow() - timedelta(hours=RUNNING_HOURS),
            )
        )
        return Usage(episodes=count, cpu_seconds=float(seconds), running=running or 0)


def tried_since_promotion(stream: str) -> int:
    """Candidates tested by the gate on the stream since its last promotion (ever, if none):
    the next one is tested at the level that follows (mimicry.selfplay.gate.spent_level)."""
    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        last = session.scalar(
            select(func.max(ChampionRecord.created_at)).where(
                ChampionRecord.stream_id == stream_id,
                ChampionRecord.state.in_(
                    [
                        ChampionState.ACTIVE,
                        ChampionState.SUPERSEDED,
                        ChampionState.DEMOTED,
                        ChampionState.REVERTED,
                    ]
                ),
            )
        )
        query = select(SelfplayCandidate.gate).where(SelfplayCandidate.stream_id == stream_id)
        if last is not None:
            query = query.where(SelfplayCandidate.created_at > last)
        # Counted here, not by `gate IS NOT NULL`: a candidate the gate never saw (stopped
        # early, refused before its replay) holds JSON null there, which is not SQL NULL.
        return sum(gate is not None for gate in session.scalars(query))


# -- replay scores ------------------------------------------------------------------------------


def kept_replay(
    stream: str, configuration_key: str, origin: int, horizon: int, fingerprint: str
) -> dict[str, Any] | None:
    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        return session.scalar(
            select(ReplayRecord.score).where(
                ReplayRecord.stream_id == stream_id,
                ReplayRecord.configuration_key == configuration_key,
                ReplayRecord.origin == origin,
                ReplayRecord.horizon == horizon,
                ReplayRecord.fingerprint == fingerprint,
            )
        )


def keep_replay(
    stream: str,
    configuration_key: str,
    origin: int,
    horizon: int,
    fingerprint: str,
    score: dict[str, Any],
) -> None:
    """Keep an origin's score; one another process kept first stands (the scores agree: the
    same configuration on the same draws)."""
    with connect() as session:
        row = ReplayRecord(
            stream_id=require_stream(session, stream).id,
            configuration_key=configuration_key,
            origin=origin,
            horizon=horizon,
            fingerprint=fingerprint,
            score=score,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            pass


# -- champions ----------------------------------------------------------------------------------


def champion(stream: str) -> ChampionView | None:
    """The stream's active champion (None: its last search is the champion, version 0)."""
    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        row = session.scalar(
            select(ChampionRecord).where(
                ChampionRecord.stream_id == stream_id,
                ChampionRecord.state == ChampionState.ACTIVE,
            )
        )
        return _champion(row, stream) if row else None


def champion_history(stream: str) -> list[ChampionView]:
    """Every champion of the stream, newest version first."""
    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        rows = session.scalars(
            select(ChampionRecord)
            .where(ChampionRecord.stream_id == stream_id)
            .order_by(ChampionRecord.version.desc())
        ).all()
        return [_champion(row, stream) for row in rows]


def add_champion(stream: str, new: NewChampion) -> ChampionView:
    """Record a promotion: an ``active`` one supersedes the stream's active champion in the same
    transaction; a ``proposed`` one waits for a person (:func:`settle_champion`)."""
    with connect() as session:
        stream_id = require_stream(session, stream).id
        version = (
            session.scalar(
                select(func.max(ChampionRecord.version)).where(
                    ChampionRecord.stream_id == stream_id
                )
            )
            or 0
        ) + 1
        if new.state == ChampionState.ACTIVE:
            _supersede(session, stream_id)
        record = ChampionRecord(stream_id=stream_id, version=version, **new.model_dump())
        session.add(record)
        session.flush()
        return _champion(record, stream)


def _supersede(session, stream_id: int) -> None:
    session.execute(
        update(ChampionRecord)
        .where(
            ChampionRecord.stream_id == stream_id,
            ChampionRecord.state == ChampionState.ACTIVE,
        )
        .values(
            state=ChampionState.SUPERSEDED,
            ended_at=utcnow(),
            ended_reason="a newer champion was promoted",
        )
    )


def link_decision(champion_id: int, decision_id: int) -> None:
    with connect() as session:
        session.get(ChampionRecord, champion_id).decision_id = decision_id


def settle_champion(decision_id: int, approved: bool, reason: str) -> ChampionView | None:
    """A person answered the decision a proposed champion waits on: it becomes active
    (superseding the stream's active one) or rejected. None when no proposed champion waits on
    that decision."""
    with connect() as session:
        row = session.scalar(
            select(ChampionRecord).where(
                ChampionRecord.decision_id == decision_id,
                ChampionRecord.state == ChampionState.PROPOSED,
            )
        )
        if row is None:
            return None
        if approved:
            _supersede(session, row.stream_id)
            row.state = ChampionState.ACTIVE
            row.created_at = utcnow()
        else:
            row.state, row.ended_at, row.ended_reason = ChampionState.REJECTED, utcnow(), reason
        session.flush()
        return _champion(row, session.get(Stream, row.stream_id).name)


def end_champion(stream: str, state: ChampionState, reason: str) -> ChampionView | None:
    """End the stream's active champion as ``demoted`` or ``reverted`` and make the newest
    earlier one it had superseded active again (None: the last search is the champion again).
    Returns the champion that ended, or None when there was none."""
    if state not in (ChampionState.DEMOTED, ChampionState.REVERTED):
        raise ValueError("a champion ends demoted or reverted here")
    with connect() as session:
        stream_id = require_stream(session, stream).id
        active = session.scalar(
            select(ChampionRecord).where(
                ChampionRecord.stream_id == stream_id,
                ChampionRecord.state == ChampionState.ACTIVE,
            )
        )
        if active is None:
            return None
        active.state, active.ended_at, active.ended_reason = state, utcnow(), reason
        previous = session.scalar(
            select(ChampionRecord)
            .where(
                ChampionRecord.stream_id == stream_id,
                ChampionRecord.version < active.version,
                ChampionRecord.state == ChampionState.SUPERSEDED,
            )
            .order_by(ChampionRecord.version.desc())
            .limit(1)
        )
        if previous is not None:
            # Back in office: the live scoring holds it to its promise from now on (the draws
            # in between were the ended champion's to answer for).
            previous.state, previous.ended_at, previous.ended_reason = (
                ChampionState.ACTIVE,
                None,
                None,
            )
            previous.created_at = utcnow()
            previous.live_from = draw_count(session, session.get(Stream, stream_id))
        session.flush()
        return _champion(active, stream)


def live_hits(stream: str, active: ChampionView) -> list[bool]:
    """The stream's scored draws, in order, that the champion's own runs predicted: from its
    ``live_from`` position, by runs started once it was active (its first search on)."""
    from mimicry.store.models import Evaluation, Prediction, Run

    with connect(read_only=True) as session:
        stream_id = require_stream(session, stream).id
        return [
            bool(hit)
            for (hit,) in session.execute(
                select(Evaluation.hit)
                .join(Prediction, Prediction.id == Evaluation.prediction_id)
                .join(Run, Run.id == Prediction.run_id)
                .where(
                    Evaluation.stream_id == stream_id,
                    Evaluation.position >= active.live_from,
                    Run.created_at >= active.created_at,
                )
                .order_by(Evaluation.position)
            )
        ]
