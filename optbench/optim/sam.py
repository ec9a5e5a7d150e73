"""Sharpness-Aware Minimization, optimizer=sam (Foret et al., 2021).

With g = grad L(w), move to w + e, e = rho g / ||g|| (ASAM, ``adaptive``:
e = rho |w|^2 g / || |w| g ||), take g' = grad L(w + e), restore w, and let the base optimizer
apply g'. Two forward/backward passes per step; the loss and metrics reported are those of the
first pass (at w).

SAM is a registry row like any other: its Keras optimizer is its base's (``wraps="base"``), and
the row's ``train_step`` settings make the Keras model (optbench/models/train_step.py) run
``step`` here instead of Keras's own. It is written once, against variables, over the backend's
``value_and_grad`` (optbench/backends/); the backend's ``stateful_step`` runs it (on JAX, whose
train step is stateless, in a keras.StatelessScope). Nothing here imports a backend until a
step is traced, so the registry can name this module without loading one."""

from __future__ import annotations

from typing import Any

SAM_EPS = 1e-12


def step_settings(opt: Any) -> dict[str, Any]:
    """The TrainStepModel keywords for a SAM config."""
    return {"sam_rho": opt.rho, "sam_adaptive": opt.adaptive}


def perturbation(weights: list, grads: list, rho: float, adaptive: bool) -> list:
    """The ascent step e for each trainable weight."""
    from keras import ops

    grads = [ops.cast(g, "float32") for g in grads]
    if adaptive:
        weights = [ops.cast(w, "float32") for w in weights]
        norm = global_norm([ops.abs(w) * g for w, g in zip(weights, grads, strict=True)])
        return [
            rho * ops.square(w) * g / (norm + SAM_EPS) for w, g in zip(weights, grads, strict=True)
        ]
    norm = global_norm(grads)
    return [rho * g / (norm + SAM_EPS) for g in grads]


def global_norm(tensors: list) -> Any:
    """sqrt of the sum of squares of every entry, in float32, on any backend."""
    from keras import ops

    return ops.sqrt(sum(ops.sum(ops.square(ops.cast(t, "float32"))) for t in tensors))


def step(model: Any, data: Any, rho: float, adaptive: bool) -> dict[str, Any]:
    """One SAM step on ``model`` (a compiled TrainStepModel) and a batch ``data``; the metrics."""
    import keras
    from keras import ops

    from optbench import backends

    backend = backends.get(keras.backend.backend())

    def loss_and_pred(y: Any, y_pred: Any) -> tuple[Any, tuple]:
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        return model.optimizer.scale_loss(loss), (loss, y_pred)  # scaled under mixed_float16

    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    variables = model.trainable_variables
    weights = [ops.copy(v.value) for v in variables]
    (_, (loss, y_pred)), grads = backend.value_and_grad(
        model, loss_and_pred, x, y, training=True, has_aux=True
    )
    ascent = perturbation(weights, grads, rho, adaptive)
    for v, w, e in zip(variables, weights, ascent, strict=True):
        v.assign(w + ops.cast(e, v.dtype))
    _, grads = backend.value_and_grad(model, loss_and_pred, x, y, training=True, has_aux=True)
    for v, w in zip(variables, weights, strict=True):  # the sharpness-aware gradient is taken
        v.assign(w)
    backend.apply(model.optimizer, grads, variables)
    return _update_metrics(model, loss, x, y, y_pred)


def _update_metrics(model: Any, loss: Any, x: Any, y: Any, y_pred: Any) -> dict[str, Any]:
    """Keras's metrics for the step, as its own train step updates them: the loss weighted by
    the batch's size."""
    from keras import ops

    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss, sample_weight=ops.shape(x)[0])
        else:
            metric.update_state(y, y_pred)
    return model.get_metrics_result()
