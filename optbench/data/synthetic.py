"""A seeded make_classification problem whose size is set from the config."""

from __future__ import annotations

from sklearn.datasets import make_classification

from optbench.data.splits import Splits, split_with_holdout


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
    info = {
        "name": "synthetic",
        "source": "sklearn.datasets.make_classification",
        "input_shape": (cfg.n_features,),
    }
    return split_with_holdout(x, y, cfg, seed, info)
