"""Schemas of the dataset group (conf/dataset/): the common split settings, each dataset
family's own, and the 2-D test functions that model=landscape walks on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from optbench.constraints import (
    FRACTION,
    Interval,
    OneOf,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.errors import OptbenchError


@dataclass
class TargetConfig:
    """A result to reach: logs steps_to_target, epochs_to_target, time_to_target_s."""

    metric: str = constrained(
        "val_accuracy", OneOf(("val_accuracy", "val_loss", "train_accuracy", "train_loss"))
    )
    value: float = MISSING


@dataclass
class DatasetConfig:
    name: str = MISSING
    target: TargetConfig | None = None
    data_dir: str | None = None  # None: $OPTBENCH_DATA_DIR, else the Keras cache ~/.keras/datasets
    val_fraction: float = constrained(0.2, FRACTION)
    # Training samples to keep: a count (> 1) or a fraction (<= 1); null keeps all.
    subset: float | None = positive(None, nullable=True)
    # Fixes the subset and the train/validation/test split: a suite workload sets it, so that
    # its target is measured on one validation set and ``seed`` moves only the initialisation
    # and the batch order. null: the run's ``seed`` moves the split too.
    data_seed: int | None = non_negative(None, nullable=True)

    def check(self) -> None:
        if self.subset is not None and self.subset > 1 and self.subset != int(self.subset):
            raise OptbenchError(
                f"dataset.subset={self.subset!r} is not allowed: must be a whole number of "
                "samples (> 1) or a fraction in (0, 1]."
            )


@dataclass
class DigitsConfig(DatasetConfig):
    test_fraction: float = constrained(0.25, FRACTION)


@dataclass
class SyntheticConfig(DatasetConfig):
    n_samples: int = constrained(5000, Interval(20, None, integer=True))
    n_features: int = constrained(20, Interval(2, None, integer=True))
    n_informative: int = positive_int(10)
    n_classes: int = constrained(3, Interval(2, None, integer=True))
    class_sep: float = positive(1.0)
    problem_seed: int = non_negative(0)  # fixes the problem; the run's seed only moves the splits
    # Ill-conditioning: feature j (of d) is multiplied by condition_number ** (-j / (d - 1)),
    # so the feature scales span a ratio of exactly condition_number and the feature
    # covariance's condition number grows by up to condition_number**2 (~ that much: the
    # generated features are near-isotropic). 1.0: the data exactly as without it.
    condition_number: float = constrained(1.0, Interval(1, None))
    test_fraction: float = constrained(0.2, FRACTION)

    def check(self) -> None:
        super().check()
        if self.n_informative > self.n_features:
            raise OptbenchError(
                f"dataset.n_informative={self.n_informative} is not allowed: must be <= "
                f"dataset.n_features={self.n_features}."
            )
        if not math.isfinite(self.condition_number):
            raise OptbenchError(
                f"dataset.condition_number={self.condition_number!r} is not allowed: must be a "
                "finite number >= 1."
            )
        if self.n_classes > 2**self.n_informative:
            raise OptbenchError(
                f"dataset.n_classes={self.n_classes} is not allowed: needs n_classes <= "
                f"2**n_informative = {2**self.n_informative}."
            )


@dataclass
class MnistConfig(DatasetConfig):
    download: bool = True  # fetch Keras's mnist.npz (sha256-checked) when no local copy exists


CIFAR10_CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def cifar10_class_ids(classes: list) -> list[int]:
    """Class names or ids -> ids (names as in CIFAR10_CLASS_NAMES). Here, not in the loader,
    so that validating dataset.classes imports no data code."""
    ids = []
    for c in classes:
        if isinstance(c, str) and not c.isdigit():
            if c not in CIFAR10_CLASS_NAMES:
                raise OptbenchError(
                    f"dataset.classes: {c!r} is not a CIFAR-10 class; classes are "
                    f"{', '.join(CIFAR10_CLASS_NAMES)} (or ids 0-9)."
                )
            ids.append(CIFAR10_CLASS_NAMES.index(c))
        else:
            ids.append(int(c))
    return ids


@dataclass
class Cifar10Config(DatasetConfig):
    download: bool = True  # fetch the official tarball (sha256-checked) when no local copy exists
    train_npz: str | None = None  # .npz with x (N,32,32,3 uint8) and y, instead of the batches
    test_npz: str | None = None  # its test set; null with train_npz: hold out test_fraction
    test_fraction: float = constrained(0.2, FRACTION)
    test_subset: float | None = positive(None, nullable=True)  # a count (> 1) or fraction
    classes: list[Any] | None = None  # class names or ids to keep (relabelled 0..k-1)
    # model.weights per backbone that +experiment=transfer_learning uses on this data (null:
    # random init); a backbone not named gets Keras's ImageNet weights
    backbone_weights: dict[str, str | None] = field(default_factory=dict)

    def check(self) -> None:
        super().check()
        if self.classes is not None:
            ids = cifar10_class_ids(self.classes)
            if len(set(ids)) != len(ids) or len(ids) < 2 or not all(0 <= i < 10 for i in ids):
                raise OptbenchError(
                    f"dataset.classes={list(self.classes)} is not allowed: must name at least "
                    "two different classes (ids 0-9 or names)."
                )


@dataclass
class FunctionConfig:
    """A 2-D test function as the loss surface (model=landscape). Its YAML also sets the step
    budget (trainer.max_iter) and turns early stopping off, so whole trajectories are kept."""

    name: str = MISSING
    start: list[float] = field(default_factory=lambda: [0.0, 0.0])
    start_noise: float = non_negative(0.0)  # std of a Gaussian jitter of the start, by seed
    tolerance: float = positive(1e-2)  # distance to the nearest minimum that counts as reached
    lr: dict[str, float] = field(default_factory=dict)  # recommended lr per optimizer name

    def check(self) -> None:
        if len(self.start) != 2:
            raise OptbenchError(
                f"dataset.start={self.start} is not allowed: must be a point [x, y]."
            )


@dataclass
class NoisyQuadraticConfig:
    """DeepOBS's quadratic_deep, a 100-D noisy quadratic (model=landscape, mini-batch
    gradients; optbench/data/noisy_quadratic.py). ``data_seed`` fixes the Hessian and the
    training points (0: DeepOBS's own); the run's ``seed`` moves only the batch order."""

    name: str = MISSING
    target: TargetConfig | None = None  # on train_loss, the noise-free objective
    data_seed: int = non_negative(0)
    # points per mini-batch, of the 1000 training points (DeepOBS: 128)
    batch_size: int = constrained(128, Interval(1, 1000, integer=True))
    lr: dict[str, float] = field(default_factory=dict)  # recommended lr per optimizer name


SCHEMAS: dict[str, type] = {
    "digits": DigitsConfig,
    "synthetic": SyntheticConfig,
    "mnist": MnistConfig,
    "cifar10": Cifar10Config,
    "function": FunctionConfig,
    "noisy_quadratic": NoisyQuadraticConfig,
}
