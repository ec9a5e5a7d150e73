"""TrainStepModel, the keras.Model every optbench Keras model is built on (TensorFlow backend):
its train step is Keras's own, or SAM's two passes (optbench/optim/sam.py) when ``sam_rho`` > 0;
and it measures the gradient norm logged once per epoch."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from optbench.optim import sam


class TrainStepModel(keras.Model):
    def __init__(self, *args: Any, sam_rho: float = 0.0, sam_adaptive: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sam_rho, self.sam_adaptive = sam_rho, sam_adaptive

    def loss_and_gradients(self, x: Any, y: Any) -> tuple[Any, Any, list]:
        """(loss, predictions, gradients of the trainable variables) on one batch."""
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = self.optimizer.scale_loss(loss)  # loss scaling under mixed_float16
        return loss, y_pred, tape.gradient(scaled, self.trainable_variables)

    def train_step(self, data: Any) -> dict[str, Any]:
        if self.sam_rho <= 0:
            return super().train_step(data)  # exactly Keras's step: no overhead
        return sam.train_step(self, data, self.sam_rho, self.sam_adaptive)

    @tf.function
    def gradient_norm(self, x: Any, y: Any) -> Any:
        """Global norm of the gradient of the training loss at the current weights on (x, y),
        in inference mode (no dropout), so epochs are compared on the same sample."""
        with tf.GradientTape() as tape:
            y_pred = self(x, training=False)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        grads = tape.gradient(loss, self.trainable_variables)
        return tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads])
