"""The instruments on a Keras model, on any backend: gradients through the backend's
``value_and_grad``, Hessian-vector products through its ``hvp`` (optbench/backends/), both
compiled where the backend compiles; the arithmetic then runs in NumPy (``stats.py``).

Every probe measures on one fixed sample of the training data (the first
trainer.diagnostics_sample examples, in inference mode: no dropout), so probes differ only by
the weights. ``DiagnosticsCallback`` probes from ``on_train_batch_begin``: a batch-end hook
would make Keras wait for every step (it turns each step's logs into Python numbers), which
costs ~15 % on a small JAX model; at a batch's start the weights are those after the steps
before it, and the next call gives the update those steps made."""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import numpy as np

from optbench import backends
from optbench.diagnostics import at_least
from optbench.diagnostics.record import Recorder
from optbench.diagnostics.stats import ALL, add_updates, layer_rows, noise_rows


def layer_indices(variables: list) -> dict[str, list[int]]:
    """Layer name -> the indices of its variables, in the model's order (input side first);
    a variable's layer is its path without the last part (hidden_0/kernel -> hidden_0)."""
    layers: dict[str, list[int]] = {}
    for i, v in enumerate(variables):
        layers.setdefault(v.path.rpartition("/")[0] or v.path, []).append(i)
    return layers


def _is_relu(layer: Any) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return True
    activation = getattr(layer, "activation", None)
    return activation is keras.activations.relu or getattr(activation, "__name__", "") == "relu"


def numpy_of(tensors: Any) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(t), dtype=np.float64) for t in tensors]


class KerasProbe:
    """The instruments on ``model`` (built and compiled) and its probe sample (x, y)."""

    def __init__(self, model: Any, x: np.ndarray, y: np.ndarray, trainer: Any, seed: int = 0):
        self.model, self.trainer = model, trainer
        self.level = trainer.diagnostics
        self.backend = backends.get(keras.backend.backend())
        self.x, self.y = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
        self.layers = layer_indices(model.trainable_variables)
        self.initial = self.weights()
        self.rng = np.random.default_rng(seed)
        self._eigenvector: list[np.ndarray] | None = None
        self._grads = self.backend.compile(model, self._loss_and_grads)
        self._hvp = self.backend.compile(model, self._hessian_vector)
        relu = [layer for layer in model.layers if _is_relu(layer)]
        self.relu_names = [layer.name for layer in relu]
        self.relu_model = None
        if relu and isinstance(model, keras.src.models.Functional):  # its layers' outputs
            self.relu_model = keras.Model(model.inputs, [layer.output for layer in relu])
        # noise: k equal micro-batches (fewer where the sample has fewer examples than k)
        self.splits = min(trainer.diagnostics_splits, len(y))
        self.split_size = len(y) // max(self.splits, 1)

    def _loss(self, y: Any, y_pred: Any, x: Any) -> Any:
        return self.model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)

    def _loss_and_grads(self, x: Any, y: Any) -> Any:
        return self.backend.value_and_grad(
            self.model, lambda yy, pred: self._loss(yy, pred, x), x, y
        )

    def _hessian_vector(self, x: Any, y: Any, vectors: list) -> Any:
        return self.backend.hvp(self.model, lambda yy, pred: self._loss(yy, pred, x), x, y, vectors)

    def weights(self) -> list[np.ndarray]:
        return numpy_of(v.value for v in self.model.trainable_variables)

    def gradients(self, x: Any = None, y: Any = None) -> tuple[float, list[np.ndarray]]:
        """(loss, per-variable gradient) on (x, y), by default the probe sample."""
        loss, grads = self._grads(self.x if x is None else x, self.y if y is None else y)
        return float(keras.ops.convert_to_numpy(loss)), numpy_of(grads)

    def hvp(self, vectors: list[np.ndarray]) -> list[np.ndarray]:
        """The Hessian of the probe sample's loss times ``vectors``."""
        variables = self.model.trainable_variables
        tensors = [
            keras.ops.convert_to_tensor(v, dtype=w.dtype)
            for v, w in zip(vectors, variables, strict=True)
        ]
        return numpy_of(self._hvp(self.x, self.y, tensors))

    def sharpness(self, iterations: int, tol: float = 1e-5) -> float:
        """The Hessian's eigenvalue of largest magnitude (its largest, where the Hessian is
        positive semi-definite), by power iteration, stopping when the Rayleigh quotient moves by
        less than ``tol`` relative. It starts from the previous probe's eigenvector (the first
        time, a seeded random direction): between nearby steps the top eigenvector moves
        little, so a few iterations refine it (Cohen et al. warm-start Lanczos the same way)."""
        v = self._eigenvector or [self.rng.standard_normal(w.shape) for w in self.initial]
        value = math.nan
        for _ in range(iterations):
            norm = math.sqrt(sum(float(np.sum(a * a)) for a in v))
            v = [a / norm for a in v]
            hv = self.hvp(v)
            new = sum(float(np.sum(a * b)) for a, b in zip(v, hv, strict=True))
            converged = abs(new - value) <= tol * abs(new)
            value, v = new, hv
            if converged:
                break
        self._eigenvector = v
        return value

    def hessian_trace(self, probes: int) -> float:
        """Hutchinson's estimate: the mean of z' H z over Rademacher vectors z."""
        total = 0.0
        for _ in range(probes):
            z = [self.rng.choice([-1.0, 1.0], size=w.shape) for w in self.initial]
            total += sum(float(np.sum(a * b)) for a, b in zip(z, self.hvp(z), strict=True))
        return total / probes

    def dead_units(self) -> dict[str, float]:
        """Per ReLU layer, the share of its units (last axis) that output 0 for every probe
        example; ALL: over all of them."""
        if self.relu_model is None:
            return {}
        outputs = self.relu_model.predict_on_batch(self.x)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        shares, dead, units = {}, 0, 0
        for name, out in zip(self.relu_names, outputs, strict=True):
            out = np.asarray(out)
            alive = np.any(out.reshape(-1, out.shape[-1]) > 0, axis=0)
            shares[name] = float(np.mean(~alive))
            dead, units = dead + int(np.sum(~alive)), units + alive.size
        shares[ALL] = dead / units
        return shares

    def measure(
        self, step: int, lr: float, curvature: bool, weights: list | None = None
    ) -> list[dict[str, Any]]:
        """The rows of a probe at optimizer step ``step`` where the weights are ``weights``
        (read when not given); the update after it is added when the next probe comes."""
        weights = self.weights() if weights is None else weights
        loss, grads = self.gradients()
        rows = layer_rows(step, self.layers, weights, self.initial, grads)
        by_layer = {r["layer"]: r for r in rows}
        by_layer[ALL].update(loss=loss, lr=lr)
        for name, share in self.dead_units().items():
            if name in by_layer:
                by_layer[name]["dead_relu"] = share
        if at_least(self.level, "noise") and self.splits >= 2:
            for name, values in self._noise(step).items():
                by_layer[name].update(values)
        if curvature:
            by_layer[ALL].update(
                sharpness=self.sharpness(self.trainer.diagnostics_power_iters),
                hessian_trace=self.hessian_trace(self.trainer.diagnostics_trace_probes),
            )
        return rows

    def _noise(self, step: int) -> dict[str, dict[str, float]]:
        k, b = self.splits, self.split_size
        split = [self.gradients(self.x[i * b : (i + 1) * b], self.y[i * b : (i + 1) * b])[1] for i in range(k)]  # fmt: skip
        return noise_rows(step, self.layers, split, b)


class DiagnosticsCallback(keras.callbacks.Callback):
    """Probes every trainer.diagnostics_every optimizer steps (at the first batch start at or
    after each due step: with steps_per_execution k > 1 Keras calls back once per k steps, so
    probes fall on multiples of k counted from each epoch's first step, and an update is the
    mean over the k steps of one call). ``seconds``: the time spent probing."""

    def __init__(self, probe: KerasProbe, recorder: Recorder, every: int, steps_per_epoch: int):
        super().__init__()
        self.probe, self.recorder = probe, recorder
        self.every, self.steps_per_epoch = every, steps_per_epoch
        trainer = probe.trainer
        self.curvature_every = (
            trainer.diagnostics_curvature_every or 10 * every
            if at_least(probe.level, "curvature")
            else 0
        )
        self.next_probe, self.next_curvature = 0, 0
        self.pending: tuple[int, list, list] | None = None  # (step, rows, weights at the probe)
        self.seconds = 0.0  # spent probing: the trainer leaves it off the training clock
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epoch = epoch

    def _lr(self, model: Any) -> float:
        return float(np.asarray(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))

    def _close(self, step: int) -> None:
        """The pending probe gets the update of the steps since it."""
        if self.pending is None:
            return
        at, rows, before = self.pending
        self.pending = None
        if step > at:
            after = self.probe.weights()
            add_updates(rows, self.probe.layers, before, after, step - at)
        self.recorder.add(rows)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        step = self.epoch * self.steps_per_epoch + batch
        if self.pending is None and step < self.next_probe:
            return  # nothing to do: the model (and on JAX its state) is not touched
        start = time.perf_counter()
        model = self.model  # on JAX this syncs the variables with the training state
        self._close(step)
        if step >= self.next_probe:
            curvature = bool(self.curvature_every) and step >= self.next_curvature
            weights = self.probe.weights()
            rows = self.probe.measure(step, self._lr(model), curvature, weights)
            self.pending = (step, rows, weights)
            self.next_probe = step + self.every
            if curvature:
                self.next_curvature = step + self.curvature_every
        self.seconds += time.perf_counter() - start

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.pending is not None:
            start = time.perf_counter()
            self.model  # noqa: B018 (JAX: sync the variables)
            self._close((epoch + 1) * self.steps_per_epoch)
            self.seconds += time.perf_counter() - start
