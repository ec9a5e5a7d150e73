"""hardware.backend=jax: the platform and GPU determinism are set through JAX's environment
before it loads; jax.jit (XLA) compiles the step unless hardware.xla=false; several GPUs
through keras.distribution.DataParallel. Keras's JAX train step is stateless; ``stateful_step``
runs a step written against variables in a keras.StatelessScope over the step's state."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from optbench import tags as tag
from optbench.backends import Setup, array_pipeline, distribution_versions, no_gpu

LIMITS: dict[tuple[str, Any], str] = {}


def before_import(hw: Any) -> None:
    """JAX reads its platform list and XLA flags once, when it loads."""
    if hw.device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    flags = os.environ.get("XLA_FLAGS", "")
    if hw.deterministic and "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()


def configure(hw: Any) -> Setup:
    import jax
    import keras

    setup = Setup(jit_compile=hw.xla is not False)
    if hw.threads is not None:
        setup.notes.append(
            f"hardware.threads={hw.threads}: JAX sizes its CPU thread pool itself when it "
            "loads; the setting applies to NumPy and scikit-learn only."
        )
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if hw.device == "gpu" and not gpus:
        no_gpu(hw, setup, "JAX", "jax.devices('gpu')")
    selected = [] if hw.device == "cpu" else (gpus if hw.gpus == "all" else gpus[:1])
    if hw.device == "gpu" and hw.gpus == "all" and len(selected) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=selected))
        setup.replicas = len(selected)
    devices = [f"{d.platform}:{d.id}" for d in selected] or ["cpu:0"]
    setup.tags.update(
        {
            tag.DEVICES: ",".join(devices),
            tag.GPU_NAMES: ",".join(d.device_kind for d in selected) or "none",
        }
    )
    return setup


input_pipeline = array_pipeline  # the arrays as they are; Keras batches them


def _loss_of_weights(
    model: Any, loss_fn: Callable, x: Any, y: Any, training: bool, has_aux: bool
) -> Callable:
    """weights -> (loss, (aux, updated non-trainable values)): the loss as a pure function of
    the trainable weights, through model.stateless_call at the other variables' current
    values (those of an enclosing StatelessScope, if any)."""
    import keras

    non_trainable = [v.value for v in model.non_trainable_variables]
    metrics = [(v, v.value) for v in model.metrics_variables]
    kwargs = {"training": training} if model._call_has_training_arg else {}

    def loss(weights: list) -> tuple[Any, tuple]:
        y_pred, updated, losses = model.stateless_call(
            weights, non_trainable, x, return_losses=True, **kwargs
        )
        model._losses_override = losses  # what model.losses gives compute_loss, as Keras does
        try:
            with keras.StatelessScope(state_mapping=metrics):  # loss trackers stay put
                value = loss_fn(y, y_pred)
        finally:
            model._losses_override = []
        loss, aux = value if has_aux else (value, None)
        return loss, (aux, updated)

    return loss


def value_and_grad(
    model: Any, loss_fn: Callable, x: Any, y: Any, *, training: bool = False, has_aux: bool = False
) -> tuple[Any, list]:
    """jax.value_and_grad of the loss as a function of the weights. A training pass writes the
    non-trainable variables it updates back, as a forward pass does on the stateful backends."""
    import jax

    trainable = [v.value for v in model.trainable_variables]
    loss = _loss_of_weights(model, loss_fn, x, y, training, has_aux)
    (loss, (aux, updated)), grads = jax.value_and_grad(loss, has_aux=True)(trainable)
    if training:
        for variable, new in zip(model.non_trainable_variables, updated, strict=True):
            variable.assign(new)
    return ((loss, aux) if has_aux else loss), grads


def hvp(model: Any, loss_fn: Callable, x: Any, y: Any, vectors: list) -> list:
    """Forward over reverse: jax.jvp of jax.grad, at the weights' current values."""
    import jax

    loss = _loss_of_weights(model, loss_fn, x, y, False, False)
    grad = jax.grad(lambda w: loss(w)[0])
    trainable = [v.value for v in model.trainable_variables]
    tangents = [
        jax.numpy.asarray(v, dtype=w.dtype) for v, w in zip(vectors, trainable, strict=True)
    ]
    return jax.jvp(grad, (trainable,), (tangents,))[1]


def _state_variables(model: Any) -> list[list]:
    """The variables of Keras's JAX train state, in its order."""
    return [
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    ]


def stateful_step(model: Any, step: Callable, state: tuple, data: Any) -> tuple:
    import keras

    groups = _state_variables(model)
    mapping = [
        (v, value)
        for variables, values in zip(groups, state, strict=True)
        for v, value in zip(variables, values, strict=True)
    ]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step(model, data)
    return logs, tuple([scope.get_current_value(v) for v in variables] for variables in groups)


def apply(optimizer: Any, grads: list, variables: list) -> None:
    """Through stateless_apply, as Keras's JAX step does: LossScaleOptimizer's stateful apply
    branches with lax.cond, which cannot assign into a StatelessScope."""
    slots = optimizer.variables
    weights, state = optimizer.stateless_apply(
        [v.value for v in slots], grads, [v.value for v in variables]
    )
    for v, value in [*zip(variables, weights, strict=True), *zip(slots, state, strict=True)]:
        v.assign(value)


def compile(model: Any, fn: Callable) -> Callable:
    """jax.jit of ``fn`` with the model's weights as arguments, read at each call."""
    import jax
    import keras

    variables = model.trainable_variables + model.non_trainable_variables

    @jax.jit
    def pure(values: list, *args: Any) -> Any:
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return fn(*args)

    return lambda *args: pure([v.value for v in variables], *args)


def reset() -> None:
    import keras

    keras.distribution.set_distribution(None)


def versions() -> dict[str, str]:
    return distribution_versions("jax", "jaxlib")
