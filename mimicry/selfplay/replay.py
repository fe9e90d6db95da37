"""Replay: how a configuration would have done on a stream's own history (docs/design.md §21).

Rolling origins: at each origin ``t`` the pipeline's steps run on the draws before ``t`` as a
run would (Step 1 window per family, Step 2 sieve through the coverage ledger, Steps 2.5–5
ranking with its own held-out test), and its model then predicts draws ``t, t + 1, …`` one at a
time, fixed, each from the draws before it, as the live loop predicts between retrains. Every
predicted draw is scored as the live scoring scores it: a hit when it is in the pool of K, and
the log-likelihood gain ``log p(actual) + log M`` over the uniform distribution.

Nothing after the *frontier* is read: the stream's newest ``live_draws`` belong to the live
scoring, which keeps a promotion honest on draws selfplay never saw. The origins are split in
two alternating halves: the exploration origins give the study its objective, the confirmation
origins the gate its paired test, so the configurations a study steers towards are never
judged on the draws that steered it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from mimicry.requests import PipelineRequest


class HistoryTooShortForReplay(ValueError):
    """The stream has too few draws before its frontier for the policy's origins."""


class ReplayPlan(BaseModel):
    """Where a stream's replay looks: origins oldest first, each predicting ``horizon`` draws."""

    model_config = ConfigDict(frozen=True)

    #: Draws before it may be read; the rest are the live scoring's.
    frontier: int
    exploration: tuple[int, ...]
    confirmation: tuple[int, ...]
    horizon: int


def replay_plan(
    draws: int, live_draws: int, origins: int, horizon: int, min_training: int
) -> ReplayPlan:
    """``origins`` origins (at least two: one to explore on, one to confirm on) spread evenly
    between ``min_training`` and the frontier, the newest predicting the frontier's last
    ``horizon`` draws."""
    frontier = draws - live_draws
    newest = frontier - horizon
    if origins < 2:
        raise ValueError("a replay needs at least two origins: one explores, one confirms")
    if newest < min_training:
        raise HistoryTooShortForReplay(
            f"the stream has {draws} draws; a replay needs {min_training} to train on, "
            f"{horizon} to predict and {live_draws} kept for the live scoring "
            f"({min_training + horizon + live_draws} in all)"
        )
    step = max(1, horizon)
    points = sorted(
        {newest - k * step for k in range(origins) if newest - k * step >= min_training}
    )
    if len(points) < 2:
        raise HistoryTooShortForReplay(
            f"the stream's {draws} draws leave room for {len(points)} origin before the "
            f"frontier at {frontier}; a replay needs two"
        )
    # Alternating from the newest: the newest origin confirms, so a candidate is judged on
    # the draws nearest the live ones.
    newest_first = points[::-1]
    return ReplayPlan(
        frontier=frontier,
        exploration=tuple(sorted(newest_first[1::2])),
        confirmation=tuple(sorted(newest_first[0::2])),
        horizon=horizon,
    )


class OriginScore(BaseModel):
    """One origin of a replay: the draws it predicted and how each went."""

    model_config = ConfigDict(frozen=True)

    origin: int
    hits: tuple[bool, ...]
    #: Per predicted draw, nats over uniform.
    gains: tuple[float, ...]
    #: Whether the run at this origin found signal (without it the pools are chance-level).
    signal: bool
    #: Why not, when it did not (the run's own sentence).
    reason: str = ""
    #: CPU-seconds the replay took in this process (0 for a kept score).
    cpu_seconds: float


class ReplayScore(BaseModel):
    """A configuration's replay over a set of origins."""

    model_config = ConfigDict(frozen=True)

    origins: tuple[OriginScore, ...]

    @property
    def hit_list(self) -> list[bool]:
        return [hit for origin in self.origins for hit in origin.hits]

    @property
    def hits(self) -> int:
        return sum(self.hit_list)

    @property
    def draws(self) -> int:
        return len(self.hit_list)

    @property
    def hit_rate(self) -> float:
        """Hits a predicted draw (0 for no draw)."""
        return self.hits / self.draws if self.draws else 0.0

    @property
    def gain(self) -> float:
        """Mean log-likelihood gain per predicted draw."""
        gains = [gain for origin in self.origins for gain in origin.gains]
        return sum(gains) / len(gains) if gains else 0.0

    @property
    def cpu_seconds(self) -> float:
        return sum(origin.cpu_seconds for origin in self.origins)

    def summary(self) -> dict[str, float | int]:
        return {"hits": self.hits, "draws": self.draws, "gain": round(self.gain, 6)}


def cannot_catch_up(done: Sequence[OriginScore], remaining_draws: int, to_beat: int) -> bool:
    """Whether a candidate whose replay so far is ``done`` could not reach ``to_beat`` hits
    even if every one of the ``remaining_draws`` hit: the episode stops replaying it (the
    bound is exact, so no candidate that could still win is ever stopped)."""
    return sum(sum(o.hits) for o in done) + remaining_draws < to_beat


def replay_origin(
    draws: Sequence[int],
    origin: int,
    horizon: int,
    request: PipelineRequest,
    storage_url: str,
) -> OriginScore:
    """The pipeline's steps as ``request`` configures them, on ``draws[:origin]``, then its
    predictions of ``draws[origin : origin + horizon]`` scored one by one (see the module doc).
    ``draws`` must already stop at the frontier."""
    started = time.process_time()
    history = list(draws[:origin])
    future = list(draws[origin : origin + horizon])
    modulus = request.sieve.modulus
    forecast = _forecaster(history, request, storage_url)
    hits, gains = [], []
    for index, actual in enumerate(future):
        prediction = forecast(history + future[:index])
        hits.append(actual in prediction.pool)
        gains.append(math.log(max(prediction.distribution[actual], 1e-300)) + math.log(modulus))
    return OriginScore(
        origin=origin,
        hits=tuple(hits),
        gains=tuple(gains),
        signal=forecast.signal,
        reason=forecast.reason,
        cpu_seconds=time.process_time() - started,
    )


class _Forecaster:
    """Steps 1–5 on a history, then Step 6 for any history that extends it."""

    def __init__(self, predict, signal: bool, reason: str):
        self._predict, self.signal, self.reason = predict, signal, reason

    def __call__(self, history: Sequence[int]):
        return self._predict(history)


def _forecaster(history: list[int], request: PipelineRequest, storage_url: str) -> _Forecaster:
    # The ranking's libraries load only when a replay runs.
    from mimicry.ranking.models import get_model_type
    from mimicry.ranking.next_draw import Calibration
    from mimicry.ranking.prediction import predict_next
    from mimicry.ranking.scorer_search import optimize_scorer
    from mimicry.ranking.scoring import build_population, score_population
    from mimicry.ranking.selection import select_model
    from mimicry.ranking.splits import HistoryTooShort, split_history, walk_forward_cuts
    from mimicry.ranking.training import train_and_test
    from mimicry.search.chunks import assemble_from_ledger, sieve_chunk
    from mimicry.search.sieve import chunk_bounds, chunk_size_for
    from mimicry.search.window import optimize_window

    sieve, ranking, modulus = request.sieve, request.ranking, request.sieve.modulus

    def chance(reason: str) -> _Forecaster:
        calibration = Calibration(signal=False, test_hits=0, test_draws=0, reason=reason)

        def uniform(extended: Sequence[int]):
            return predict_next(
                request.stream,
                "replay",
                [],
                None,
                None,
                extended,
                modulus,
                ranking.pool_size,
                calibration,
            )

        return _Forecaster(uniform, False, reason)

    try:
        split = split_history(history, ranking.holdout_fraction, ranking.holdout_min)
    except HistoryTooShort as error:
        return chance(str(error))
    training = list(split.training)
    jobs, significant = [], False
    backend = sieve.backend or "cpu"
    for family in request.families:
        choice = optimize_window(training, family, request, storage_url)
        job = choice.config.job(training, family, sieve)
        for lo, hi in chunk_bounds(job, chunk_size_for(job, sieve)):
            sieve_chunk(job, lo, hi, backend, worker="selfplay")
        result = assemble_from_ledger(
            training,
            job,
            predict=0,
            top=sieve.top,
            extension_limit=sieve.extension_limit or 0,
        )
        significant = significant or result.stats.significant
        jobs.append(result.job)
    if not significant:
        return chance("no survivor is significant")
    try:
        population = build_population(jobs, ranking.decoys)
        earliest = max(job.window_start + job.window_size for job in jobs)
        cuts = walk_forward_cuts(len(training), earliest, ranking.folds, ranking.label_span)
        scorer = optimize_scorer(
            population,
            training,
            cuts,
            modulus,
            ranking.pool_size,
            ranking.scorer_trials,
            storage_url,
            ranking.seed,
        )
        scored = score_population(population, training, cuts, scorer.config, modulus)
        selection = select_model(
            scored.population,
            scored.tables,
            training,
            scorer.config,
            modulus,
            ranking.pool_size,
            ranking.model_trials,
            storage_url,
            None,
            ranking.seed,
            ranking.model_types,
            pinned=ranking.model_params,
        )
        report, artifact = train_and_test(
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
        )
    except HistoryTooShort as error:
        return chance(str(error))
    model = get_model_type(report.model_type).from_bytes(artifact, report.params, report.seed)
    calibration = Calibration(
        signal=report.signal,
        test_hits=report.test.hits,
        test_draws=report.test.draws,
        reason=report.signal_reason,
    )

    def ranked(extended: Sequence[int]):
        return predict_next(
            request.stream,
            "replay",
            scored.population,
            model,
            scorer.config,
            extended,
            modulus,
            ranking.pool_size,
            calibration,
        )

    return _Forecaster(ranked, report.signal, report.signal_reason)


def configuration_key(request: PipelineRequest) -> str:
    """What an origin's replay depends on besides the draws: the request without who asked and
    where its draws came from (an unset offset or skip range is the range 0..0)."""
    data = request.model_dump(
        mode="json", exclude={"stream", "draws_file", "session", "column", "decision_id"}
    )
    sieve = data["sieve"]
    sieve["offsets"] = sieve["offsets"] or [0, 0]
    sieve["skip"] = sieve["skip"] or [0, 0]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def draws_fingerprint(draws: Sequence[int]) -> str:
    return hashlib.sha256(",".join(map(str, draws)).encode()).hexdigest()[:16]


def kept_or_replayed(
    stream: str,
    draws: Sequence[int],
    origin: int,
    horizon: int,
    request: PipelineRequest,
    storage_url: str,
) -> OriginScore:
    """The origin's score as kept in the store for this configuration and these draws, else
    replayed now and kept: each episode replays the champion on its origins, and a new draw
    moves the frontier but not what an older origin read."""
    from mimicry.store.selfplay import keep_replay, kept_replay

    key = configuration_key(request)
    fingerprint = draws_fingerprint(draws[: origin + horizon])
    kept = kept_replay(stream, key, origin, horizon, fingerprint)
    if kept is not None:
        return OriginScore.model_validate(kept | {"cpu_seconds": 0.0})
    score = replay_origin(draws, origin, horizon, request, storage_url)
    keep_replay(stream, key, origin, horizon, fingerprint, score.model_dump(mode="json"))
    return score
