"""The Keras train step (TensorFlow backend): Keras's own, or Sharpness-Aware Minimization's
two-pass step when ``sam_rho`` > 0; and the gradient norm probe logged once per epoch.

SAM (Foret et al., 2021): with g = grad L(w), move to w + e, e = rho g / ||g||
(ASAM, ``adaptive``: e = rho |w|^2 g / || |w| g ||), take g' = grad L(w + e), restore w, and
let the base optimizer apply g'. Two forward/backward passes per step."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

SAM_EPS = 1e-12


class TrainStepModel(keras.Model):
    def __init__(self, *args: Any, sam_rho: float = 0.0, sam_adaptive: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sam_rho, self.sam_adaptive = sam_rho, sam_adaptive

    def _gradients(self, x: Any, y: Any) -> tuple[Any, Any, list]:
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = self.optimizer.scale_loss(loss)  # loss scaling under mixed_float16
        return loss, y_pred, tape.gradient(scaled, self.trainable_variables)

    def sam_perturbation(self, grads: list) -> list:
        """The ascent step e for each trainable variable."""
        variables = self.trainable_variables
        if self.sam_adaptive:
            scaled = [tf.abs(v) * g for v, g in zip(variables, grads, strict=True)]
            norm = tf.linalg.global_norm(scaled)
            return [
                self.sam_rho * tf.square(v) * g / (norm + SAM_EPS)
                for v, g in zip(variables, grads, strict=True)
            ]
        norm = tf.linalg.global_norm(grads)
        return [self.sam_rho * g / (norm + SAM_EPS) for g in grads]

    def train_step(self, data: Any) -> dict[str, Any]:
        if self.sam_rho <= 0:
            return super().train_step(data)  # exactly Keras's step: no overhead
        x, y = data
        loss, y_pred, grads = self._gradients(x, y)
        perturbation = self.sam_perturbation(grads)
        for v, e in zip(self.trainable_variables, perturbation, strict=True):
            v.assign_add(tf.cast(e, v.dtype))
        _, _, grads = self._gradients(x, y)  # the sharpness-aware gradient
        for v, e in zip(self.trainable_variables, perturbation, strict=True):
            v.assign_sub(tf.cast(e, v.dtype))
        self.optimizer.apply(grads, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return self.get_metrics_result()

    @tf.function
    def gradient_norm(self, x: Any, y: Any) -> Any:
        """Global norm of the gradient of the training loss at the current weights on (x, y),
        in inference mode (no dropout), so epochs are compared on the same sample."""
        with tf.GradientTape() as tape:
            y_pred = self(x, training=False)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        grads = tape.gradient(loss, self.trainable_variables)
        return tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads])
