"""TrainStepModel, the keras.Model every optbench Keras model is built on, on any Keras backend:
its train step is Keras's own, or SAM's two passes (optbench/optim/sam.py) when ``sam_rho`` > 0;
and it measures the gradient norm logged once per epoch. Both are written once, over the
backend's ``value_and_grad`` (optbench/backends/); the arithmetic on gradients is keras.ops."""

from __future__ import annotations

from functools import partial
from typing import Any

import keras

from optbench import backends
from optbench.optim import sam
from optbench.optim.sam import global_norm

BACKEND = backends.get(keras.backend.backend())


class TrainStepModel(keras.Model):
    def __init__(self, *args: Any, sam_rho: float = 0.0, sam_adaptive: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sam_rho, self.sam_adaptive = sam_rho, sam_adaptive
        self._grad_norm_fn: Any = None

    def train_step(self, *args: Any) -> Any:
        if self.sam_rho <= 0:
            return super().train_step(*args)  # exactly Keras's step: no overhead
        step = partial(sam.step, rho=self.sam_rho, adaptive=self.sam_adaptive)
        return BACKEND.stateful_step(self, step, *args)

    def gradient_norm(self, x: Any, y: Any) -> float:
        """Global norm of the gradient of the training loss at the current weights on (x, y),
        in inference mode (no dropout), so epochs are compared on the same sample."""
        if self._grad_norm_fn is None:
            self._grad_norm_fn = BACKEND.compile(self, self._gradient_norm)
        ops = keras.ops
        return float(self._grad_norm_fn(ops.convert_to_tensor(x), ops.convert_to_tensor(y)))

    def _gradient_norm(self, x: Any, y: Any) -> Any:
        def loss(y: Any, y_pred: Any) -> Any:
            return self.compute_loss(x=x, y=y, y_pred=y_pred, training=False)

        return global_norm(BACKEND.value_and_grad(self, loss, x, y)[1])
