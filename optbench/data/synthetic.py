"""A seeded make_classification problem whose size is set from the config, optionally made
ill-conditioned by rescaling its features (``condition_number``)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification

from optbench.data.splits import Splits, split_with_holdout


def feature_scales(n_features: int, condition_number: float) -> np.ndarray:
    """The factor each feature is multiplied by: feature j of d gets
    ``condition_number ** (-j / (d - 1))``, from 1 (the first) down to 1 / condition_number
    (the last), evenly spaced in log. The scales' ratio, max / min, is exactly
    ``condition_number``, so the feature covariance's condition number grows by up to
    ``condition_number**2``. Which generated features are informative is already shuffled by
    make_classification (with the problem seed), so no seed is needed here."""
    j = np.arange(n_features)
    return float(condition_number) ** (-j / (n_features - 1))


def load(cfg, seed: int) -> Splits:
    x, y = make_classification(
        n_samples=cfg.n_samples,
        n_features=cfg.n_features,
        n_informative=cfg.n_informative,
        n_redundant=0,
        n_classes=cfg.n_classes,
        class_sep=cfg.class_sep,
        random_state=cfg.problem_seed,  # fixed problem; the run's seed only moves the splits
    )
    # a config without the key (logged before it existed) is the unscaled problem
    condition_number = float(getattr(cfg, "condition_number", None) or 1.0)
    if condition_number != 1.0:
        x = x * feature_scales(cfg.n_features, condition_number)
    info = {
        "name": "synthetic",
        "source": "sklearn.datasets.make_classification",
        "input_shape": (cfg.n_features,),
    }
    return split_with_holdout(x, y, cfg, seed, info)
