"""The pipeline flow: ingest → 1 window → 2 sieve → 2.5 scorer → 3 scoring → 4 model selection
→ 5 training and test → 6 prediction.

Steps 1–4 see the training draws only; the newest draws are held out (``mimicry.ranking.splits``)
for Step 5's one evaluation on the untouched test split, which also calibrates Step 6. The flow
only composes tasks: every step is a plain function in ``tasks/``, store writes are in
``mimicry.store``, words and artifacts in ``flows/report.py``.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from flows.report import final_state, incomplete, sieve_answer
from flows.run_names import pipeline_run_name, tag_this_run
from flows.runner import PerRunTaskRunner, run_settings
from flows.sieve import sieve_step
from flows.steps import run_in_progress, step
from flows.stream_slot import one_run_per_stream
from mimicry.ranking.splits import segment_of, split_history
from mimicry.render import history_line, verdict_line, window_choice_line
from mimicry.requests import PipelineRequest
from mimicry.store.location import database_url
from mimicry.store.records import close_run, halted_dispatch
from mimicry.store.statuses import RunState
from tasks.ingest import ingest_task
from tasks.runs import (
    load_history_task,
    start_run_task,
)
from tasks.window import optimize_window_task


@flow(
    name="pipeline",
    flow_run_name=pipeline_run_name,
    task_runner=PerRunTaskRunner(),
    validate_parameters=True,
)
def pipeline(request: PipelineRequest):
    """Find the generator behind a stream's draws, rank what was found, predict the next draw.

    Args:
        request: The stream, the families and how to search, rank and predict.
    """
    tag_this_run(request.stream)
    # A run the WATCHER dispatched checks the halt switch first (a person's run never waits).
    halted = halted_dispatch(request.decision_id) if request.decision_id is not None else None
    if halted:
        return {"halted": halted}
    with one_run_per_stream(request.stream):
        timings: dict[str, float] = {}
        logger = get_run_logger()
        with step(timings, "ingest"):
            # A deployment's run names its file; `mimicry run` has ingested its own already, so
            # that the file is parsed once (docs/design.md §13).
            ingested = None
            if request.draws_file:
                ingested = ingest_task(
                    request.draws_file,
                    request.stream,
                    modulus=request.sieve.modulus,
                    session=request.session,
                    column=request.column,
                )
            whole = load_history_task(request.stream)
            history = segment_of(whole, request.segment_start)
        # The machine's settings fill what the flags left open, once, for every step and the record.
        settings = run_settings()
        request = request.model_copy(update={"sieve": request.sieve.resolved(settings)})
        ranking, sieve = request.ranking, request.sieve
        if request.rank:
            split = split_history(history, ranking.holdout_fraction, ranking.holdout_min)
            training = list(split.training)
        else:
            training = list(history)
        logger.info(
            history_line(
                request.stream,
                len(whole),
                request.segment_start,
                len(history) - len(training) if request.rank else None,
                None if ingested is None else ingested.added,
            )
        )
        parameters = request.model_dump(mode="json")
        run_id = start_run_task(request.stream, parameters, settings.heartbeat_seconds)
        with run_in_progress(run_id, settings.heartbeat_seconds):
            # Steps 1–2, per family, on the training draws.
            results, choices = [], {}
            for family in request.families:
                with step(timings, "1 window"):
                    choice = optimize_window_task(training, family, request, database_url())
                logger.info(window_choice_line(family, choice))
                choices[family] = choice.model_dump(mode="json")
                job = choice.config.job(training, family, sieve)
                with step(timings, "2 sieve"):
                    result = sieve_step(
                        run_id,
                        training,
                        job,
                        sieve,
                        family,
                        newest=history,
                        no_worker_seconds=settings.no_worker_seconds,
                    )
                results.append(result)
            answer = sieve_answer(run_id, results, sieve.top, choices)
            logger.info(verdict_line(answer))
            stats = answer.stats.model_dump(mode="json")
            if not answer.stats.complete:
                close_run(run_id, RunState.INCOMPLETE, stats)
                return incomplete(answer)

            if request.rank:
                # Imported here: the ranking's libraries (scipy.stats, Optuna, the model types) cost
                # a second of start-up that a --no-rank run does not need to pay.
                from flows.ranking import rank_and_predict

                ranked = rank_and_predict(
                    request.stream,
                    ranking,
                    sieve.modulus,
                    history,
                    training,
                    [r.job for r in results],
                    run_id,
                    timings,
                    first_position=request.segment_start,
                    limits=settings.health,
                    home=settings.home,
                    tensorboard_dir=settings.tensorboard_dir,
                )
                answer = answer.model_copy(update=ranked)
            answer = answer.model_copy(update={"timings": timings})
            signal = {"signal": answer.signal} if answer.signal is not None else {}
            if answer.model is not None:
                signal["health"] = answer.model.health
            close_run(run_id, RunState.COMPLETED, stats | signal)
            return final_state(answer)
