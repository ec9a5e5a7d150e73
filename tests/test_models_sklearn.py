"""optbench/models/sklearn.py, the scikit-learn models: each builder passes the model's settings,
the optimizer's keywords, the seed and the trainer's extras to its estimator, and
``count_params`` counts the fitted weights and biases, checked on models fitted to the digits
dataset against the sizes of their layers."""

from __future__ import annotations

import warnings

import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from optbench.diagnostics.sklearn_probe import arrays_of
from optbench.models.sklearn import build_logreg, build_mlp, count_params
from optbench.schema import validate
from tests.conftest import compose_cfg


def model(*overrides: str):
    return validate(compose_cfg(*overrides)).model


def test_logreg_takes_the_models_settings_the_solvers_keywords_the_seed_and_extras():
    settings = model(
        "model=logreg",
        "optimizer=saga",
        "model.C=0.5",
        "model.l1_ratio=0.25",
        "model.fit_intercept=false",
    )
    built = build_logreg(settings, {"solver": "saga"}, 7, warm_start=True, max_iter=1)
    assert isinstance(built, LogisticRegression)
    params = built.get_params()
    assert (params["C"], params["l1_ratio"], params["fit_intercept"]) == (0.5, 0.25, False)
    assert (params["solver"], params["random_state"]) == ("saga", 7)
    assert (params["warm_start"], params["max_iter"]) == (True, 1)


def test_the_mlp_takes_its_layers_activation_penalty_the_optimizers_keywords_and_the_seed():
    settings = model(
        "model=mlp_sklearn",
        "optimizer=adam",
        "model.hidden_sizes=[12,6]",
        "model.activation=tanh",
        "model.alpha=0.01",
    )
    built = build_mlp(settings, {"solver": "adam", "learning_rate_init": 0.002}, 3, max_iter=2)
    assert isinstance(built, MLPClassifier)
    params = built.get_params()
    assert params["hidden_layer_sizes"] == (12, 6)  # a tuple, as scikit-learn documents it
    assert (params["activation"], params["alpha"], params["random_state"]) == ("tanh", 0.01, 3)
    assert (params["solver"], params["learning_rate_init"], params["max_iter"]) == (
        "adam",
        0.002,
        2,
    )


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x[:300] / 16, y[:300]


def fitted(estimator, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few iterations are enough here
        return estimator.fit(*data)


def test_logistic_regression_counts_a_kernel_and_a_bias_per_class(digits):
    estimator = fitted(LogisticRegression(max_iter=5), digits)
    assert count_params(estimator) == 64 * 10 + 10


def test_logistic_regression_without_an_intercept_counts_no_bias(digits):
    """scikit-learn keeps zeros in intercept_ when it fits none; Keras's logreg with
    model.fit_intercept=false counts 640 on digits, and so must this."""
    estimator = fitted(LogisticRegression(fit_intercept=False, max_iter=5), digits)
    assert count_params(estimator) == 64 * 10
    assert [a.shape for a in arrays_of(estimator)] == [(10, 64)]


def test_nothing_is_counted_before_the_first_fit():
    assert arrays_of(LogisticRegression()) is None and count_params(MLPClassifier()) == 0


def test_the_mlp_counts_every_layers_weights_and_biases(digits):
    estimator = fitted(
        MLPClassifier(hidden_layer_sizes=(12, 6), max_iter=3, random_state=0), digits
    )
    assert count_params(estimator) == (64 * 12 + 12) + (12 * 6 + 6) + (6 * 10 + 10)
