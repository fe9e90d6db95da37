"""Steps 2.5–6 measured in the two worlds (issue 4 §8), through the real pipeline flow.

* A registry generator whose draws were 15 % replaced by random values: the truth is ranked
  first and its pools hit the held-out draws far above chance.
* OS entropy: the signal gate says no_signal, predictions are uniform and say so in words,
  and over 200 evaluated new draws the pool hits at the chance rate.
* Held-out draws: replacing them changes no output of Steps 1–4 (but does change the test).
* Step 3 uses exactly the configuration Step 2.5 chose; the registry refuses a model whose
  feature schema differs.
"""

from __future__ import annotations

import json
import secrets
import subprocess

import optuna
import pytest
from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings
from prefect.testing.utilities import prefect_test_harness
from scipy.stats import binom
from sqlalchemy import select

from flows.pipeline import pipeline
from mimicry.loop.evaluation import evaluate_stream
from mimicry.ranking.features import ScorerConfig
from mimicry.ranking.health import LEARNED_NOTHING
from mimicry.ranking.models import ModelSchemaMismatch, load_stored
from mimicry.requests import PipelineRequest, RankingSettings, SieveSettings
from mimicry.store.database import connect, database_url
from mimicry.store.models import (
    FeatureTableRecord,
    PopulationRecord,
    Prediction,
    Run,
    TrainedModel,
)
from mimicry.store.registry import model_health
from mimicry.store.scoring import scoring_snapshot
from tests.history import make_history, write_draws
from tests.test_cli import MIMICRY

RANKING = RankingSettings(scorer_trials=4, model_trials=1, permutations=19, decoys=120, folds=5)


@pytest.fixture(scope="module")
def prefect_api():
    with prefect_test_harness(server_startup_timeout=300):
        yield


def noisy_history(seed: int, count: int, noise: float, rng_seed: int) -> list[int]:
    import random

    rng = random.Random(rng_seed)
    clean = make_history("mt19937", "mod", 1000, seed, range(count))
    return [rng.randrange(1000) if rng.random() < noise else v for v in clean]


def run(stream: str, path: str, **sieve) -> dict:
    return pipeline(
        PipelineRequest(
            stream=stream,
            draws_file=path,
            families=("mt19937",),
            sieve=SieveSettings(seeds=(0, 4095), **sieve),
            window_trials=8,
            trial_budget=4096,
            ranking=RANKING,
        )
    )


def test_a_noisy_generator_is_ranked_first_and_predicted_above_chance(prefect_api, home):
    seed = 1 + secrets.randbelow(4000)
    draws = noisy_history(seed, 400, 0.15, rng_seed=seed)
    answer = run("noisy", write_draws(home / "noisy.txt", draws))
    assert answer["signal"] == "signal", answer["model"]["signal_reason"]
    assert answer["model"]["health"] != "critical"  # the winner's training went right
    assert answer["ranking"][0]["hypothesis"].startswith(f"mt19937 seed {seed} ")
    test = answer["model"]["test"]
    assert test["draws"] == 40
    assert test["hits"] >= 25  # about 85 % of 40; chance is 0.4 hits
    assert test["p_value"] < 1e-30
    prediction = answer["prediction"]
    truth_next = make_history("mt19937", "mod", 1000, seed, [400])[0]
    assert truth_next in prediction["pool"]
    assert prediction["pool"][0] == truth_next
    assert prediction["p_hit"] > 0.5 and prediction["p_hit_interval"][0] > prediction["chance"]
    assert "Signal" in prediction["statement"]


def test_os_entropy_is_no_signal_and_stays_at_chance(prefect_api, home):
    draws = [secrets.randbelow(1000) for _ in range(300)]
    answer = run("entropy", write_draws(home / "entropy.txt", draws))
    assert answer["signal"] == "no_signal"
    assert "no signal" in answer["model"]["signal_reason"]
    # A model that learned nothing where there was nothing to learn is no training fault
    # (docs/design.md §20): those findings are ok on a run without signal. Every other finding
    # stands: a fit that overfitted these random rows says so (CI saw the winner critical once,
    # on a catboost fit of OS entropy).
    winner = model_health(answer["run_id"])[0]
    findings = [f for fit in winner.fits for f in fit["findings"]]
    learned_nothing = [f for f in findings if f["check"] in LEARNED_NOTHING]
    assert learned_nothing and all(f["severity"] == "ok" for f in learned_nothing), learned_nothing
    critical = [f for f in findings if f["severity"] == "critical"]
    assert (answer["model"]["health"] == "critical") == bool(critical), (answer["model"], critical)
    prediction = answer["prediction"]
    assert prediction["p_hit"] == prediction["chance"] == 0.01
    assert prediction["p_hit_interval"] == [0.01, 0.01]
    assert "chance-level" in prediction["statement"]
    # 200 new draws, each scored against the prediction made before it.
    hits = 0
    for _ in range(200):
        value = secrets.randbelow(1000)
        with connect() as session:
            from mimicry.store.streams import append_draws

            append_draws(session, "entropy", [value], 1000, source="test")
        scored, following = evaluate_stream("entropy", 10)
        assert len(scored) == 1 and following.signal == "no_signal"
        hits += scored[0].hit
    rolling = scored[0].rolling
    assert rolling["evaluated"] == 200 and rolling["hits"] == hits
    low, high = binom.ppf(0.0005, 200, 0.01), binom.ppf(0.9995, 200, 0.01)
    assert low <= hits <= high  # the central 99.9 % of chance
    with connect() as session:
        statements = session.scalars(select(Prediction.statement)).all()
        assert all("chance-level" in s and "Signal" not in s for s in statements)
    proc = subprocess.run(
        [*MIMICRY, "predict", "--stream", "entropy", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    shown = json.loads(proc.stdout)
    assert shown["signal"] == "no_signal" and shown["p_hit"] == 0.01
    assert len(shown["distribution"]) == 1000 and set(shown["distribution"]) == {0.001}


def test_held_out_draws_change_nothing_before_step_5(prefect_api, home):
    seed = 2000 + secrets.randbelow(2000)
    draws = noisy_history(seed, 400, 0.15, rng_seed=seed)
    replaced = draws[:360] + [secrets.randbelow(1000) for _ in range(40)]
    # No Prefect cache: every step computes from what it is given, so an output that read the
    # held-out draws anyhow (from the store, say) would differ.
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        first = run("original", write_draws(home / "a.txt", draws))
        second = run("replaced", write_draws(home / "b.txt", replaced))

    def steps_1_to_4(answer: dict) -> dict:
        with connect() as session:
            population = session.get(PopulationRecord, answer["run_id"])
            tables = session.scalars(
                select(FeatureTableRecord)
                .where(FeatureTableRecord.run_id == answer["run_id"])
                .order_by(FeatureTableRecord.cut_index)
            ).all()
            return {
                "window": answer["window_choices"],
                "jobs": answer["jobs"],
                "survivors": [
                    {k: v for k, v in s.items() if k != "next"} for s in answer["survivors"]
                ],
                "population": population.hypotheses,
                "scorer": population.scorer_config,
                "tables": [(t.cut_index, t.cut_stop, t.rows, t.labels) for t in tables],
                # Step 4's selection per type (each type's test, health and registry id are
                # Step 5's).
                "models": [
                    {k: t[k] for k in ("model_type", "validation_gain", "fold_spread", "gap")}
                    for t in answer["model"]["types"]
                ],
            }

    assert steps_1_to_4(first) == steps_1_to_4(second)
    assert first["model"]["test"]["hits"] != second["model"]["test"]["hits"]


def test_step_3_uses_the_scorer_step_2_5_chose_and_the_registry_checks_schemas(prefect_api, home):
    seed = 1 + secrets.randbelow(4000)
    answer = run(
        "scored", write_draws(home / "s.txt", noisy_history(seed, 300, 0.1, rng_seed=seed))
    )
    with connect() as session:
        population = session.get(PopulationRecord, answer["run_id"])
        study = optuna.load_study(
            study_name=population.scorer_choice["study_name"], storage=database_url()
        )
        best = ScorerConfig.model_validate(study.best_trial.user_attrs["config"])
        assert ScorerConfig.model_validate(population.scorer_config) == best
        tables = session.scalars(
            select(FeatureTableRecord).where(FeatureTableRecord.run_id == answer["run_id"])
        ).all()
        assert tables and all(t.schema_hash == best.schema_hash for t in tables)
        assert all(tuple(t.features) == best.features for t in tables)
        record = session.scalar(select(TrainedModel).where(TrainedModel.run_id == answer["run_id"]))
        assert record.schema_hash == best.schema_hash
        assert record.data_fingerprint and record.library_versions["numpy"]
        stored = scoring_snapshot("scored").latest_ranked.model
        assert stored.id == record.id
        assert load_stored(stored, best.schema_hash).predict is not None
        other = ScorerConfig(features=("match_rate",)).schema_hash
        with pytest.raises(ModelSchemaMismatch, match=f"current schema is {other}; retrain it"):
            load_stored(stored, other)
        assert session.get(Run, answer["run_id"]).state == "completed"


def test_predict_and_evaluate_refuse_bad_input(home):
    def command(*args):
        return subprocess.run([*MIMICRY, *args], capture_output=True, text=True, timeout=300)

    proc = command("predict", "--stream", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mimicry: error: --stream: stream 'nope' does not exist; known streams: none"
    )
    proc = command("predict")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mimicry: error: --stream is required when the store holds no streams"
    )
    command("ingest", write_draws(home / "d.txt", [1, 2, 3]), "--stream", "tiny", "--modulus", "10")
    proc = command("evaluate", "--stream", "tiny", "--draw", "10")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mimicry: error: --draw: draw 10 is outside [0, 10) of stream 'tiny'"
    )
    proc = command("predict", "--stream", "tiny")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "mimicry: error: stream 'tiny' has no ranked run yet; run `mimicry run` on it first"
    )
