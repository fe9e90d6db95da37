"""Steps 2.5 → 6 of the pipeline: score the survivors, choose and test a model, predict.

Runs inside the ``pipeline`` flow after the sieve, on the training draws; Step 5 reads the
held-out draws once, for the test split that also calibrates Step 6.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import get_run_logger

from flows.events import emit
from flows.report import ranking_answer, ranking_artifacts, training_events, training_picture
from flows.steps import step
from flows.stopping import check_stop
from gpu_kernels.job import SieveJob
from mimicry.events import critical_health_events
from mimicry.ranking.health import DEFAULT_THRESHOLDS, HealthThresholds, promotion_refusal
from mimicry.ranking.models import get_model_type
from mimicry.ranking.next_draw import Calibration
from mimicry.ranking.splits import walk_forward_cuts
from mimicry.render import (
    prediction_line,
    scorer_line,
    scoring_line,
    selection_line,
    signal_line,
)
from mimicry.requests import RankingSettings
from mimicry.store.location import database_url
from tasks.model_select import select_model_task
from tasks.predict import predict_task
from tasks.runs import (
    store_alternative_models_task,
    store_model_and_prediction_task,
    store_ranking_task,
)
from tasks.scorer_meta import optimize_scorer_task
from tasks.scoring import build_population_task, score_population_task
from tasks.train import train_alternatives_task, train_task


def rank_and_predict(
    stream: str,
    ranking: RankingSettings,
    modulus: int,
    history: Sequence[int],
    training: Sequence[int],
    jobs: Sequence[SieveJob],
    run_id: str,
    timings: dict[str, float],
    first_position: int = 0,
    limits: HealthThresholds = DEFAULT_THRESHOLDS,
    home: Path | None = None,
    tensorboard_dir: Path | None = None,
) -> dict:
    """The ranking's part of the run's answer: signal, model, ranking, prediction. ``history``
    is the searched segment, starting at the stream's draw ``first_position``; the training's
    event files go under ``tensorboard_dir`` (the request's folder wins)."""
    # Steps 2.5–4 on the training draws, 5 tests once on the held-out ones, 6 predicts.
    logger = get_run_logger()
    with step(timings, "2.5 scorer"):
        population = build_population_task(list(jobs), ranking.decoys)
        earliest = max(job.window_start + job.window_size for job in jobs)
        cuts = walk_forward_cuts(len(training), earliest, ranking.folds, ranking.label_span)
        scorer = optimize_scorer_task(
            population,
            training,
            cuts,
            modulus,
            ranking.pool_size,
            ranking.scorer_trials,
            database_url(),
            ranking.seed,
            between_trials=check_stop,
        )
        logger.info(scorer_line(scorer, population))
    with step(timings, "3 scoring"):
        scored = score_population_task(population, training, cuts, scorer.config, modulus)
        store_ranking_task(run_id, scored.population, scorer, scored.tables)
        logger.info(scoring_line(len(population), scored, len(cuts)))
    with step(timings, "4 model selection"):
        selection = select_model_task(
            scored.population,
            scored.tables,
            training,
            scorer.config,
            modulus,
            ranking.pool_size,
            ranking.model_trials,
            database_url(),
            None,
            ranking.seed,
            ranking.model_types,
            limits,
            ranking.model_params,
            between_trials=check_stop,
        )
        logger.info(selection_line(selection))
    with step(timings, "5 training and test"):
        report, artifact = train_task(
            scored.population,
            selection,
            scored.tables,
            scorer.config,
            history,
            len(training),
            modulus,
            ranking.pool_size,
            ranking.permutations,
            ranking.seed,
            limits,
        )
    with step(timings, "6 prediction"):
        model = get_model_type(report.model_type).from_bytes(artifact, report.params, report.seed)
        calibration = Calibration(
            signal=report.signal,
            test_hits=report.test.hits,
            test_draws=report.test.draws,
            reason=report.signal_reason,
        )
        prediction = predict_task(
            stream,
            run_id,
            scored.population,
            model,
            scorer.config,
            history,
            modulus,
            ranking.pool_size,
            calibration,
            first_position=first_position,
        )
        not_promoted = promotion_refusal(report.model_type, report.health, report.signal)
        model_id = store_model_and_prediction_task(
            run_id, stream, report, artifact, prediction, not_promoted
        )
        ranking_artifacts(selection, report, prediction)
        if home is not None:
            training_picture(report, stream, run_id, home)
        events = ranking.tensorboard_dir or tensorboard_dir
        if events is not None:
            training_events(report, stream, run_id, Path(events))
    alternatives = []
    if ranking.save_all_models:
        with step(timings, "5 every model type"):
            trained = train_alternatives_task(
                scored.population,
                selection,
                scored.tables,
                scorer.config,
                history,
                len(training),
                modulus,
                ranking.pool_size,
                ranking.seed,
                limits,
                report.signal,
            )
            ids = store_alternative_models_task(run_id, trained)
            reports = [alternative for alternative, _ in trained]
            alternatives = list(zip(reports, ids, strict=True))
    logger.info(signal_line(report))
    logger.info(prediction_line(prediction))
    if not_promoted is not None:
        logger.warning(not_promoted)
        emit(critical_health_events(stream, run_id, not_promoted))
    answer = ranking_answer(
        selection, report, prediction, scored.population, model_id, alternatives
    )
    return answer | {"not_promoted": not_promoted}
