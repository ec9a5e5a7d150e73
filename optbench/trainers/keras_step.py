"""The Keras train step (TensorFlow backend): one gradient, its global norm as a metric, and
Sharpness-Aware Minimization's two-pass step when ``sam_rho`` > 0.

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
        self.grad_norm_tracker = keras.metrics.Mean(name="grad_norm")

    def _gradients(self, x: Any, y: Any) -> tuple[Any, Any, list]:
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            scaled = self.optimizer.scale_loss(loss)  # loss scaling under mixed_float16
        return loss, y_pred, tape.gradient(scaled, self.trainable_variables)

    def _unscaled_norm(self, grads: list) -> Any:
        norm = tf.linalg.global_norm(grads)
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            norm = norm / tf.cast(self.optimizer.dynamic_scale, norm.dtype)
        return norm

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
        x, y = data
        loss, y_pred, grads = self._gradients(x, y)
        if self.sam_rho > 0:
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
            elif metric.name == "grad_norm":
                metric.update_state(self._unscaled_norm(grads))
            else:
                metric.update_state(y, y_pred)
        return self.get_metrics_result()
