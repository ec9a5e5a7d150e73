"""DeepOBS's ``quadratic_deep`` (Schneider et al., 2019) as a landscape dataset: a 100-D
noisy quadratic whose Hessian has the spectrum reported for deep networks (90 eigenvalues
uniform in [0, 1], 10 in [30, 60], randomly rotated).

Built as DeepOBS builds it (deepobs/tensorflow/testproblems/quadratic_deep.py, _quadratic.py,
datasets/quadratic.py): eigenvalues, then the Haar rotation of Diaconis & Shahshahani, from
``RandomState(42)``; 1000 training points x_i ~ N(0, 0.6^2 I) (float32) from another
``RandomState(42)``; theta starts at (1, ..., 1); a step's loss is the batch mean of
0.5 (theta - x_i)^T Q (theta - x_i) over 128 points, each epoch a fresh permutation with the
remainder dropped (7 batches). ``dataset.data_seed`` is added to DeepOBS's seeds (0: exactly
DeepOBS's problem); the run's ``seed`` draws the batch order only.

What is logged as ``train_loss`` is the noise-free objective, the loss's expectation over x:
0.5 theta^T Q theta + 0.5 * 0.6^2 * tr(Q) (DeepOBS reports the mean loss on its fixed test
set, which is this up to that sample's noise)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from optbench.data.surfaces import Surface

DIM, TRAIN_SIZE, NOISE_LEVEL = 100, 1000, 0.6  # DeepOBS's quadratic data set
DEEPOBS_SEED = 42  # the Hessian's and the training points' RandomState in DeepOBS


def random_rotation(dim: int, rng: np.random.RandomState) -> np.ndarray:
    """DeepOBS's ``random_rotation``: a Haar-uniform matrix of SO(dim) by the subgroup
    algorithm (Diaconis & Shahshahani, 1987), drawing from ``rng`` in DeepOBS's order."""
    t = 2 * np.pi * rng.uniform()
    rotation = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    for d in range(2, dim):
        v = rng.normal(size=(d + 1, 1))
        v = v / np.sqrt(v.T @ v)  # a point on the unit sphere S_d
        e = np.zeros((d + 1, 1))
        e[0, 0] = 1.0
        x = (e - v) / np.sqrt((e - v).T @ (e - v))
        embedded = np.block([[np.ones((1, 1)), np.zeros((1, d))], [np.zeros((d, 1)), rotation]])
        rotation = embedded - 2 * np.outer(x, x.T @ embedded)
    return -rotation  # DeepOBS negates it "to fix the determinant"


def deep_hessian(data_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(Q, its eigenvalues as drawn): R^T diag(eigenvalues) R, symmetrised so that Q (theta - x)
    is exactly the gradient of 0.5 (theta - x)^T Q (theta - x)."""
    rng = np.random.RandomState(DEEPOBS_SEED + data_seed)
    eigenvalues = np.concatenate((rng.uniform(0.0, 1.0, 90), rng.uniform(30.0, 60.0, 10)))
    rotation = random_rotation(DIM, rng)
    hessian = rotation.T @ np.diag(eigenvalues) @ rotation
    return (hessian + hessian.T) / 2, eigenvalues


def training_points(data_seed: int = 0) -> np.ndarray:
    """DeepOBS's training set: x_i ~ N(0, 0.6^2 I), rounded to float32 as DeepOBS stores it."""
    rng = np.random.RandomState(DEEPOBS_SEED + data_seed)
    points = rng.normal(0.0, NOISE_LEVEL, (TRAIN_SIZE, DIM)).astype(np.float32)
    return points.astype(np.float64)


@dataclass(frozen=True)
class NoisyQuadraticFunction:
    """The objective E_x[0.5 (theta - x)^T Q (theta - x)] (what ``train_loss`` logs) and the
    mini-batch gradient of its sample version; the landscape trainer's view of a function."""

    name: str
    hessian: np.ndarray
    constant: float  # 0.5 sigma^2 tr(Q): the expected loss at the minimum theta = 0
    minima: tuple = ()  # no distance_to_min / steps_to_tolerance: the target is on train_loss

    def __call__(self, theta: np.ndarray) -> float:
        return float(0.5 * theta @ self.hessian @ theta) + self.constant

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """The noise-free gradient Q theta."""
        return self.hessian @ theta

    def batch_loss(self, theta: np.ndarray, batch: np.ndarray) -> float:
        """DeepOBS's mini-batch loss: the mean of 0.5 (theta - x_i)^T Q (theta - x_i)."""
        diff = theta - batch
        return float(np.mean(0.5 * np.einsum("bi,ij,bj->b", diff, self.hessian, diff)))

    def batch_grad(self, theta: np.ndarray, batch: np.ndarray) -> np.ndarray:
        """The gradient of ``batch_loss``: Q (theta - mean of the batch's x_i)."""
        return self.hessian @ (theta - batch.mean(axis=0))

    def distance_to_min(self, theta: np.ndarray) -> float:
        return math.inf


@dataclass
class NoisyQuadratic(Surface):
    """The surface of a noisy quadratic: its gradients come from mini-batches of ``points``."""

    points: np.ndarray | None = None  # (TRAIN_SIZE, DIM) training points
    batch_size: int = 128

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.points)}

    def batches(self, seed: int) -> Iterator[np.ndarray]:
        """DeepOBS's order: each epoch a permutation (by ``seed``), full batches only."""
        rng = np.random.default_rng(seed)
        n, size = len(self.points), self.batch_size
        while True:
            order = rng.permutation(n)
            for k in range(n // size):
                yield self.points[order[k * size : (k + 1) * size]]

    def gradients(self, seed: int) -> Callable[[np.ndarray], np.ndarray]:
        batches = self.batches(seed)
        return lambda theta: self.function.batch_grad(theta, next(batches))


def load(cfg: Any, seed: int) -> NoisyQuadratic:
    """DeepOBS's quadratic_deep with ``cfg.data_seed`` (the run's ``seed`` is not used here:
    the trainer draws the batch order with it)."""
    hessian, _ = deep_hessian(cfg.data_seed)
    constant = 0.5 * NOISE_LEVEL**2 * float(np.trace(hessian))
    function = NoisyQuadraticFunction(cfg.name, hessian, constant)
    info = {
        "name": cfg.name,
        "source": "optbench.data.noisy_quadratic (DeepOBS quadratic_deep)",
    }
    # theta starts at (1, ..., 1) as in DeepOBS; no tolerance: the target is on train_loss
    return NoisyQuadratic(
        function,  # the landscape trainer's view of a TestFunction: value, grad, minima
        np.ones(DIM),
        0.0,
        info,
        points=training_points(cfg.data_seed),
        batch_size=cfg.batch_size,
    )
