"""2-D test functions as datasets (optbench/data/surfaces.py): the surface a landscape run walks,
where it starts (jittered by seed only when start_noise > 0), and the parts of the ``Splits``
interface that a surface has nothing for (classes, sizes, scaling)."""

from __future__ import annotations

import numpy as np

from optbench.data.surfaces import Surface, load
from optbench.optim.functions import FUNCTIONS
from optbench.schema import validate
from tests.conftest import compose_cfg


def test_a_function_dataset_is_its_surface_its_start_and_its_tolerance():
    cfg = validate(compose_cfg("dataset=beale", "dataset.start=[-1,2]")).dataset
    surface = load(cfg, seed=5)
    assert surface.function is FUNCTIONS["beale"]
    assert surface.start.dtype == np.float64 and surface.start.tolist() == [-1.0, 2.0]
    assert surface.tolerance == cfg.tolerance == 0.01
    assert surface.info == {"name": "beale", "source": "optbench.optim.functions:beale"}


def test_the_start_moves_by_a_seeded_gaussian_of_start_noise():
    noisy = validate(compose_cfg("dataset=beale", "dataset.start_noise=0.1")).dataset
    documented = np.array([1.0, 1.5])  # conf/dataset/beale.yaml
    np.testing.assert_array_equal(load(noisy, seed=1).start, load(noisy, seed=1).start)
    assert not np.allclose(load(noisy, seed=1).start, load(noisy, seed=2).start)
    offsets = np.array([load(noisy, seed=s).start - documented for s in range(200)])
    assert abs(offsets.mean()) < 0.03 and 0.08 < offsets.std() < 0.12  # scale: start_noise
    exact = validate(compose_cfg("dataset=beale")).dataset  # start_noise 0: the seed is unused
    assert load(exact, seed=0).start.tolist() == load(exact, seed=2).start.tolist() == [1.0, 1.5]


def test_a_surface_has_no_classes_no_sizes_and_nothing_to_scale():
    surface = Surface(FUNCTIONS["rosenbrock"], np.array([-1.5, 2.0]), 1e-2)
    assert surface.n_classes is None and surface.sizes() == {} and surface.info == {}
    assert surface.scaled("standard") is surface


def test_its_gradients_are_the_exact_ones_whatever_the_seed():
    surface = Surface(FUNCTIONS["rosenbrock"], np.array([-1.5, 2.0]), 1e-2)
    point = np.array([0.5, 0.5])
    for seed in (0, 1):
        # d/dx (1 - x)^2 + 100 (y - x^2)^2 = -2 (1 - x) - 400 x (y - x^2); d/dy = 200 (y - x^2)
        np.testing.assert_allclose(surface.gradients(seed)(point), [-51.0, 50.0], rtol=1e-12)
