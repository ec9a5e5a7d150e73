"""scikit-learn's bundled 8x8 digits (optbench/data/digits.py), loaded offline: all 1,797
images dealt into test, validation and training splits by the config's fractions, and
described for the runner (pixel range 0-16, the image shape the CNN reshapes to)."""

from __future__ import annotations

import numpy as np

from optbench.data import digits
from optbench.schema import validate
from tests.conftest import compose_cfg


def settings(*overrides: str):
    return validate(compose_cfg("dataset=digits", *overrides)).dataset


def test_the_default_split_holds_out_a_quarter_then_a_fifth_of_the_rest():
    splits = digits.load(settings(), seed=0)
    # 1797 images: 450 for test (25%, rounded up), 270 of the 1347 left for validation (20%)
    assert splits.sizes() == {"train": 1077, "val": 270, "test": 450}
    assert splits.x_train.shape == (1077, 64) and splits.x_train.dtype == np.float64


def test_the_fractions_come_from_the_config():
    splits = digits.load(settings("dataset.test_fraction=0.5", "dataset.val_fraction=0.1"), 0)
    assert splits.sizes() == {"train": 808, "val": 90, "test": 899}
    assert sum(splits.sizes().values()) == 1797


def test_the_info_gives_the_pixel_range_and_the_image_shape():
    splits = digits.load(settings(), seed=0)
    assert splits.info == {
        "name": "digits",
        "source": "sklearn.datasets.load_digits",
        "max_value": 16.0,
        "input_shape": (8, 8),
        "n_classes": 10,
    }
    pixels = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    assert (pixels.min(), pixels.max()) == (0.0, 16.0)
