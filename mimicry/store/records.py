"""What a run reads and writes in the store, one transaction each: the stream's history, the run
record, a job's result, the ranking, the model and its prediction, the run's end."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from gpu_kernels.backends import kernel_version
from gpu_kernels.job import SieveJob
from mimicry.requests import RETRAIN_KIND
from mimicry.search.results import SieveResult
from mimicry.store.database import connect
from mimicry.store.decisions import finish_decision, halt_state
from mimicry.store.models import DecisionRecord, Run
from mimicry.store.predictions import save_feature_table, save_population, save_prediction
from mimicry.store.registry import register_model
from mimicry.store.runs import (
    beat,
    create_job,
    create_run,
    finish_run,
    mark_crashed,
    run_jobs,
    store_result,
)
from mimicry.store.statuses import DecisionStatus, RunState
from mimicry.store.streams import draw_count, require_stream, stored_values


def load_history(stream: str) -> Sequence[int]:
    with connect() as session:
        return stored_values(session, require_stream(session, stream))


def start_run(
    stream: str, parameters: dict, heartbeat_seconds: float, flow_run_id: str | None = None
) -> str:
    """A new run on ``stream``, linked to the Prefect flow run it belongs to (if any). Runs whose
    process died are marked crashed first, so the store never shows them running beside it."""
    with connect() as session:
        mark_crashed(session, heartbeat_seconds)
        record = require_stream(session, stream)
        run = create_run(session, record.id, parameters, draw_count(session, record))
        run.flow_run_id = flow_run_id
        decision_id = parameters.get("decision_id")
        decision = session.get(DecisionRecord, decision_id) if decision_id is not None else None
        if decision is not None and decision.run_id is None:
            # Traced both ways from the start: a tick can tell how the decision's run ended
            # even when the process that ran it died before recording it.
            decision.run_id = run.id
        return run.id


def store_job_result(run_id: str, result: SieveResult, backend: str, chunk_size: int) -> None:
    with connect() as session:
        job = create_job(session, run_id, result.job, kernel_version(), backend, chunk_size)
        store_result(session, job.id, result)


def beat_run(run_id: str) -> None:
    with connect() as session:
        beat(session, run_id)


def close_run(run_id: str, state: str, summary: dict | None = None, error: str | None = None):
    with connect() as session:
        finish_run(session, run_id, state, summary, error)


def store_ranking(run_id: str, population: list, choice, tables: list) -> None:
    """Step 3's population (with Step 2.5's configuration) and feature tables."""
    with connect() as session:
        save_population(
            session,
            run_id,
            [h.model_dump(mode="json") for h in population],
            choice.config.model_dump(mode="json"),
            choice.model_dump(mode="json", exclude={"config"}),
        )
        for table in tables:
            save_feature_table(
                session,
                run_id,
                (table.cut.index, table.cut.stop),
                table.schema_hash,
                list(table.features),
                table.rows,
                table.labels,
            )


def _register_trained(
    session,
    run_id: str,
    report,
    artifact: bytes,
    *,
    signal: bool = False,
    chosen: bool = True,
    metrics: dict | None = None,
):
    """Register a fitted model (a TrainingReport, or an AlternativeReport not ``chosen``) with
    the sidecar every model has; ``metrics``: the winner's own (null, attribution, curves)."""
    metrics = {
        "validation": report.validation.model_dump(),
        "validation_gap": report.validation_gap,
        "validation_spread": report.validation_spread,
        "test": report.test.model_dump() | {"p_value": report.test.p_value},
        "importance": report.importance,
    } | (metrics or {})
    return register_model(
        session,
        run_id,
        model_type=report.model_type,
        params=report.params,
        seed=report.seed,
        schema_hash=report.schema_hash,
        data_fingerprint=report.data_fingerprint,
        metrics=metrics,
        library_versions=report.library_versions,
        signal=signal,
        artifact=artifact,
        health=report.health_severity.value,
        health_findings=[fit.model_dump(mode="json") for fit in report.health],
        chosen=chosen,
    )


def store_model_and_prediction(
    run_id: str,
    stream: str,
    report,
    artifact: bytes,
    prediction,
    not_promoted: str | None = None,
):
    """Register the trained model with its sidecar and store the next-draw prediction; a model
    ``not_promoted`` (why, in words) is registered, its prediction is not stored, and the run
    says why (docs/design.md §20)."""
    with connect() as session:
        record = _register_trained(
            session,
            run_id,
            report,
            artifact,
            signal=report.signal,
            metrics={
                "null": report.null.model_dump() | {"p_value": report.null.p_value},
                "attribution": [why.model_dump(mode="json") for why in report.attribution],
                "diagnostics": report.diagnostics,
                "calibration": {
                    "signal": report.signal,
                    "test_hits": report.test.hits,
                    "test_draws": report.test.draws,
                    "reason": report.signal_reason,
                },
            },
        )
        if not_promoted is not None:
            session.get(Run, run_id).not_promoted = not_promoted
            return record.id
        stream_record = require_stream(session, stream)
        save_prediction(session, stream_record.id, prediction, model_id=record.id)
        return record.id


def store_alternative_models(run_id: str, alternatives) -> list[int]:
    """Register every other type's best model of the run (not chosen: it predicts nothing; no
    signal gate was run on it), with its sidecar and health; their ids, in order."""
    with connect() as session:
        return [
            _register_trained(session, run_id, report, artifact, chosen=False).id
            for report, artifact in alternatives
        ]


class SearchBasis(BaseModel):
    """What a retrain takes from the search it retrains: its jobs (the survivors are in the
    ledger) and the segment it searched."""

    stream: str
    jobs: list[SieveJob]
    modulus: int
    segment_start: int


def load_search(run_id: str) -> SearchBasis:
    """The completed search ``run_id``; ValueError naming it when it is not one."""
    with connect(read_only=True) as session:
        run = session.get(Run, run_id)
        kind = (run.parameters or {}).get("kind") if run is not None else None
        if run is None or run.state != RunState.COMPLETED or kind == RETRAIN_KIND:
            raise ValueError(f"search_run_id: {run_id} is not a completed search in the store")
        jobs = run_jobs(session, run_id)
        if not jobs:
            raise ValueError(f"search_run_id: {run_id} recorded no sieve jobs")
        return SearchBasis(
            stream=run.stream.name,
            jobs=jobs,
            modulus=run.stream.modulus,
            segment_start=int(run.parameters.get("segment_start") or 0),
        )


def halted_dispatch(decision_id: int | None) -> str | None:
    """For a run the WATCHER dispatched: the halt's reason when the WATCHER is halted (the
    decision is then recorded ``halted``), else None. Runs started by a person are never held."""
    if decision_id is None:
        return None
    with connect() as session:
        halted, reason = halt_state(session)
        if not halted:
            return None
        record = session.get(DecisionRecord, decision_id)
        why = f"halted before the run started: {reason}"
        if record is not None:
            finish_decision(session, record, DecisionStatus.HALTED, why)
        return why
