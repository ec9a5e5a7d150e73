"""Sharpness-Aware Minimization, optimizer=sam (Foret et al., 2021).

With g = grad L(w), move to w + e, e = rho g / ||g|| (ASAM, ``adaptive``:
e = rho |w|^2 g / || |w| g ||), take g' = grad L(w + e), restore w, and let the base optimizer
apply g'. Two forward/backward passes per step.

SAM is a registry row like any other: its Keras optimizer is its base's (``wraps="base"``), and
the row's ``train_step`` settings make the Keras model (optbench/models/train_step.py) run
``train_step`` here instead of Keras's own. TensorFlow is imported only when a step is traced,
so the registry can name this module without loading it."""

from __future__ import annotations

from typing import Any

SAM_EPS = 1e-12


def step_settings(opt: Any) -> dict[str, Any]:
    """The TrainStepModel keywords for a SAM config."""
    return {"sam_rho": opt.rho, "sam_adaptive": opt.adaptive}


def perturbation(variables: list, grads: list, rho: float, adaptive: bool) -> list:
    """The ascent step e for each trainable variable."""
    import tensorflow as tf

    if adaptive:
        scaled = [tf.abs(v) * g for v, g in zip(variables, grads, strict=True)]
        norm = tf.linalg.global_norm(scaled)
        return [
            rho * tf.square(v) * g / (norm + SAM_EPS) for v, g in zip(variables, grads, strict=True)
        ]
    norm = tf.linalg.global_norm(grads)
    return [rho * g / (norm + SAM_EPS) for g in grads]


def train_step(model: Any, data: Any, rho: float, adaptive: bool) -> dict[str, Any]:
    """One SAM step of ``model`` (a TrainStepModel) on a batch; returns its metrics."""
    import tensorflow as tf

    x, y = data
    variables = model.trainable_variables
    loss, y_pred, grads = model.loss_and_gradients(x, y)
    ascent = perturbation(variables, grads, rho, adaptive)
    for v, e in zip(variables, ascent, strict=True):
        v.assign_add(tf.cast(e, v.dtype))
    _, _, grads = model.loss_and_gradients(x, y)  # the sharpness-aware gradient
    for v, e in zip(variables, ascent, strict=True):
        v.assign_sub(tf.cast(e, v.dtype))
    model.optimizer.apply(grads, variables)
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred)
    return model.get_metrics_result()
