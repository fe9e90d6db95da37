"""What a run tells people in the Prefect UI: its answer's artifacts.

The answer is :class:`mimicry.answers.RunAnswer` and its words come from :mod:`mimicry.render`,
which the CLI prints too, so the UI and the terminal can never say different things.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import (
    create_image_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.states import Completed, Failed, State

from mimicry.answers import (
    ModelSummary,
    ModelTypeSummary,
    RankedHypothesis,
    RunAnswer,
    SpanSummary,
    run_answer,
)
from mimicry.render import (
    incompleteness,
    plain_markdown,
    plain_text,
    prediction_markdown,
    signal_gate_markdown,
    summary_markdown,
    survivor_rows,
)
from mimicry.render.health import health_markdown
from mimicry.render.pictures import (
    png_data_url,
    save_png,
    training_picture_path,
    training_png,
)
from mimicry.render.search import result_state
from mimicry.render.tensorboard import write_training_events
from mimicry.search.results import SieveResult


def sieve_answer(run_id: str, results: list[SieveResult], top: int, choices: dict) -> RunAnswer:
    """Publish the sieve's artifacts and return the run's answer (the results' survivors
    already continue past the stream's newest draw, as stored)."""
    answer = run_answer(run_id, results, top, choices)
    create_table_artifact(
        key="top-survivors",
        table=survivor_rows(answer.survivors) or [{"result": "no survivors"}],
        description="Survivors of every family, best first (window, extensions, p-value)",
    )
    create_markdown_artifact(
        key="sieve-summary",
        markdown=summary_markdown(answer),
        description="Chance statistics of the sieve and what they mean",
    )
    return answer


def final_state(answer: RunAnswer) -> State:
    """A run's Completed state, named and worded by its result (the UI's state message and
    ``prefect deployment run --watch`` say what was found); the answer travels as its data."""
    name, sentence = result_state(answer)
    return Completed(name=name, message=sentence, data=answer.model_dump(mode="json"))


def incomplete(answer: RunAnswer) -> State:
    """Never silently partial: the flow run fails (CI watching it sees a non-zero exit), and
    the answer still travels with the state for whoever reads it."""
    missing = incompleteness(answer.stats.missing_ranges, answer.stats.overflowed)
    return Failed(message=f"incomplete sieve: {missing}", data=answer.model_dump(mode="json"))


def ranking_artifacts(selection, report, prediction) -> None:
    """Model comparison, training diagnostics, feature importance, the null, the prediction."""
    create_table_artifact(
        key="model-selection",
        table=[
            {
                "model": r.model_type,
                "validation gain (nats/draw)": f"{r.valid_mean:.4f}",
                "fold spread": f"{r.valid_spread:.4f}",
                "train/validation gap": f"{r.gap:.4f}",
                "trials": r.trials,
                "winner": r.model_type == selection.winner,
            }
            for r in selection.results
        ],
        description="Walk-forward validation of each model type (time-ordered folds)",
    )
    create_table_artifact(
        key="training-diagnostics",
        table=report.diagnostics or [{"note": "no per-step diagnostics"}],
        description=f"{report.model_type}: loss per epoch or boosting round (last fold)",
    )
    create_table_artifact(
        key="feature-importance",
        table=[
            {"feature": name, "importance": f"{value:.4f}"}
            for name, value in sorted(report.importance.items(), key=lambda kv: -kv[1])
        ],
        description=f"{report.model_type}: importance per feature",
    )
    create_markdown_artifact(
        key="signal-gate",
        markdown=signal_gate_markdown(report),
        description="Does the ranking beat chance and its permutation null?",
    )
    create_markdown_artifact(
        key="prediction",
        markdown=prediction_markdown(prediction),
        description="The pool for the next draw and its calibrated chance of a hit",
    )
    create_markdown_artifact(
        key="training-health",
        markdown=health_markdown(report),
        description="Each fit of the model checked, and why its first hypotheses rank first",
    )


def training_picture(report, stream: str, run_id: str, home: Path) -> Path:
    """The run's training picture (:func:`mimicry.render.pictures.training_png`), written under
    ``home`` (``MIMICRY_HOME``) and shown as an image artifact (a data URL: the UI shows it
    without reaching this machine's files); its path."""
    png = training_png(report, f"{plain_text(stream)}: run {run_id}")
    path = training_picture_path(home, stream, run_id)
    save_png(path, png)
    create_image_artifact(
        image_url=png_data_url(png),
        key="training-picture",
        description=(
            "Learning curves, feature importance and why the first hypothesis ranks first "
            f"({plain_markdown(str(path))})"
        ),
    )
    return path


def training_events(report, stream: str, run_id: str, directory: Path) -> Path:
    """TensorBoard event files of the run's training under ``directory``, for a person
    (:func:`mimicry.render.tensorboard.write_training_events`); the run's log says where."""
    path = write_training_events(report, directory, stream, run_id)
    get_run_logger().info(plain_text(f"TensorBoard event files of the training: {path}"))
    return path


def ranking_answer(
    selection, report, prediction, population, model_id=None, alternatives=()
) -> dict:
    """The ranking's part of the run's answer (fields of :class:`RunAnswer`); ``alternatives``:
    the other types' registered models, (report, model id) each."""
    registered = {report.model_type: (report, model_id)}
    registered |= {alternative.model_type: (alternative, id_) for alternative, id_ in alternatives}

    def summary(result) -> ModelTypeSummary:
        fitted, id_ = registered.get(result.model_type, (None, None))
        return ModelTypeSummary(
            model_type=result.model_type,
            validation_gain=result.valid_mean,
            fold_spread=result.valid_spread,
            gap=result.gap,
            trials=result.trials,
            model_id=id_,
            health=fitted.health_severity.value if fitted is not None else None,
            test=SpanSummary.of(fitted.test) if fitted is not None else None,
        )

    return {
        "signal": prediction.signal,
        "model": ModelSummary(
            winner=selection.winner,
            params=selection.params,
            types=[summary(result) for result in selection.results],
            signal_reason=report.signal_reason,
            null_p_value=report.null.p_value,
            validation=SpanSummary.of(report.validation),
            test=SpanSummary.of(report.test),
            health=report.health_severity.value,
        ),
        "ranking": [
            RankedHypothesis(
                hypothesis=population[h].label(), source=population[h].source, score=score
            )
            for h, score in report.ranking[:10]
        ],
        "prediction": prediction.model_copy(update={"distribution": []}),
    }
