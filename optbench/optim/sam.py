"""Sharpness-Aware Minimization, optimizer=sam (Foret et al., 2021).

With g = grad L(w), move to w + e, e = rho g / ||g|| (ASAM, ``adaptive``:
e = rho |w|^2 g / || |w| g ||), take g' = grad L(w + e), restore w, and let the base optimizer
apply g'. Two forward/backward passes per step; the loss and metrics reported are those of the
first pass (at w).

SAM is a registry row like any other: its Keras optimizer is its base's (``wraps="base"``), and
the row's ``train_step`` settings make the Keras model (optbench/models/train_step.py) run a
step here instead of Keras's own: one per backend, as Keras's "customizing fit()" guides show
(TensorFlow and PyTorch change the variables in place, JAX is stateless). The perturbation is
keras.ops, the same on all three. Nothing here imports a backend until a step is traced, so
the registry can name this module without loading one."""

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


def _update_metrics(model: Any, loss: Any, y: Any, y_pred: Any) -> dict[str, Any]:
    """Keras's metrics for the step, stateful (TensorFlow, PyTorch)."""
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss)
        else:
            metric.update_state(y, y_pred)
    return model.get_metrics_result()


def tf_step(model: Any, data: Any, rho: float, adaptive: bool) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    def loss_and_gradients(x: Any, y: Any) -> tuple[Any, Any, list]:
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = model.optimizer.scale_loss(loss)  # loss scaling under mixed_float16
        return loss, y_pred, tape.gradient(scaled, model.trainable_variables)

    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    variables = model.trainable_variables
    loss, y_pred, grads = loss_and_gradients(x, y)
    ascent = perturbation(variables, grads, rho, adaptive)
    for v, e in zip(variables, ascent, strict=True):
        v.assign_add(tf.cast(e, v.dtype))
    _, _, grads = loss_and_gradients(x, y)  # the sharpness-aware gradient
    for v, e in zip(variables, ascent, strict=True):
        v.assign_sub(tf.cast(e, v.dtype))
    model.optimizer.apply(grads, variables)
    return _update_metrics(model, loss, y, y_pred)


def torch_step(model: Any, data: Any, rho: float, adaptive: bool) -> dict[str, Any]:
    import keras
    import torch
    from keras import ops

    def loss_and_gradients(x: Any, y: Any) -> tuple[Any, Any, list]:
        model.zero_grad()
        y_pred = model(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        model.optimizer.scale_loss(loss).backward()
        return loss, y_pred, [v.value.grad.detach().clone() for v in model.trainable_variables]

    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    variables = model.trainable_variables
    loss, y_pred, grads = loss_and_gradients(x, y)
    with torch.no_grad():
        ascent = perturbation([v.value for v in variables], grads, rho, adaptive)
        for v, e in zip(variables, ascent, strict=True):
            v.assign_add(ops.cast(e, v.dtype))
    _, _, grads = loss_and_gradients(x, y)
    with torch.no_grad():
        for v, e in zip(variables, ascent, strict=True):
            v.assign_sub(ops.cast(e, v.dtype))
        model.optimizer.apply(grads, variables)
    model.zero_grad()
    return _update_metrics(model, loss.detach(), y, y_pred.detach())


def jax_step(model: Any, state: tuple, data: Any, rho: float, adaptive: bool) -> tuple:
    import jax
    import keras
    from keras import ops

    trainable, non_trainable, optimizer_vars, metrics_vars = state
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    grad_fn = jax.value_and_grad(model.compute_loss_and_updates, has_aux=True)

    def gradients(weights: list) -> tuple:
        return grad_fn(
            weights, non_trainable, metrics_vars, x, y, None,
            training=True, optimizer_variables=optimizer_vars,
        )  # fmt: skip

    (_, (loss, y_pred, _, _)), grads = gradients(trainable)
    ascent = perturbation(trainable, grads, rho, adaptive)
    perturbed = [w + ops.cast(e, w.dtype) for w, e in zip(trainable, ascent, strict=True)]
    (_, (_, _, non_trainable, _)), grads = gradients(perturbed)
    trainable, optimizer_vars = model.optimizer.stateless_apply(optimizer_vars, grads, trainable)
    logs, metrics_vars = model._update_metrics_variables(metrics_vars, loss, x, y, y_pred, None)
    return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)
