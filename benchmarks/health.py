"""Training health, measured (issue 23 §7): the calibration-drift trigger's detection delay and
false alarms, what sabotaged trainings set off, and what the checks and the attribution cost.

    python benchmarks/health.py [--streams 50] [--draws 1000] [--every 10] [--repeats 5]

1. *Calibration drift* (``watcher.triggers.calibration_drift``, docs/design.md §17): streams
   whose run promised P(hit) = 0.9 (the low end of its interval, as the triggers read it), fed
   Bernoulli hits at a true rate of 0.9 (the promise kept), 0.8, 0.7 and 0.5, the trigger
   read every ``--every`` scored draws at the default alpha (0.01), as a WATCHER ticking that
   often would. For each rate: the share of streams on which it ever fired within ``--draws``
   draws, and the median draws until it first fired; beside it the fixed-sample tail it read
   before (exact binomial), read as often. A stream without signal is never tested (the
   trigger returns at once: nothing was promised), so the entropy world's false alarms are zero
   by construction, not by measurement.
2. *Sabotage*: trainings broken on purpose (a learning rate far out of range, labels shuffled
   against the features, one boosting round), fitted and checked as Step 5 does: which checks
   fired on which fit, and whether the model would be promoted.
3. *Costs*: per model type, on a synthetic table of the size a default run trains on (6 cuts of
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
from scipy.stats import binom

from mimicry.ranking.attribution import explain_top
from mimicry.ranking.features import FEATURE_NAMES, categorical_columns
from mimicry.ranking.health import (
    DEFAULT_THRESHOLDS,
    FitHealth,
    Severity,
    check_fit,
    fit_record,
    promotion_refusal,
    sequential_calibration_p_values,
)
from mimicry.ranking.models import MODEL_NAMES, get_model_type
from watcher.policy import Policy
from watcher.triggers import Scored, StreamHealth, calibration_drift, fired_triggers

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


def first_alarms(hits: np.ndarray, every: int, alpha: float) -> tuple[int | None, int | None]:
    """The scored draw at which the calibration-drift trigger first fires, read every ``every``
    draws from its minimum on, and where the fixed-sample tail (what it read before) read as
    often would have fired."""
    looks = np.arange(DEFAULT_THRESHOLDS.calibration_min_draws, len(hits) + 1, every)
    sequential = sequential_calibration_p_values([PROMISE] * len(hits), hits)[looks - 1]
    fixed = binom.cdf(np.cumsum(hits)[looks - 1], looks, PROMISE)
    return tuple(
        int(looks[np.argmax(p_values < alpha)]) if (p_values < alpha).any() else None
        for p_values in (sequential, fixed)
    )


def fires(hits: np.ndarray, policy: Policy) -> bool:
    """The trigger itself, on every draw of the stream."""
    scored = tuple(
        Scored(position=i, hit=bool(hit), promised=PROMISE, chance=0.01)
        for i, hit in enumerate(hits)
    )
    health = StreamHealth(stream="s", draws=len(hits), run_id="r", signal=True, scored=scored)
    return calibration_drift(health, policy) is not None


def drift_table(streams: int, draws: int, every: int) -> str:
    policy = Policy()
    rng = np.random.default_rng(23)
    rows = [
        "| true hit rate (promised 0.9) | streams that fired | median draws to fire "
        "| fixed-sample test read as often: fired | its median draws |",
        "|---|---|---|---|---|",
    ]
    for rate in RATES:
        alarms = []
        for _ in range(streams):
            hits = rng.random(draws) < rate
            alarms.append(first_alarms(hits, every, policy.alpha))
            # The path read at the end is the trigger's own answer (its p-value never rises).
            assert (alarms[-1][0] is not None) == fires(hits, policy)
        cells = []
        for fired in ([a[0] for a in alarms if a[0]], [a[1] for a in alarms if a[1]]):
            median = f"{statistics.median(fired):.0f}" if fired else "—"
            cells += [f"{len(fired)}/{streams}", median]
        rows.append(f"| {rate} | " + " | ".join(cells) + " |")
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


#: Trainings sabotaged on purpose (issue 23 §7): the type, its parameters, and whether the labels
#: are shuffled against the features.
SABOTAGE = (
    ("mlp at a learning rate of 1,000", "mlp", {**PARAMS["mlp"], "learning_rate": 1000.0}, False),
    ("mlp at a learning rate of 1e-9", "mlp", {**PARAMS["mlp"], "learning_rate": 1e-9}, False),
    ("mlp, labels shuffled", "mlp", PARAMS["mlp"], True),
    ("xgboost, labels shuffled", "xgboost", PARAMS["xgboost"], True),
    ("lightgbm, labels shuffled", "lightgbm", PARAMS["lightgbm"], True),
    ("xgboost, one round", "xgboost", {**PARAMS["xgboost"], "rounds": 1}, False),
)


def sabotage_table() -> str:
    """Each sabotage fitted as Step 5 fits the model that predicts (the first five cuts train,
    the sixth validates the monitored fit), checked as Step 5 checks it; what fired and
    whether the model would be promoted (``promotion_refusal``, a run with signal)."""
    rng = np.random.default_rng(11)
    X, y = table(rng)
    categorical = categorical_columns(FEATURE_NAMES)
    train, valid = slice(0, 5 * 210), slice(5 * 210, None)
    rows = [
        "| sabotage | checks not ok on the monitored and the final fit | promoted |",
        "|---|---|---|",
    ]
    for label, name, params, shuffled in SABOTAGE:
        labels = rng.permutation(y) if shuffled else y
        cls = get_model_type(name)
        monitored = cls(params, 1).fit(
            X[train], labels[train], categorical=categorical,
            X_valid=X[valid], y_valid=labels[valid],
        )  # fmt: skip
        final = cls(params, 1).fit(X, labels, categorical=categorical)
        fits = [
            FitHealth.of(fit, check_fit(fit_record(model, rows_X, rows_y)))
            for fit, model, rows_X, rows_y in (
                ("monitored", monitored, X[train], labels[train]),
                ("final", final, X, labels),
            )
        ]
        fired = [
            f"{fit.fit} {finding.check} ({finding.severity.value})"
            for fit in fits
            for finding in fit.findings
            if finding.severity != Severity.OK
        ]
        refusal = promotion_refusal(name, fits, signal=True)
        rows.append(
            f"| {label} | {', '.join(fired) or 'none'} | "
            f"{'no: ' + refusal.split(': ', 1)[1] if refusal else 'yes'} |"
        )
    return "\n".join(rows)


def tick_cost(repeats: int, scored: int = 1000) -> str:
    """What a tick's triggers cost on one stream with ``scored`` scored draws of its current run
    (every trigger, the calibration drift's e-process over all of them), median of
    ``repeats``."""
    rng = np.random.default_rng(5)
    health = StreamHealth(
        stream="s",
        draws=scored,
        run_id="r",
        signal=True,
        scored=tuple(
            Scored(position=i, hit=bool(hit), promised=PROMISE, chance=0.01)
            for i, hit in enumerate(rng.random(scored) < PROMISE)
        ),
    )
    policy, times = Policy(), []
    for _ in range(repeats):
        started = time.perf_counter()
        fired_triggers(health, policy)
        times.append(time.perf_counter() - started)
    return (
        f"Every trigger of a tick on a stream with {scored:,} scored draws (the drift test's "
        f"e-process over all of them): {statistics.median(times) * 1000:.1f} ms."
    )


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
    print("\n## Sabotaged trainings\n")
    print(sabotage_table())
    print(f"\n## Costs per fit (medians of {args.repeats})\n")
    print(cost_table(args.repeats))
    print()
    print(tick_cost(args.repeats))


if __name__ == "__main__":
    main()
