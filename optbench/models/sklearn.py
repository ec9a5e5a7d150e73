"""scikit-learn models: multinomial logistic regression and the warm-start MLP."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier


def build_logreg(model: Any, kwargs: dict[str, Any], seed: int, **extra: Any) -> LogisticRegression:
    return LogisticRegression(
        C=model.C,
        l1_ratio=model.l1_ratio,
        fit_intercept=model.fit_intercept,
        random_state=seed,
        **kwargs,
        **extra,
    )


def build_mlp(model: Any, kwargs: dict[str, Any], seed: int, **extra: Any) -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=tuple(model.hidden_sizes),
        activation=model.activation,
        alpha=model.alpha,
        random_state=seed,
        **kwargs,
        **extra,
    )


BUILDERS = {"logreg": build_logreg, "mlp_sklearn": build_mlp}


def weight_arrays(estimator: ClassifierMixin) -> list[np.ndarray] | None:
    """The estimator's fitted weights, input side first (an MLP: W_0, b_0, W_1, b_1, ...;
    logistic regression: coef_ and, if it fits one, intercept_: without one scikit-learn still
    keeps zeros there); None before the first fit."""
    if hasattr(estimator, "coefs_"):
        pairs = zip(estimator.coefs_, estimator.intercepts_, strict=True)
        return [a for pair in pairs for a in pair]
    if not hasattr(estimator, "coef_"):
        return None
    if getattr(estimator, "fit_intercept", True):
        return [estimator.coef_, np.atleast_1d(estimator.intercept_)]
    return [estimator.coef_]


def count_params(estimator: ClassifierMixin) -> int:
    """Number of fitted weights and biases (as Keras counts the same model)."""
    return int(sum(a.size for a in weight_arrays(estimator) or []))
