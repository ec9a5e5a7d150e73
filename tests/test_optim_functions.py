"""The 2-D test functions: gradients agree with finite differences, and the known minima are
minima (zero gradient, lowest value nearby)."""

import numpy as np
import pytest

from optbench.optim.functions import FUNCTIONS
from optbench.optim.reference import RULES, ReferenceOptimizer

KNOWN_MINIMUM_VALUE = {
    "rosenbrock": 0.0,
    "beale": 0.0,
    "himmelblau": 0.0,
    "rastrigin": 0.0,
    "ill_conditioned_quadratic": 0.0,
    "six_hump_camel": -1.0316,
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_gradient_matches_central_differences(name):
    f = FUNCTIONS[name]
    rng = np.random.default_rng(1)
    (x0, x1), (y0, y1) = f.bounds
    h = 1e-6
    for _ in range(20):
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        numeric = np.array([(f(p + h * e) - f(p - h * e)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(f.grad(p), numeric, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if FUNCTIONS[n].minima])
def test_known_minima_are_minima(name):
    f = FUNCTIONS[name]
    for m in f.minima:
        p = np.array(m)
        assert f(p) == pytest.approx(KNOWN_MINIMUM_VALUE[name], abs=1e-4)
        assert np.linalg.norm(f.grad(p)) < 5e-3
        ring = [p + 1e-2 * np.array([np.cos(a), np.sin(a)]) for a in np.linspace(0, 6.28, 16)]
        assert all(f(q) >= f(p) - 1e-9 for q in ring)
        assert f.distance_to_min(p) == 0.0


def test_saddle_has_no_minimum_and_its_origin_is_flat():
    f = FUNCTIONS["saddle"]
    assert f.minima == () and f.distance_to_min(np.zeros(2)) == float("inf")
    np.testing.assert_allclose(f.grad(np.zeros(2)), [0.0, 0.0])


def test_adam_reaches_rosenbrocks_minimum_from_the_classic_start():
    f = FUNCTIONS["rosenbrock"]
    p = np.array(f.start)
    opt = ReferenceOptimizer(RULES["adam"](), learning_rate=0.02)
    for _ in range(5000):
        (p,) = opt.apply([f.grad(p)], [p])
    assert f.distance_to_min(p) < 1e-2
