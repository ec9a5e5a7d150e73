"""scikit-learn's bundled 8x8 digits (1,797 images, pixel values 0-16): works offline."""

from __future__ import annotations

from sklearn.datasets import load_digits

from optbench.data.splits import Splits, split_with_holdout


def load(cfg, seed: int) -> Splits:
    x, y = load_digits(return_X_y=True)
    info = {
        "name": "digits",
        "source": "sklearn.datasets.load_digits",
        "max_value": 16.0,
        "input_shape": (8, 8),
    }
    return split_with_holdout(x, y, cfg, seed, info)
