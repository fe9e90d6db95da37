"""A stream's health as the triggers read it, from the store's snapshot of it (pure)."""

from __future__ import annotations

from mimicry.search.continuation import best_survivor
from mimicry.store.watch import RunFacts, StreamSnapshot
from watcher.triggers import Scored, StreamHealth


def last_search(snapshot: StreamSnapshot) -> RunFacts | None:
    """The stream's newest completed search (a retrain is not one)."""
    return next((run for run in snapshot.completed if run.is_search), None)


def current_run(snapshot: StreamSnapshot) -> RunFacts | None:
    """The run whose predictions the stream is scored by: its newest completed run whose model
    was promoted (one whose training went wrong predicts nothing, docs/design.md §20)."""
    return next((run for run in snapshot.completed if run.promoted), None)


def stream_health(snapshot: StreamSnapshot) -> StreamHealth:
    current = current_run(snapshot)
    search = last_search(snapshot)
    ranked = current is None or current.ranked
    summary_signal = bool(current and current.summary.get("signal") == "signal")
    # An unranked search promises what its best survivor predicts when that is overwhelming.
    survivor_signal = bool(current and not ranked and best_survivor(current.jobs_best))
    in_progress = snapshot.in_progress[0] if snapshot.in_progress else None
    draws = snapshot.draws
    return StreamHealth(
        stream=snapshot.stream,
        draws=draws,
        run_id=current.id if current else None,
        signal=summary_signal or survivor_signal,
        segment_start=int(current.parameters.get("segment_start") or 0) if current else 0,
        ranked=ranked,
        scored=tuple(
            Scored(position=s.position, hit=s.hit, promised=s.promised, chance=s.chance)
            for s in snapshot.scored
        ),
        draws_since_run=draws - current.draws_used if current else draws,
        draws_since_search=draws - search.draws_used if search else draws,
        searches_today=snapshot.searches_today,
        run_in_progress=in_progress[0] if in_progress else None,
        run_in_progress_since=in_progress[1] if in_progress else None,
    )
