"""``mimicry run``: the main job. Ingest a draw file, run the pipeline flow, print the answer."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.text import Text

from gpu_kernels.projections import MAX_MODULUS
from mimicry.answers import RunAnswer
from mimicry.draws import DrawFileError
from mimicry.names import BadName
from mimicry.ranking.models import MODEL_NAMES
from mimicry.render import (
    SURVIVOR_COLUMNS,
    held_out_test,
    plain_text,
    search_line,
    survivor_rows,
)
from mimicry.render.health import not_promoted_sentence
from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings
from mimicry.store.errors import StoreConflict, StoreFault, StoreUnreachable, StoreUnusable
from mimicry_cli.common import (
    EXIT_INCOMPLETE,
    SURVIVOR_LAYOUT,
    ColumnFlag,
    DrawsFile,
    JsonFlag,
    SessionFlag,
    app,
    fail,
    markdown_text,
    parse_range,
    print_table,
    terminal,
)
from mimicry_cli.request_flags import (
    BackendFlag,
    MaxMissesFlag,
    MinMatchesFlag,
    ModeFlag,
    ModulusFlag,
    OffsetsFlag,
    PredictFlag,
    ProjectionFlag,
    SeedsFlag,
    SkipFlag,
    TopFlag,
    WindowFlag,
    WindowStartFlag,
    field_help,
    invalid_input,
)
from mimicry_cli.store import bad_name, store_errors

#: The flags' defaults are the request's own, written once (in :mod:`mimicry.requests`).
SIEVE_DEFAULTS = SieveSettings()
RANKING_DEFAULTS = RankingSettings()
REQUEST_DEFAULTS = {name: f.default for name, f in PipelineRequest.model_fields.items()}


@app.command()
def run(
    draws: DrawsFile,
    stream: Annotated[
        str | None,
        typer.Option(help="Stream to store the draws as (default: the file name).", metavar="NAME"),
    ] = None,
    family: Annotated[
        list[str] | None,
        typer.Option(help=field_help(PipelineRequest, "families", "Repeat."), metavar="NAME"),
    ] = None,
    projection: ProjectionFlag = SIEVE_DEFAULTS.projection,
    modulus: ModulusFlag = SIEVE_DEFAULTS.modulus,
    session: SessionFlag = None,
    column: ColumnFlag = None,
    window: WindowFlag = None,
    window_start: WindowStartFlag = None,
    seeds: SeedsFlag = None,
    offsets: OffsetsFlag = None,
    skip: SkipFlag = None,
    variable_skip: Annotated[
        bool | None,
        typer.Option(
            "--variable-skip/--constant-skip", help=field_help(SieveSettings, "variable_skip")
        ),
    ] = None,
    max_misses: MaxMissesFlag = None,
    min_matches: MinMatchesFlag = None,
    mode: ModeFlag = SIEVE_DEFAULTS.mode,
    predict: PredictFlag = SIEVE_DEFAULTS.predict,
    top: TopFlag = SIEVE_DEFAULTS.top,
    backend: BackendFlag = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(help=field_help(SieveSettings, "chunk_size"), metavar="N"),
    ] = None,
    window_trials: Annotated[
        int, typer.Option(help=field_help(PipelineRequest, "window_trials"), metavar="N")
    ] = REQUEST_DEFAULTS["window_trials"],
    pool_size: Annotated[
        int, typer.Option(help=field_help(RankingSettings, "pool_size"), metavar="K")
    ] = RANKING_DEFAULTS.pool_size,
    holdout: Annotated[
        float,
        typer.Option(help=field_help(RankingSettings, "holdout_fraction"), metavar="SHARE"),
    ] = RANKING_DEFAULTS.holdout_fraction,
    model_type: Annotated[
        list[str] | None,
        typer.Option(
            help=field_help(
                RankingSettings, "model_types", f"Repeat (default: {', '.join(MODEL_NAMES)})."
            ),
            metavar="TYPE",
        ),
    ] = None,
    model_trials: Annotated[
        int, typer.Option(help=field_help(RankingSettings, "model_trials"), metavar="N")
    ] = RANKING_DEFAULTS.model_trials,
    permutations: Annotated[
        int, typer.Option(help=field_help(RankingSettings, "permutations"), metavar="N")
    ] = RANKING_DEFAULTS.permutations,
    model_param: Annotated[
        list[str] | None,
        typer.Option(
            help="Step 4: pin a model type's hyperparameter, TYPE.NAME=VALUE (e.g. "
            "mlp.learning_rate=0.01); every trial of that type takes it. Repeat.",
            metavar="T.N=V",
        ),
    ] = None,
    save_all_models: Annotated[
        bool,
        typer.Option(
            "--save-all-models",
            help=field_help(
                RankingSettings, "save_all_models", "`mimicry health --run` shows them."
            ),
        ),
    ] = RANKING_DEFAULTS.save_all_models,
    tensorboard: Annotated[
        Path | None,
        typer.Option(
            "--tensorboard",
            help=field_help(RankingSettings, "tensorboard_dir"),
            metavar="DIR",
        ),
    ] = None,
    trial_budget: Annotated[
        int, typer.Option(help=field_help(PipelineRequest, "trial_budget"), metavar="N")
    ] = REQUEST_DEFAULTS["trial_budget"],
    rank: Annotated[
        bool,
        typer.Option("--rank/--no-rank", help=field_help(PipelineRequest, "rank")),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Ingest DRAWS, find the generator behind them and predict the next draw (Steps 1–6).

    Flags given as a single value are pinned; ranges (--offsets, --skip) and flags left out are
    what Step 1 chooses within. With no Prefect server configured the flow reports to a
    temporary local one this command starts and stops; with PREFECT_API_URL set it reports to
    that server's UI.
    """
    # The store, the flows and their HTTP client load here, not with the module (`mimicry
    # --help` loads every command's module).
    from flows.stopping import check_stop
    from mimicry.draws.ingest import ingesting
    from mimicry_cli.lifetime import exit_143_on_sigterm, prefect_api, run_stoppable

    with exit_143_on_sigterm():
        if not 2 <= modulus <= MAX_MODULUS:
            fail(f"--modulus must be between 2 and {MAX_MODULUS}, got {modulus}")
        try:
            request = PipelineRequest(
                stream=draws.stem if stream is None else stream,
                draws_file=str(draws.resolve()),
                session=session,
                column=column,
                families=tuple(family) if family else REQUEST_DEFAULTS["families"],
                sieve=SieveSettings(
                    projection=projection,
                    modulus=modulus,
                    window=window,
                    window_start=window_start,
                    seeds=parse_range("--seeds", seeds, None),
                    offsets=parse_range("--offsets", offsets, None),
                    skip=parse_range("--skip", skip, None),
                    variable_skip=variable_skip,
                    max_misses=max_misses,
                    min_matches=min_matches,
                    mode=mode,
                    backend=backend,
                    chunk_size=chunk_size,
                    predict=predict,
                    top=top,
                ),
                window_trials=window_trials,
                trial_budget=trial_budget,
                rank=rank,
                ranking=RankingSettings(
                    pool_size=pool_size,
                    holdout_fraction=holdout,
                    model_types=(tuple(model_type) if model_type else RANKING_DEFAULTS.model_types),
                    model_trials=model_trials,
                    permutations=permutations,
                    save_all_models=save_all_models,
                    model_params=pinned_parameters(model_param or []),
                    tensorboard_dir=str(tensorboard.resolve()) if tensorboard else None,
                ),
            )
        except ValidationError as error:
            fail(invalid_input(error))
        # The file's one parse (docs/design.md §13): ingested here, before any work, in a
        # transaction that a refusal below still rolls back, so bad input writes nothing; the
        # flow then has no file to ingest.
        with (
            refusals(draws),
            ingesting(
                request.draws_file, request.stream, modulus=modulus, session=session, column=column
            ) as ingest,
        ):
            if window is not None and window > ingest.file_draws:
                fail(f"--window {window} is larger than the {ingest.file_draws} draws in {draws}")
            if window_start is not None and window_start + (window or 1) > ingest.file_draws:
                fail(
                    f"--window-start {window_start} is beyond the {ingest.file_draws} draws in"
                    f" {draws}"
                )
            if rank:
                require_history_to_hold_out(request, ingest.report.total, draws)
        request = request.model_copy(update={"draws_file": None})
        with store_errors():
            from flows.pipeline import pipeline

            with prefect_api():
                state = run_stoppable(lambda: pipeline(request, return_state=True))
            check_stop()
        result = state.result(raise_on_failure=False)
        if not isinstance(result, dict):  # the flow failed before it had an answer
            explain_failure(result, draws)
            print(
                f"mimicry: error: the pipeline failed: {plain_text(str(state.message))}",
                file=sys.stderr,
            )
            raise typer.Exit(1)
        answer = RunAnswer.model_validate(result)
        if as_json:
            print(answer.model_dump_json())
        else:
            print_answer(answer)
        if state.is_failed():
            print(f"mimicry: error: {plain_text(str(state.message))}", file=sys.stderr)
            raise typer.Exit(EXIT_INCOMPLETE)


def pinned_parameters(values: list[str]) -> dict[str, dict[str, float | int | str]]:
    """``--model-param mlp.learning_rate=0.01`` as ``{"mlp": {"learning_rate": 0.01}}``."""
    pinned: dict[str, dict[str, float | int | str]] = {}
    for text in values:
        name, equals, value = text.partition("=")
        model_type, dot, parameter = name.partition(".")
        if not (equals and dot and model_type and parameter and value):
            fail(f"--model-param: expected TYPE.NAME=VALUE (mlp.learning_rate=0.01), got {text!r}")
        number: float | int | str
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                number = value
        pinned.setdefault(model_type, {})[parameter] = number
    return pinned


@contextmanager
def refusals(draws: Path) -> Iterator[None]:
    """Bad input (the file, the stream's name, a history the store contradicts) is one sentence
    and exit 2; a store that cannot serve the run is one sentence and exit 3."""
    with store_errors():
        try:
            yield
        except (DrawFileError, StoreConflict) as error:
            fail(str(error))
        except BadName as error:
            fail(bad_name(error, draws))


#: What a failed flow may have failed of that the user can act on, each with its exit code.
EXPLAINED = (DrawFileError, StoreConflict, BadName, StoreFault, StoreUnusable, StoreUnreachable)


def explain_failure(error: object, draws: Path) -> None:
    """Exit with the documented code and one sentence when the flow failed for a reason the
    user can act on (its input, the store); returns for any other failure."""
    if isinstance(error, EXPLAINED):
        with refusals(draws):
            raise error


def require_history_to_hold_out(request: PipelineRequest, stream_draws: int, path: Path) -> None:
    """Refuse a history too short to hold draws out and train (``stream_draws``: the stream's,
    the file's included), while the ingest can still be rolled back."""
    from mimicry.ranking.splits import HistoryTooShort, split_history

    ranking = request.ranking
    try:
        split_history(range(stream_draws), ranking.holdout_fraction, ranking.holdout_min)
    except HistoryTooShort as error:
        fail(f"{path}: {error} (--no-rank searches it without ranking)")


def print_answer(answer: RunAnswer) -> None:
    console = terminal()
    print_table(
        f"run {answer.run_id}: survivors, best first",
        survivor_rows(answer.survivors),
        console,
        SURVIVOR_LAYOUT,
        SURVIVOR_COLUMNS,
    )
    stats = answer.stats
    console.print(search_line(stats.candidates_tested, stats.hypotheses, stats.seconds))
    console.print(markdown_text(answer.verdict))
    if answer.model is not None:
        model, test = answer.model, answer.model.test
        # Labels and reasons as Text: printed as written, never read as markup or emoji codes.
        console.print()
        console.print(
            Text(
                plain_text(
                    f"Ranking: {len(answer.ranking)} best of the hypotheses; model "
                    f"{model.winner} (walk-forward validation; {model.signal_reason})."
                )
            )
        )
        console.print(f"Test split: {held_out_test(test)}.")
        for entry in answer.ranking[:3]:
            console.print(
                Text(plain_text(f"  {entry.score:.3f}  {entry.hypothesis} ({entry.source})"))
            )
        if answer.not_promoted:
            # Its model's pool is not the stream's prediction: the earlier model's still is.
            from mimicry.store.runs import standing_run

            standing = standing_run(answer.prediction.stream)
            console.print(
                Text(not_promoted_sentence(answer.not_promoted, answer.prediction, standing))
            )
            return
        from mimicry_cli.predict import print_prediction

        print_prediction(answer.prediction, console)
