"""2-D test functions as datasets: the 'data' of a landscape run is its loss surface and
where the optimizer starts on it, with the interface of ``Splits`` that the runner uses (an
n-D noisy one: optbench/data/noisy_quadratic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optbench.optim.functions import FUNCTIONS, TestFunction


@dataclass
class Surface:
    function: TestFunction
    start: np.ndarray  # float64, shape (2,)
    tolerance: float  # distance to the nearest minimum that counts as reached
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> None:
        """No classes: no chance-level loss to measure divergence against."""
        return None

    def sizes(self) -> dict[str, int]:
        return {}

    def scaled(self, how: str) -> Surface:
        """A surface has no inputs to scale."""
        return self

    def gradients(self, seed: int) -> Callable[[np.ndarray], np.ndarray]:
        """The gradient the optimizer gets at a point: exact here (``seed`` unused); a noisy
        surface's draws mini-batches in an order ``seed`` fixes (data/noisy_quadratic.py)."""
        return self.function.grad


def load(cfg: Any, seed: int) -> Surface:
    """The function named ``cfg.name``, starting at ``cfg.start`` (jittered by ``seed`` when
    ``cfg.start_noise`` > 0)."""
    start = np.array(cfg.start, dtype=np.float64)
    if cfg.start_noise > 0:
        start = start + np.random.default_rng(seed).normal(0.0, cfg.start_noise, size=2)
    info = {"name": cfg.name, "source": f"optbench.optim.functions:{cfg.name}"}
    return Surface(FUNCTIONS[cfg.name], start, cfg.tolerance, info)
