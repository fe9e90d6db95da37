"""The retrain flow: Steps 2.5 → 6 again on a search's survivors and the stream's draws as they
are now (the WATCHER's ``retrain``; docs/design.md §17). No sieve: the hypotheses are the search's;
the scorer, ranking, model, held-out test and prediction are new.
"""

from __future__ import annotations

from prefect import flow
from prefect.states import Completed, State

from flows.run_names import tag_this_run
from flows.runner import PerRunTaskRunner, run_settings
from flows.steps import run_in_progress, step
from flows.stream_slot import one_run_per_stream
from mimicry.ranking.splits import segment_of, split_history
from mimicry.render.ranking import ranking_result
from mimicry.requests import RETRAIN_KIND, RetrainRequest
from mimicry.store.records import close_run, halted_dispatch
from mimicry.store.statuses import RunState
from tasks.runs import load_history_task, load_search_task, start_run_task


# Named "pipeline": its deployment is pipeline/retrain beside pipeline/full (prefect.yaml).
@flow(
    name="pipeline",
    flow_run_name="retrain-{request.stream}",
    task_runner=PerRunTaskRunner(),
    validate_parameters=True,
)
def retrain(request: RetrainRequest) -> dict | State:
    """Rank the search's survivors again on the newer draws, test, and predict.

    Args:
        request: The stream, the search whose survivors are ranked, and how to rank.
    """
    tag_this_run(request.stream)
    # A run the WATCHER dispatched checks the halt switch first (a person's run never waits).
    halted = halted_dispatch(request.decision_id) if request.decision_id is not None else None
    if halted:
        return {"halted": halted}
    settings = run_settings()
    with one_run_per_stream(request.stream):
        timings: dict[str, float] = {}
        search = load_search_task(request.search_run_id)
        with step(timings, "ingest"):
            history = segment_of(load_history_task(request.stream), search.segment_start)
        ranking = request.ranking
        split = split_history(history, ranking.holdout_fraction, ranking.holdout_min)
        training = list(split.training)
        parameters = request.model_dump(mode="json") | {
            "kind": RETRAIN_KIND,
            "segment_start": search.segment_start,
        }
        run_id = start_run_task(request.stream, parameters, settings.heartbeat_seconds)
        with run_in_progress(run_id, settings.heartbeat_seconds):
            # Imported here, as in the pipeline flow: the ranking's libraries (scipy.stats,
            # Optuna, the model types) cost a second of start-up that every `mimicry watch`
            # (which imports this flow to dispatch it) would pay on every tick.
            from flows.ranking import rank_and_predict

            ranked = rank_and_predict(
                request.stream,
                ranking,
                search.modulus,
                history,
                training,
                search.jobs,
                run_id,
                timings,
                first_position=search.segment_start,
                limits=settings.health,
                home=settings.home,
                tensorboard_dir=settings.tensorboard_dir,
            )
            summary = {"signal": ranked["signal"], "health": ranked["model"].health}
            close_run(run_id, RunState.COMPLETED, summary)
        name, ranked_clause = ranking_result(ranked["signal"], ranked["model"])
        return Completed(
            name=name,
            message=f"Retrained on {len(history):,} draws; {ranked_clause}.",
            data={
                "run_id": run_id,
                "signal": ranked["signal"],
                "not_promoted": ranked["not_promoted"],
                "timings": timings,
            },
        )
