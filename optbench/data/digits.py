"""scikit-learn's bundled 8x8 digits (1,797 images, pixel values 0-16): works offline."""

from __future__ import annotations

from sklearn.datasets import load_digits

from optbench.data.splits import Splits, split_pool, split_test


def load(cfg, seed: int) -> Splits:
    x, y = load_digits(return_X_y=True)
    x_pool, y_pool, x_test, y_test = split_test(x, y, test_fraction=cfg.test_fraction, seed=seed)
    info = {
        "name": "digits",
        "source": "sklearn.datasets.load_digits",
        "max_value": 16.0,
        "input_shape": (8, 8),
    }
    return split_pool(
        x_pool,
        y_pool,
        x_test,
        y_test,
        val_fraction=cfg.val_fraction,
        subset=cfg.subset,
        seed=seed,
        info=info,
    )
