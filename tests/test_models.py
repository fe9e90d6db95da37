"""The four model types behind one fit/predict surface, each on data with a known answer."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from mimicry.ranking.models import MODEL_NAMES, get_model_type


def synthetic(rows: int, seed: int):
    """Hit rates driven by column 0 (a match rate) and the category in column 2; column 1 is
    noise. Like the ranking task: mostly chance rows near 0, a few near 0.9."""
    rng = np.random.default_rng(seed)
    rate = np.where(rng.random(rows) < 0.1, rng.uniform(0.7, 1.0, rows), rng.uniform(0, 0.02, rows))
    category = rng.integers(0, 3, rows)
    X = np.column_stack([rate, rng.normal(size=rows), category]).astype(np.float64)
    y = np.clip(0.9 * rate + 0.05 * (category == 2) + rng.normal(0, 0.01, rows), 0, 1)
    return X, y


@pytest.fixture(scope="module", params=MODEL_NAMES)
def fitted(request):
    X, y = synthetic(600, 1)
    X_valid, y_valid = synthetic(200, 2)
    cls = get_model_type(request.param)
    params = cls.suggest(optuna.trial.FixedTrial(_middle_of(cls)))
    model = cls(params, seed=3).fit(X, y, categorical=[2], X_valid=X_valid, y_valid=y_valid)
    return cls, params, model


def _middle_of(cls) -> dict:
    """A fixed trial's values: every suggested parameter at a sensible point of its range."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    cls.suggest(trial)
    return trial.params


def test_it_learns_the_signal(fitted):
    cls, _, model = fitted
    X, y = synthetic(300, 5)
    predicted = model.predict(X)
    assert predicted.shape == (300,)
    assert np.corrcoef(predicted, y)[0, 1] > 0.9, cls.name
    top = np.argsort(-predicted)[:20]
    assert y[top].mean() > 0.6  # the rows it ranks first are the high-rate ones


def test_it_is_deterministic_and_round_trips(fitted):
    cls, params, model = fitted
    X, y = synthetic(600, 1)
    X_valid, y_valid = synthetic(200, 2)
    again = cls(params, seed=3).fit(X, y, categorical=[2], X_valid=X_valid, y_valid=y_valid)
    probe, _ = synthetic(50, 9)
    np.testing.assert_allclose(again.predict(probe), model.predict(probe), rtol=1e-6, atol=1e-7)
    restored = cls.from_bytes(model.to_bytes(), params, 3)
    np.testing.assert_array_equal(restored.predict(probe), model.predict(probe))


def test_it_reports_diagnostics_and_importance(fitted):
    cls, _, model = fitted
    assert model.diagnostics, cls.name
    assert all(
        np.isfinite(d["train_loss"]) and np.isfinite(d["valid_loss"]) for d in model.diagnostics
    )
    assert [d["step"] for d in model.diagnostics] == list(range(len(model.diagnostics)))
    if cls.name == "mlp":
        assert all(d["grad_norm"] >= 0 for d in model.diagnostics)
    first, last = model.diagnostics[0]["train_loss"], model.diagnostics[-1]["train_loss"]
    assert last < first  # it trained
    importance = model.feature_importance(["match_rate", "noise", "category"])
    assert sum(importance.values()) == pytest.approx(1.0)
    assert max(importance, key=importance.get) == "match_rate"
    assert importance["noise"] < importance["match_rate"] / 2
    assert cls.library_versions()["numpy"] == np.__version__


def test_unknown_model_type():
    with pytest.raises(KeyError, match="known: mlp, xgboost, lightgbm, catboost"):
        get_model_type("svm")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_labels_that_are_all_equal_fit_that_value(name):
    """A fold of chance draws where no hypothesis hits has every label 0 (CatBoost alone
    refuses such data natively); every type must still fit, predict and round-trip."""
    X, _ = synthetic(200, 4)
    cls = get_model_type(name)
    params = cls.suggest(optuna.trial.FixedTrial(_middle_of(cls)))
    zeros = np.zeros(200)
    model = cls(params, seed=1).fit(X, zeros, categorical=[2], X_valid=X, y_valid=zeros)
    probe, _ = synthetic(30, 6)
    predicted = model.predict(probe)
    assert np.all((predicted >= 0) & (predicted <= 1))
    assert predicted.mean() < 0.1, (name, predicted.mean())
    restored = cls.from_bytes(model.to_bytes(), params, 1)
    np.testing.assert_array_equal(restored.predict(probe), model.predict(probe))
    assert sum(model.feature_importance(["match_rate", "noise", "category"]).values()) == (
        pytest.approx(1.0)
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_features_that_are_all_constant_fit_the_labels_mean(name):
    """A population of decoys alone (a search that found nothing) can give every row the same
    features; CatBoost alone refuses such data natively (seen on an entropy stream in CI).
    Every type fits, and predicts about the labels' mean for every row."""
    rng = np.random.default_rng(3)
    X = np.ones((200, 4))
    labels = (rng.random(200) < 0.3).astype(np.float64)
    cls = get_model_type(name)
    params = cls.suggest(optuna.trial.FixedTrial(_middle_of(cls)))
    model = cls(params, seed=1).fit(X, labels, categorical=[2], X_valid=X, y_valid=labels)
    predicted = model.predict(np.ones((5, 4)))
    assert np.ptp(predicted) < 1e-6, (name, predicted)
    assert abs(predicted.mean() - labels.mean()) < 0.15, (name, predicted.mean(), labels.mean())


def test_a_healthy_fit_has_no_critical_finding(fitted):
    from mimicry.ranking.health import Severity, by_check, check_fit, fit_record

    cls, _, model = fitted
    X, y = synthetic(600, 1)
    record = fit_record(model, X, y, model.feature_importance(["rate", "noise", "category"]))
    assert record.loss == ("rmse" if cls.name == "catboost" else "log_loss")
    findings = by_check(check_fit(record))
    assert all(f.severity is not Severity.CRITICAL for f in findings.values()), findings
    assert findings["did_not_learn"].severity is Severity.OK, findings["did_not_learn"]


def test_a_learning_rate_far_out_of_range_is_critical():
    from mimicry.ranking.health import Severity, by_check, check_fit, fit_record

    cls = get_model_type("mlp")
    X, y = synthetic(600, 1)
    params = {"hidden": 32, "layers": 2, "learning_rate": 1e3, "weight_decay": 1e-4, "epochs": 40}
    model = cls(params, seed=3).fit(X, y, categorical=[2])
    findings = by_check(check_fit(fit_record(model, X, y)))
    assert findings["diverged"].severity is Severity.CRITICAL, findings["diverged"]


# CatBoost's ordered boosting keeps its rise under the bound on these rows (6 %).
@pytest.mark.parametrize("name", ["xgboost", "lightgbm"])
def test_shuffled_labels_overfit_from_the_first_round(name):
    """Labels shuffled against the features: what it learns is noise, and the loss on true
    validation labels is lowest before the first round's learning and rises after."""
    from mimicry.ranking.health import Severity, by_check, check_fit, fit_record

    cls = get_model_type(name)
    X, y = synthetic(600, 1)
    y = np.random.default_rng(4).permutation(y)
    X_valid, y_valid = synthetic(200, 2)
    params = cls.suggest(optuna.trial.FixedTrial(_middle_of(cls)))
    model = cls(params, seed=3).fit(X, y, categorical=[2], X_valid=X_valid, y_valid=y_valid)
    finding = by_check(check_fit(fit_record(model, X, y)))["overfit"]
    assert finding.severity is not Severity.OK, finding
    assert finding.numbers["best_step"] <= 1 and finding.numbers["rise"] > 0.1, finding


def test_contributions_add_up_to_the_output_and_name_the_signal(fitted):
    """Each library's own attribution (TreeSHAP: XGBoost's pred_contribs, LightGBM's
    pred_contrib, CatBoost's ShapValues; integrated gradients for the MLP): a row's shares sum
    to its output less the base value, the output is the prediction in the model's own space,
    and the match-rate column explains more than the noise column."""
    cls, _, model = fitted
    X, _ = synthetic(40, 6)
    explained = model.contributions(X)
    assert explained.values.shape == (40, 3) and explained.base.shape == (40,)
    # Integrated gradients are exact up to the trapezoid rule's error; TreeSHAP exactly.
    tolerance = 2e-2 if cls.name == "mlp" else 1e-4
    np.testing.assert_allclose(
        explained.base + explained.values.sum(axis=1), explained.output, atol=tolerance
    )
    predicted = model.predict(X)
    if explained.scale == "log-odds":
        np.testing.assert_allclose(1 / (1 + np.exp(-explained.output)), predicted, atol=1e-5)
    else:
        np.testing.assert_allclose(np.clip(explained.output, 0, 1), predicted, atol=1e-6)
    shares = np.abs(explained.values).mean(axis=0)
    assert shares[0] > shares[1], shares
