"""scikit-learn models: multinomial logistic regression and the warm-start MLP."""

from __future__ import annotations

from typing import Any

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


def count_params(estimator: ClassifierMixin) -> int:
    """Number of fitted weights and biases (as Keras counts the same model): the arrays the
    diagnostics probe reads (no intercept where the model fits none)."""
    from optbench.diagnostics.sklearn_probe import arrays_of

    return int(sum(a.size for a in arrays_of(estimator) or []))
