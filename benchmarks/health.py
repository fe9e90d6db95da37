"""Training health, measured (issue 23 §7, in part): the calibration-drift trigger's detection
delay and false alarms, and what the checks and the attribution cost per fit.

    python benchmarks/health.py [--streams 50] [--draws 1000] [--every 10] [--repeats 5]

1. *Calibration drift* (``watcher.triggers.calibration_drift``, docs/design.md §17): streams
   whose run promised P(hit) = 0.9 (the low end of its interval, as the triggers read it), fed
   Bernoulli hits at a true rate of 0.9 (the promise kept), 0.8, 0.7 and 0.5, the trigger
   evaluated every ``--every`` scored draws at the default alpha (0.01), as a WATCHER ticking
   that often would. For each rate: the share of streams on which it ever fired within
   ``--draws`` draws, and the median draws until it first fired. A stream without signal is
   never tested (the trigger returns at once: nothing was promised), so the entropy world's
   false alarms are zero by construction, not by measurement.
2. *Costs*: per model type, on a synthetic table of the size a default run trains on (6 cuts of
   210 hypotheses, the scorer's features, a learnable label), the seconds of one fit, of the
   health checks of that fit (``check_fit(fit_record(...))``) and of explaining the first five
   hypotheses (``explain_top``), medians of ``--repeats``.

Prints one Markdown table per part.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mimicry.ranking.attribution import explain_top
from mimicry.ranking.features import FEATURE_NAMES, categorical_columns
from mimicry.ranking.health import check_fit, fit_record
from mimicry.ranking.models import MODEL_NAMES, get_model_type
from watcher.policy import Policy
from watcher.triggers import Scored, StreamHealth, calibration_drift

PROMISE = 0.9
RATES = (0.9, 0.8, 0.7, 0.5)
#: Hyperparameters of a middling Optuna trial per type (what a default run fits many times).
PARAMS = {
    "mlp": {"hidden": 32, "layers": 2, "learning_rate": 0.01, "weight_decay": 1e-4, "epochs": 100},
    "xgboost": {
        "rounds": 100,
        "max_depth": 4,
        "eta": 0.1,
        "min_child_weight": 1.0,
        "subsample": 0.9,
        "lambda": 1.0,
    },
    "lightgbm": {},
    "catboost": {},
}


def first_alarm(hits: np.ndarray, every: int, policy: Policy) -> int | None:
    """The scored draw at which the trigger first fires, checked every ``every`` draws."""
    for end in range(every, len(hits) + 1, every):
        scored = tuple(
            Scored(position=i, hit=bool(hit), promised=PROMISE, chance=0.01)
            for i, hit in enumerate(hits[:end])
        )
        health = StreamHealth(stream="s", draws=end, run_id="r", signal=True, scored=scored)
        if calibration_drift(health, policy) is not None:
            return end
    return None


def drift_table(streams: int, draws: int, every: int) -> str:
    policy = Policy()
    rng = np.random.default_rng(23)
    rows = [
        "| true hit rate (promised 0.9) | streams that fired | median draws to fire |",
        "|---|---|---|",
    ]
    for rate in RATES:
        alarms = [first_alarm(rng.random(draws) < rate, every, policy) for _ in range(streams)]
        fired = [a for a in alarms if a is not None]
        median = f"{statistics.median(fired):.0f}" if fired else "—"
        rows.append(f"| {rate} | {len(fired)}/{streams} | {median} |")
    return "\n".join(rows)


def table(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """6 cuts x 210 hypotheses, one row each, a label that the first feature predicts."""
    rows = 6 * 210
    X = rng.random((rows, len(FEATURE_NAMES)))
    for column in categorical_columns(FEATURE_NAMES):
        X[:, column] = rng.integers(0, 3, rows)
    y = (X[:, 0] + 0.1 * rng.standard_normal(rows) > 0.9).astype(float)
    return X, y


def cost_table(repeats: int) -> str:
    rng = np.random.default_rng(7)
    X, y = table(rng)
    categorical = categorical_columns(FEATURE_NAMES)
    labels = [f"h{i}" for i in range(len(X))]
    rows = [
        "| model | fit (s) | health checks of the fit (s) | why of the first five (s) |",
        "|---|---|---|---|",
    ]
    for name in MODEL_NAMES:
        cls = get_model_type(name)
        fits, checks, whys = [], [], []
        for repeat in range(repeats):
            started = time.perf_counter()
            model = cls(PARAMS[name], repeat).fit(X, y, categorical=categorical)
            fitted = time.perf_counter()
            check_fit(fit_record(model, X, y, model.feature_importance(FEATURE_NAMES)))
            checked = time.perf_counter()
            scores = model.predict(X)
            explained = time.perf_counter()
            explain_top(model, X, np.argsort(-scores), labels, scores, FEATURE_NAMES)
            fits.append(fitted - started)
            checks.append(checked - fitted)
            whys.append(time.perf_counter() - explained)
        rows.append(
            f"| {name} | {statistics.median(fits):.3f} | {statistics.median(checks):.4f} | "
            f"{statistics.median(whys):.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"## Calibration drift: {args.streams} streams of {args.draws} draws, checked every "
          f"{args.every}\n")  # fmt: skip
    print(drift_table(args.streams, args.draws, args.every))
    print(f"\n## Costs per fit (medians of {args.repeats})\n")
    print(cost_table(args.repeats))


if __name__ == "__main__":
    main()
