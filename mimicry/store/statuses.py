"""The states of the store's records, one enum each (docs/design.md §12, §17): the words every
layer compares, written once. ``StrEnum`` members are their words, so JSON and the store keep
plain strings."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """A run: pending → running → completed | incomplete | failed | cancelled, or crashed (its
    process died without closing it: no heartbeat for a while)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CRASHED = "crashed"

    @property
    def in_progress(self) -> bool:
        return self in (RunState.PENDING, RunState.RUNNING)


class DecisionStatus(StrEnum):
    """A WATCHER decision: pending_approval → approved → running → done | failed | cancelled; or
    rejected, halted, cancelled before it ran; a wait is done when it is made."""

    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    HALTED = "halted"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self not in OPEN_STATUSES


#: Decisions on their way: a stream has at most one that runs something, and one escalation.
OPEN_STATUSES = frozenset(
    {DecisionStatus.PENDING_APPROVAL, DecisionStatus.APPROVED, DecisionStatus.RUNNING}
)
#: Statuses a decision ends in.
FINAL_STATUSES = frozenset(set(DecisionStatus) - OPEN_STATUSES)


class EpisodeStatus(StrEnum):
    """A selfplay episode: running → done | failed."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CandidateVerdict(StrEnum):
    """What became of a candidate an episode replayed (docs/design.md §21)."""

    #: It passed the gate and the acceptance: the stream's new champion (or proposed to a person).
    PROMOTED = "promoted"
    #: Tested on the confirmation origins and not better on the evidence.
    NOT_BETTER = "not_better"
    #: Stopped on the exploration origins: it could not beat the champion there.
    STOPPED_EARLY = "stopped_early"
    #: Better, but the acceptance refused the change (cooldown, reversal, bounds).
    REFUSED = "refused"


class ChampionState(StrEnum):
    """A champion: proposed (a person decides) → active → superseded (a newer one was promoted)
    | demoted (the live scoring found it short of its promise) | reverted (by a person); or
    rejected (the person said no, or did not answer in time)."""

    PROPOSED = "proposed"
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    DEMOTED = "demoted"
    REVERTED = "reverted"
    REJECTED = "rejected"
