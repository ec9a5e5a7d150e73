"""Classic 2-D test surfaces for watching optimizers move: value, analytic gradient, known
minima, and a start point from which they are usually shown."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Point = np.ndarray  # shape (2,)


@dataclass(frozen=True)
class TestFunction:
    __test__ = False  # a test *problem*, not a pytest test class

    name: str
    value: Callable[[float, float], float]
    gradient: Callable[[float, float], tuple[float, float]]
    minima: tuple[tuple[float, float], ...]  # known global minimisers (empty: unbounded)
    start: tuple[float, float]
    bounds: tuple[tuple[float, float], tuple[float, float]]  # plotting window (x, y)

    def __call__(self, p: Point) -> float:
        return self.value(float(p[0]), float(p[1]))

    def grad(self, p: Point) -> Point:
        return np.array(self.gradient(float(p[0]), float(p[1])))

    def distance_to_min(self, p: Point) -> float:
        """Distance to the nearest known minimiser (inf when the function has none)."""
        if not self.minima:
            return math.inf
        return min(math.dist((float(p[0]), float(p[1])), m) for m in self.minima)


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosenbrock_grad(x, y):
    return (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2))


def _beale_terms(x, y):
    return (1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3)


def _beale(x, y):
    return sum(t**2 for t in _beale_terms(x, y))


def _beale_grad(x, y):
    a, b, c = _beale_terms(x, y)
    return (
        2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
        2 * a * x + 4 * b * x * y + 6 * c * x * y**2,
    )


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(x, y):
    a, b = x**2 + y - 11, x + y**2 - 7
    return (4 * a * x + 2 * b, 2 * a + 4 * b * y)


def _rastrigin(x, y):
    return 20 + x**2 - 10 * np.cos(2 * math.pi * x) + y**2 - 10 * np.cos(2 * math.pi * y)


def _rastrigin_grad(x, y):
    return (
        2 * x + 20 * math.pi * np.sin(2 * math.pi * x),
        2 * y + 20 * math.pi * np.sin(2 * math.pi * y),
    )


def _six_hump_camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _six_hump_camel_grad(x, y):
    return (8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3)


CONDITION = 100.0  # ill_conditioned_quadratic: f = (x^2 + CONDITION y^2) / 2

FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in (
        TestFunction(
            "rosenbrock",
            _rosenbrock,
            _rosenbrock_grad,
            ((1.0, 1.0),),
            (-1.5, 2.0),
            ((-2.0, 2.0), (-1.0, 3.0)),
        ),
        TestFunction(
            "beale", _beale, _beale_grad, ((3.0, 0.5),), (1.0, 1.5), ((-4.5, 4.5), (-4.5, 4.5))
        ),
        TestFunction(
            "himmelblau",
            _himmelblau,
            _himmelblau_grad,
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
            (0.0, 0.0),
            ((-5.0, 5.0), (-5.0, 5.0)),
        ),
        TestFunction(
            "rastrigin",
            _rastrigin,
            _rastrigin_grad,
            ((0.0, 0.0),),
            (2.2, -1.7),
            ((-5.12, 5.12), (-5.12, 5.12)),
        ),
        TestFunction(
            "saddle",
            lambda x, y: x**2 - y**2,
            lambda x, y: (2 * x, -2 * y),
            (),
            (1.0, 1e-3),
            ((-2.0, 2.0), (-2.0, 2.0)),
        ),
        TestFunction(
            "ill_conditioned_quadratic",
            lambda x, y: 0.5 * (x**2 + CONDITION * y**2),
            lambda x, y: (x, CONDITION * y),
            ((0.0, 0.0),),
            (-4.0, 1.0),
            ((-5.0, 5.0), (-1.5, 1.5)),
        ),
        TestFunction(
            "six_hump_camel",
            _six_hump_camel,
            _six_hump_camel_grad,
            ((0.0898, -0.7126), (-0.0898, 0.7126)),
            (-1.5, 1.0),
            ((-2.0, 2.0), (-1.1, 1.1)),
        ),
    )
}
