"""TrainStepModel, the keras.Model every optbench Keras model is built on, on any Keras backend:
its train step is Keras's own, or SAM's two passes (optbench/optim/sam.py) when ``sam_rho`` > 0;
and it measures the gradient norm logged once per epoch. What differs per backend is how a
gradient is taken (TensorFlow's tape, jax.grad, torch's backward), so that is all that is
written three times here; the arithmetic on gradients is keras.ops."""

from __future__ import annotations

from typing import Any

import keras

from optbench.optim import sam
from optbench.optim.sam import global_norm

BACKEND = keras.backend.backend()


class TrainStepModel(keras.Model):
    def __init__(self, *args: Any, sam_rho: float = 0.0, sam_adaptive: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sam_rho, self.sam_adaptive = sam_rho, sam_adaptive
        self._grad_norm_fn: Any = None

    def train_step(self, *args: Any) -> Any:
        if self.sam_rho <= 0:
            return super().train_step(*args)  # exactly Keras's step: no overhead
        step = {"tensorflow": sam.tf_step, "jax": sam.jax_step, "torch": sam.torch_step}
        return step[BACKEND](self, *args, rho=self.sam_rho, adaptive=self.sam_adaptive)

    def gradient_norm(self, x: Any, y: Any) -> float:
        """Global norm of the gradient of the training loss at the current weights on (x, y),
        in inference mode (no dropout), so epochs are compared on the same sample."""
        if self._grad_norm_fn is None:
            self._grad_norm_fn = {
                "tensorflow": _tf_gradient_norm,
                "jax": _jax_gradient_norm,
                "torch": _torch_gradient_norm,
            }[BACKEND](self)
        ops = keras.ops
        return float(self._grad_norm_fn(ops.convert_to_tensor(x), ops.convert_to_tensor(y)))


def _tf_gradient_norm(model: TrainStepModel) -> Any:
    import tensorflow as tf

    @tf.function
    def norm(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            y_pred = model(x, training=False)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        return global_norm(tape.gradient(loss, model.trainable_variables))

    return norm


def _jax_gradient_norm(model: TrainStepModel) -> Any:
    import jax

    def loss(trainable: list, non_trainable: list, metrics: list, x: Any, y: Any) -> Any:
        return model.compute_loss_and_updates(
            trainable, non_trainable, metrics, x, y, None, training=False
        )[0]

    grad = jax.jit(jax.grad(loss))

    def norm(x: Any, y: Any) -> Any:
        values = [
            [v.value for v in variables]
            for variables in (
                model.trainable_variables,
                model.non_trainable_variables,
                model.metrics_variables,
            )
        ]
        return global_norm(grad(*values, x, y))

    return norm


def _torch_gradient_norm(model: TrainStepModel) -> Any:
    def norm(x: Any, y: Any) -> Any:
        model.zero_grad()
        y_pred = model(x, training=False)
        model.compute_loss(x=x, y=y, y_pred=y_pred, training=False).backward()
        grads = [v.value.grad for v in model.trainable_variables]
        model.zero_grad()
        return global_norm([g.detach() for g in grads])

    return norm
