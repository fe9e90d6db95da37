"""The local advisor over varied bundles from a real store: valid rate, retries, latency (issue 11).

    python benchmarks/advisor.py [--advices 50] [--temperature 1.0]

Builds a SQLite store (a fresh ``MIMICRY_HOME``) holding ``--advices`` streams, each with a
completed run (signal or not, a held-out promise between 0.05 and 0.95) and between 0 and 60
scored predictions whose hits follow a rate drawn per stream (seeded), then asks the local backend
(``MIMICRY_LLM_MODEL`` or the ``llm`` extra's Gemma 3 270M) for one advice per stream, each built
by ``build_bundle`` from the store. Prints one line per advice and the totals: answers valid on
the first attempt, after the retry, degraded; latency median and 90th percentile.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path


def fill_store(streams: int, rng: random.Random) -> list[str]:
    from mimicry.store.database import connect
    from mimicry.store.models import Evaluation, Prediction, Run, Stream, TrainedModel

    names = []
    with connect() as session:
        for index in range(streams):
            signal = rng.random() < 0.6
            promised = rng.uniform(0.05, 0.95) if signal else 0.01
            rate = (
                promised * rng.choice([1.0, 1.0, 0.5, 0.1]) if signal else rng.choice([0.01, 0.1])
            )
            record = Stream(name=f"stream-{index:03d}", modulus=1000)
            session.add(record)
            session.flush()
            run = Run(
                id=f"run-{index:03d}",
                stream_id=record.id,
                state="completed",
                parameters={},
                draws_used=500,
                summary={"signal": "signal" if signal else "no_signal"},
            )
            session.add(run)
            session.flush()
            session.add(
                TrainedModel(
                    run_id=run.id,
                    model_type=rng.choice(["mlp", "xgboost", "lightgbm", "catboost"]),
                    params={},
                    seed=index,
                    schema_hash="h",
                    data_fingerprint="f",
                    library_versions={},
                    signal=signal,
                    artifact=b"",
                    metrics={
                        "test": {"hits": round(promised * 50), "draws": 50, "p_value": 1e-6},
                        "null": {"p_value": rng.choice([0.05, 0.1, 0.3])},
                        "validation_gap": rng.uniform(-0.05, 0.1),
                    },
                )
            )
            hits = misses = 0
            for position in range(rng.randrange(0, 61)):
                hit = rng.random() < rate
                hits += hit
                misses = 0 if hit else misses + 1
                prediction = Prediction(
                    stream_id=record.id,
                    run_id=run.id,
                    position=500 + position,
                    signal="signal" if signal else "no_signal",
                    pool=[1],
                    p_hit=promised,
                    p_hit_low=promised / 2,
                    p_hit_high=min(1.0, promised * 1.5),
                    chance=0.01,
                    distribution=[],
                    statement="",
                    top_hypotheses=[],
                )
                session.add(prediction)
                session.flush()
                session.add(
                    Evaluation(
                        prediction_id=prediction.id,
                        stream_id=record.id,
                        position=500 + position,
                        actual=1,
                        hit=hit,
                        rank=1 if hit else rng.randrange(2, 1000),
                        log_loss_gain=rng.uniform(-1, 2),
                        rolling={
                            "evaluated": position + 1,
                            "hits": hits,
                            "hit_rate": hits / (position + 1),
                            "chance": 0.01,
                            "binomial_p": rng.random(),
                            "consecutive_misses": misses,
                            "cumulative_log_loss_gain": rng.uniform(-5, 20),
                        },
                    )
                )
            names.append(record.name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--advices", type=int, default=50)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIMICRY_HOME"] = home
        os.environ.pop("MIMICRY_DATABASE_URL", None)
        from llm.advisor import advise
        from llm.backends import LocalBackend, default_model_path, sized_bundle
        from mimicry.settings import get_settings

        names = fill_store(args.advices, random.Random(20261129))
        path = get_settings().llm_model or default_model_path()
        backend = LocalBackend(Path(path), args.temperature)
        started = time.perf_counter()
        backend.count_tokens("load")
        print(f"model {backend.model} loaded in {time.perf_counter() - started:.1f} s", flush=True)
        first = retried = degraded = 0
        latencies = []
        try:
            for name in names:
                bundle = sized_bundle(name, backend)
                report = advise(bundle, backend)
                latencies.append(report.latency_s)
                if report.degraded:
                    degraded += 1
                elif report.attempts == 1:
                    first += 1
                else:
                    retried += 1
                advice = report.advice
                print(
                    f"{name}: {len(bundle.recent_evaluations):2d} evaluations -> "
                    f"{advice.recommended_action:8s} {advice.failure_mode:17s} "
                    f"attempts {report.attempts} degraded {report.degraded} "
                    f"{report.latency_s:5.2f} s"
                    + "".join(f"\n    {failure}" for failure in report.failures),
                    flush=True,
                )
        finally:
            backend.close()
    print(
        f"\n{len(names)} advices at temperature {args.temperature}: {first} valid at the first "
        f"attempt, {retried} after the retry, {degraded} degraded; latency median "
        f"{statistics.median(latencies):.2f} s, 90th percentile "
        f"{statistics.quantiles(latencies, n=10, method='inclusive')[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
