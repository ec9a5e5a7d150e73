"""The instruments on a scikit-learn estimator, from its public state only: the weights
(``coefs_``/``intercepts_`` of an MLPClassifier, ``coef_``/``intercept_`` of a
LogisticRegression) and a NumPy forward pass over them. scikit-learn exposes no gradient, so
what needs one is not measured (``cannot``); the arithmetic is ``stats.py``'s.

A probe brackets one trainer iteration (one epoch of ``partial_fit``, or one solver call of
the warm-start ``fit``): the update it reports is that iteration's, not one optimizer
step's."""

from __future__ import annotations

from typing import Any

import numpy as np

from optbench.diagnostics import at_least, every_of
from optbench.diagnostics.record import Recorder
from optbench.diagnostics.stats import ALL, layer_rows

OUTPUT = "softmax"  # the top layer's name, as in the Keras models (hidden_i below it)


def cannot(level: str) -> str:
    """What the scikit-learn trainer does not measure at diagnostics ``level``."""
    text = (
        "scikit-learn exposes no gradients: gradient norms (grad_norm, grad_ratio), the "
        "gradient noise scale and SNR, and curvature (sharpness, Hessian trace) are not "
        "measured, nor therefore the vanishing flag and the gradient-growth rule of the "
        "exploding flag; updates are per iteration (one epoch or solver call)"
    )
    if at_least(level, "noise"):
        text += f"; diagnostics={level} runs as basic"
    return text


def arrays_of(estimator: Any) -> list[np.ndarray] | None:
    """Copies (float64) of the estimator's fitted weights, input side first (an MLP: W_0, b_0,
    W_1, b_1, ...; logistic regression: coef_ and, if fitted, intercept_); None before the
    first fit."""
    if hasattr(estimator, "coefs_"):
        pairs = zip(estimator.coefs_, estimator.intercepts_, strict=True)
        arrays = [a for pair in pairs for a in pair]
    elif hasattr(estimator, "coef_"):
        arrays = [estimator.coef_]
        if getattr(estimator, "fit_intercept", True):  # without one, scikit-learn keeps zeros
            arrays.append(np.atleast_1d(estimator.intercept_))
    else:
        return None
    return [np.array(a, dtype=np.float64) for a in arrays]


def layer_names(estimator: Any) -> dict[str, list[int]]:
    """Layer name -> indices of its arrays in ``arrays_of``: hidden_0, hidden_1, ..., softmax."""
    if hasattr(estimator, "coefs_"):
        n = len(estimator.coefs_)
        return {(OUTPUT if i == n - 1 else f"hidden_{i}"): [2 * i, 2 * i + 1] for i in range(n)}
    return {OUTPUT: list(range(len(arrays_of(estimator) or [])))}


def dead_units(arrays: list[np.ndarray], x: np.ndarray) -> dict[str, float]:
    """For a ReLU MLP with weights ``arrays`` (``arrays_of``'s order): per hidden layer, the
    share of its units that output 0 for every example of ``x`` (a NumPy forward pass, as
    MLPClassifier computes it); ALL: over all hidden units. NaN weights count as dead."""
    shares, dead, units = {}, 0, 0
    h = np.asarray(x, dtype=np.float64)
    hidden = len(arrays) // 2 - 1
    with np.errstate(all="ignore"):
        for i in range(hidden):
            h = np.maximum(h @ arrays[2 * i] + arrays[2 * i + 1], 0.0)
            alive = np.any(h > 0, axis=0)
            shares[f"hidden_{i}"] = float(np.mean(~alive))
            dead, units = dead + int(np.sum(~alive)), units + alive.size
    if units:
        shares[ALL] = dead / units
    return shares


class SklearnProbe:
    """Probes every trainer.diagnostics_every iterations (null: every one), starting with the
    first. Call ``before`` ahead of an iteration (outside its timing) and ``after`` once it
    and its evaluation are done.

    The distance from initialisation (dist_init) is measured from the weights after the first
    iteration: scikit-learn creates them inside its first ``fit``/``partial_fit`` and keeps no
    copy of where they started, so the first probe has no update and a dist_init of 0."""

    def __init__(self, trainer: Any, estimator: Any, x_train: np.ndarray):
        self.every = every_of(trainer)
        self.recorder = Recorder(trainer.diagnostics, cannot=cannot(trainer.diagnostics))
        relu = getattr(estimator, "activation", None) == "relu"
        self.sample = x_train[: trainer.diagnostics_sample] if relu else None
        self.initial: list[np.ndarray] | None = None
        self._before: list[np.ndarray] | None = None
        self._last: tuple[int, list[np.ndarray]] | None = None  # (step, weights after it)

    def due(self, step: int) -> bool:
        return (step - 1) % self.every == 0

    def before(self, step: int, estimator: Any) -> None:
        """Keep the weights that iteration ``step`` starts from, if it is probed."""
        if not self.due(step):
            return
        last = self._last
        self._before = last[1] if last and last[0] == step - 1 else arrays_of(estimator)

    def after(self, step: int, estimator: Any, logs: dict[str, float]) -> dict[str, float]:
        """Probe iteration ``step`` (``logs``: its train_loss and lr) if due; its diag_*
        scalars (empty when not probed)."""
        if not self.due(step):
            return {}
        weights = arrays_of(estimator)
        before, self._before = self._before, None
        if weights is None:
            return {}
        self._last = (step, weights)
        if self.initial is None:
            self.initial = weights
        after = weights if before is not None else None  # the first fit: no before
        with np.errstate(all="ignore"):  # blown-up weights: inf norms, not warnings
            rows = layer_rows(
                step, layer_names(estimator), weights, self.initial, None, before, after
            )
        by_layer = {r["layer"]: r for r in rows}
        by_layer[ALL]["loss"] = logs.get("train_loss")
        if "lr" in logs:
            by_layer[ALL]["lr"] = logs["lr"]
        if self.sample is not None:
            for name, share in dead_units(weights, self.sample).items():
                by_layer[name]["dead_relu"] = share
        self.recorder.add(rows)
        return self.recorder.scalars()
