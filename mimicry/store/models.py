"""The store's tables (SQLAlchemy 2.0), docs/design.md §12.

* ``streams`` / ``draws`` / ``ingests``: each named stream's history, one row per draw, oldest at
  position 0, each draw pointing at the ingest (file, time) that added it.
* ``runs``: one pipeline run on one stream (parameters, state, summary).
* ``sieve_jobs``: the job a run's Step 2 sieved, keyed by the job's content hash.
* ``chunks``: the coverage ledger. A row per finished chunk ``[lo, hi)`` of a job *content*
  (``job_key``) and kernel version, holding the chunk's window matches; any run whose job has the
  same content reuses it, and a chunk recomputed by a retry or a lost worker stays one row.
* ``survivors``: a run's ranked survivors, as ``mimicry sieve --json`` reports them.
* ``populations``: the hypotheses a run ranked (survivors and decoys) and its scorer configuration.
* ``feature_tables``: Step 3's features and labels per cut, with the schema hash.
* ``trained_models``: the model registry, each fitted model with its sidecar.
* ``predictions`` / ``evaluations``: next-draw predictions, and their scores once the draw is
  known, with the rolling metrics the WATCHER reads and the inputs behind every number.

Seeds reach 2^64 - 1, beyond a signed BIGINT (and beyond what SQLite stores exactly as a
number), so candidate values are zero-padded decimal strings read back as ``int``
(:class:`Unsigned64`). The version table is ``mimicry_alembic_version``:
Optuna's studies share this database and keep their own ``alembic_version``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

VERSION_TABLE = "mimicry_alembic_version"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A time read from the store, as UTC: SQLite hands back naive datetimes, and every time
    the store writes is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Unsigned64(TypeDecorator):
    """An integer in ``[0, 2^64]`` (a half-open bound may be 2^64) stored exactly.

    As a 20-digit zero-padded decimal string: SQLite keeps integers beyond 2^63 - 1 only as
    floats (2^64 - 50 reads back as 2^64), and padded strings compare and sort like the numbers
    on every database.
    """

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect) -> str | None:
        return None if value is None else f"{int(value):020d}"

    def process_result_value(self, value: Any, dialect) -> int | None:
        return None if value is None else int(value)


class Base(DeclarativeBase):
    pass


class Stream(Base):
    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    modulus: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    draws: Mapped[list[Draw]] = relationship(back_populates="stream", order_by="Draw.position")


class Ingest(Base):
    """One ingest that added draws to a stream: where they came from and when, kept once for all
    of its draws (a 50-million-draw file is one row here, not 50 million copies of its path)."""

    __tablename__ = "ingests"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: The file the draws came from, or how they were reported (``hand``).
    source: Mapped[str | None] = mapped_column(String(500))
    #: Stream position of the first draw it added, and how many it added.
    first_position: Mapped[int] = mapped_column(Integer)
    draws: Mapped[int] = mapped_column(Integer)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Draw(Base):
    __tablename__ = "draws"
    #: On SQLite the rows live in the primary key's B-tree (no rowid table beside an index):
    #: half the file and the writes of a rowid table for the store's largest table.
    __table_args__: ClassVar = {"sqlite_with_rowid": False}

    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), primary_key=True)
    #: 0-based index in the stream, oldest first.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    #: ISO date or datetime as the draw file gave it (normalised), when it had one.
    date: Mapped[str | None] = mapped_column(String(40))
    #: The ingest that added it, for tracing a number back to its source. Not a foreign key:
    #: PostgreSQL checks one per row written, and with this one beside the stream's a COPY of
    #: draws ran at 0.09 M rows/s instead of 0.22 M/s (measured); the ingest row is written in
    #: the same transaction as its draws, so nothing can point at a missing one.
    ingest_id: Mapped[int | None] = mapped_column(Integer)

    stream: Mapped[Stream] = relationship(back_populates="draws")
    ingest: Mapped[Ingest | None] = relationship(
        primaryjoin="foreign(Draw.ingest_id) == Ingest.id", viewonly=True
    )


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: pending → running → completed | incomplete | failed | cancelled (by a person: its
    #: decision, or its flow run in Prefect), or crashed: its process died without closing it
    #: (no heartbeat for a while, ``mimicry.store.runs.mark_crashed``).
    state: Mapped[str] = mapped_column(String(20), default="pending")
    #: When the process running it last said it was alive (every ``MIMICRY_HEARTBEAT_SECONDS``).
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The Prefect flow run, to find the run in the UI.
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: History length the run read (draws 0 .. draws_used - 1).
    draws_used: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    #: Why a completed run's model does not predict for its stream (its training health was
    #: critical: docs/design.md §20); NULL: promoted, or no model.
    not_promoted: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    stream: Mapped[Stream] = relationship()
    jobs: Mapped[list[SieveJobRecord]] = relationship(back_populates="run")


class SieveJobRecord(Base):
    __tablename__ = "sieve_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    #: SHA-256 of the job's canonical JSON: what the coverage ledger is keyed on.
    job_key: Mapped[str] = mapped_column(String(64), index=True)
    job: Mapped[dict[str, Any]] = mapped_column(JSON)
    kernel_version: Mapped[str] = mapped_column(String(40))
    backend: Mapped[str] = mapped_column(String(20))
    chunk_size: Mapped[int] = mapped_column(Integer)
    #: pending → running → complete | incomplete
    state: Mapped[str] = mapped_column(String(20), default="pending")
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    run: Mapped[Run] = relationship(back_populates="jobs")
    survivors: Mapped[list[SurvivorRecord]] = relationship(
        back_populates="job", order_by="SurvivorRecord.rank"
    )


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("job_key", "kernel_version", "lo", "hi"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_key: Mapped[str] = mapped_column(String(64))
    kernel_version: Mapped[str] = mapped_column(String(40))
    #: Half-open candidate range [lo, hi).
    lo: Mapped[int] = mapped_column(Unsigned64)
    hi: Mapped[int] = mapped_column(Unsigned64)
    backend: Mapped[str] = mapped_column(String(20))
    #: Where it ran (a Dask worker's address, or the process).
    worker: Mapped[str | None] = mapped_column(String(200))
    matches: Mapped[list[Any]] = mapped_column(JSON)
    match_count: Mapped[int] = mapped_column(Integer)
    overflow: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float] = mapped_column(Float)
    #: How often the chunk was computed (retries, lost workers, concurrent runs): the row and
    #: its matches count once whatever this says.
    executions: Mapped[int] = mapped_column(Integer, default=1)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurvivorRecord(Base):
    __tablename__ = "survivors"
    __table_args__ = (UniqueConstraint("job_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("sieve_jobs.id"))
    #: 0 is the best.
    rank: Mapped[int] = mapped_column(Integer)
    family: Mapped[str] = mapped_column(String(40))
    projection: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int | None] = mapped_column(Unsigned64)
    state: Mapped[Any | None] = mapped_column(JSON)
    #: Calls before the stream's first draw (None: a variable-skip walk cannot reach it).
    offset: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Call index of the window's first draw (None in rows written before revision 0003;
    #: named ``position`` before revision 0008).
    first_call: Mapped[int | None] = mapped_column(Integer, nullable=True)
    skip: Mapped[Any] = mapped_column(JSON)
    window_start: Mapped[int] = mapped_column(Integer)
    window_size: Mapped[int] = mapped_column(Integer)
    matches: Mapped[int] = mapped_column(Integer)
    matches_before: Mapped[int] = mapped_column(Integer)
    matches_after: Mapped[int] = mapped_column(Integer)
    checked_before: Mapped[int] = mapped_column(Integer)
    checked_after: Mapped[int] = mapped_column(Integer)
    p_value: Mapped[float] = mapped_column(Float)
    next: Mapped[list[Any]] = mapped_column(JSON)

    job: Mapped[SieveJobRecord] = relationship(back_populates="survivors")


class PopulationRecord(Base):
    __tablename__ = "populations"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    #: ``mimicry.ranking.population.Hypothesis`` dumps, in the order feature rows refer to.
    hypotheses: Mapped[list[Any]] = mapped_column(JSON)
    scorer_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Step 2.5's result (validation gain, trials, study).
    scorer_choice: Mapped[dict[str, Any]] = mapped_column(JSON)


class FeatureTableRecord(Base):
    __tablename__ = "feature_tables"
    __table_args__ = (UniqueConstraint("run_id", "cut_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    cut_index: Mapped[int] = mapped_column(Integer)
    cut_stop: Mapped[int] = mapped_column(Integer)
    schema_hash: Mapped[str] = mapped_column(String(16))
    features: Mapped[list[Any]] = mapped_column(JSON)
    rows: Mapped[list[Any]] = mapped_column(JSON)
    labels: Mapped[list[Any]] = mapped_column(JSON)


class TrainedModel(Base):
    """The model registry: a fitted model and its sidecar."""

    __tablename__ = "trained_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    model_type: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    #: The feature schema it was trained on: loading it under another schema is refused.
    schema_hash: Mapped[str] = mapped_column(String(16))
    #: Digest of the draws it saw (the training draws).
    data_fingerprint: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    library_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    signal: Mapped[bool] = mapped_column(Boolean)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The worst training-health finding over its fits ("ok", "warning", "critical"); NULL for
    #: a model registered before the checks (docs/design.md §20).
    health: Mapped[str | None] = mapped_column(String(8), nullable=True)
    #: Each fit's findings (mimicry.ranking.health.FitHealth as JSON).
    health_findings: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    #: The run's winner, which predicts; False for another type's best, kept for comparison or
    #: roll-back (``save_all_models``, docs/design.md §20).
    chosen: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Prediction(Base):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("trained_models.id"))
    #: Stream position of the draw predicted.
    position: Mapped[int] = mapped_column(Integer)
    #: "signal" or "no_signal".
    signal: Mapped[str] = mapped_column(String(10))
    pool: Mapped[list[Any]] = mapped_column(JSON)
    p_hit: Mapped[float] = mapped_column(Float)
    p_hit_low: Mapped[float] = mapped_column(Float)
    p_hit_high: Mapped[float] = mapped_column(Float)
    chance: Mapped[float] = mapped_column(Float)
    distribution: Mapped[list[Any]] = mapped_column(JSON)
    #: What the numbers mean, in words (chance-level, or how P(hit) was calibrated).
    statement: Mapped[str] = mapped_column(Text)
    #: The hypotheses behind it, best first (label, score, predicted value).
    top_hypotheses: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Evaluation(Base):
    """A stream's draw scored against the prediction made for it. One per stream position, by
    the store's own constraint: a draw is scored once, against the newest prediction for it
    (that of the run current when it arrived); an older run's prediction for the same draw
    stays unscored."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ux_evaluations_stream_position", "stream_id", "position", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id"), unique=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    actual: Mapped[int] = mapped_column(Integer)
    hit: Mapped[bool] = mapped_column(Boolean)
    #: 1-based rank of the actual value in the prediction's distribution.
    rank: Mapped[int] = mapped_column(Integer)
    #: log p(actual) − log(1/M), nats: positive means better than uniform.
    log_loss_gain: Mapped[float] = mapped_column(Float)
    #: The stream's rolling metrics including this evaluation, and their inputs (counts).
    rolling: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Index("ix_chunks_job", Chunk.job_key, Chunk.kernel_version)


class DecisionRecord(Base):
    """One WATCHER decision for one stream at one tick: its inputs, verdict, approval, the run it
    started and the outcome (docs/design.md §17). Traced both ways with the run (``run_id``, and the
    run's ``parameters['decision_id']``)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: The tick (one WATCHER flow run, or one ``mimicry watch --once``) that made it.
    tick_id: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Draws the stream held when deciding.
    draws: Mapped[int] = mapped_column(Integer)
    #: The triggers that fired, with their numbers (name, reason, p_value, baseline, change point).
    triggers: Mapped[list[Any]] = mapped_column(JSON)
    #: SHA-256 of the bundle the advisor was given, or None when it was not asked.
    bundle_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: The advice as validated (backend, model, degraded, failures, advice), or None.
    advice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: wait | retrain | research | escalate, and the rule that chose it.
    action: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(Text)
    #: The acceptance engine's verdict on each proposal (outcome and rule).
    proposals: Mapped[list[Any]] = mapped_column(JSON)
    #: auto | person, the rule, and for a person who decided, when and their note.
    approval: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: pending_approval → approved → running → done | failed | cancelled; or rejected, halted.
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: What it runs (the flow's request), or None.
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Made from the decision: a repeated dispatch never starts the same work twice.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: A person's answer is due by then; after it, the decision is rejected.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    #: The process that runs it in-process (``host:pid``), which beats ``heartbeat_at`` while it
    #: runs; a tick fails a running decision whose owner went silent (revision 0007).
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    #: How it ended, in words (or why it did nothing).
    outcome: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ParameterChange(Base):
    """A parameter change the WATCHER applied to a stream (the acceptance engine's history)."""

    __tablename__ = "parameter_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    parameter: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[float] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WatcherHalt(Base):
    """The one halt switch (a single row, id 1): while ``halted``, no tick decides and no run the
    WATCHER dispatched starts."""

    __tablename__ = "watcher_halt"

    id: Mapped[int] = mapped_column(primary_key=True)
    halted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SelfplayEpisode(Base):
    """One selfplay episode on one stream (docs/design.md §21): candidates replayed on its
    history up to ``frontier`` and judged against the champion of the time."""

    __tablename__ = "selfplay_episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: running → done | failed
    status: Mapped[str] = mapped_column(String(20))
    #: Draws before it were replayed; the rest were the live scoring's.
    frontier: Mapped[int] = mapped_column(Integer)
    #: The replay's origins (exploration, confirmation) and horizon.
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The champion it tried to beat (None: the stream's last search, version 0).
    champion_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The WATCHER decision that scheduled it, if one did.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    #: CPU-seconds its replays took (the policy's daily budget counts these).
    cpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: How it ended, in words.
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SelfplayCandidate(Base):
    """A configuration an episode replayed, its scores and the gate's verdict."""

    __tablename__ = "selfplay_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("selfplay_episodes.id"), index=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: The configuration's content hash, and the configuration (mimicry.selfplay.Candidate).
    candidate_key: Mapped[str] = mapped_column(String(16))
    candidate: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Who proposed it: ``study`` (the stream's Optuna study) or ``advisor``.
    source: Mapped[str] = mapped_column(String(20))
    #: Its replay on the exploration origins, and on the confirmation origins (None: stopped
    #: before them), as mimicry.selfplay.ReplayScore.
    exploration: Mapped[dict[str, Any]] = mapped_column(JSON)
    confirmation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: promoted | not_better | stopped_early | refused (mimicry.store.statuses.CandidateVerdict)
    verdict: Mapped[str] = mapped_column(String(20))
    #: The gate's numbers (mimicry.selfplay.GateVerdict), when it was tested.
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    cpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChampionRecord(Base):
    """A stream's champion configuration, versioned (docs/design.md §21): the configuration
    the WATCHER's searches and retrains run with, the evidence that promoted it, and how its
    reign ended."""

    __tablename__ = "champions"
    __table_args__ = (UniqueConstraint("stream_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: 1, 2, … per stream (0 is the stream's last search, which has no row).
    version: Mapped[int] = mapped_column(Integer)
    candidate: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The search request it runs as (the stream's base with the candidate's knobs).
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The gate's verdict and both replays on the confirmation origins.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Its replay hit rate: what the live scoring holds it to.
    promised_hit_rate: Mapped[float] = mapped_column(Float)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("selfplay_episodes.id"))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("selfplay_candidates.id"))
    #: The decision that runs its first search (and asks a person, where the policy says so).
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    #: proposed → active → superseded | demoted | reverted; or rejected
    #: (mimicry.store.statuses.ChampionState).
    state: Mapped[str] = mapped_column(String(20), index=True)
    #: The stream position from which the live scoring holds it to its promise.
    live_from: Mapped[int] = mapped_column(Integer)
    #: When it (last) became active: promoted, approved, or back after a demotion.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Why it ended, with its evidence where the arbiter demoted it.
    ended_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReplayRecord(Base):
    """A replay origin's score, kept: the same configuration on the same draws is replayed once
    (each episode replays the champion on its origins again)."""

    __tablename__ = "replay_scores"
    __table_args__ = (
        UniqueConstraint("stream_id", "configuration_key", "origin", "horizon", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    #: The hash of the request the origin ran (mimicry.selfplay.configuration_key).
    configuration_key: Mapped[str] = mapped_column(String(16))
    origin: Mapped[int] = mapped_column(Integer)
    horizon: Mapped[int] = mapped_column(Integer)
    #: Digest of the draws it read and predicted (draws[:origin + horizon]).
    fingerprint: Mapped[str] = mapped_column(String(16))
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
