"""dataset=synthetic (optbench/data/synthetic.py): the problem is fixed by problem_seed and
sized by the config; condition_number 1 leaves the data exactly as before, larger values make
the features' covariance ill-conditioned (its range: tests/test_schema_dataset.py); and the
suite workload built on it (ill_conditioned_logreg) composes and is listed."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import make_classification

from optbench.data import load_dataset
from optbench.data.splits import split_with_holdout
from optbench.data.synthetic import feature_scales
from optbench.schema import validate
from optbench.suite import workloads
from tests.conftest import compose_cfg, run_cli

SMALL = ("dataset=synthetic", "dataset.n_samples=1000", "dataset.n_features=12")
ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def synthetic(*overrides: str):
    return validate(compose_cfg(*SMALL, *overrides)).dataset


def covariance_condition(x: np.ndarray) -> float:
    return float(np.linalg.cond(np.cov(x, rowvar=False)))


def test_condition_number_1_gives_exactly_the_arrays_of_before():
    cfg = synthetic("dataset.condition_number=1")
    got = load_dataset(cfg, seed=3)
    # the config as it was before the key existed
    without = SimpleNamespace(
        **{k: v for k, v in dataclasses.asdict(cfg).items() if k != "condition_number"}
    )
    before = load_dataset(without, seed=3)
    # and the loader's code before the key: make_classification, then the seeded split
    x, y = make_classification(
        n_samples=1000, n_features=12, n_informative=10, n_redundant=0, n_classes=3,
        class_sep=1.0, random_state=0,
    )  # fmt: skip
    reference = split_with_holdout(x, y, cfg, 3, {})
    for name in ARRAYS:
        assert np.array_equal(getattr(got, name), getattr(before, name)), name
        assert np.array_equal(getattr(got, name), getattr(reference, name)), name
        assert getattr(got, name).dtype == getattr(reference, name).dtype, name


def test_the_knob_scales_feature_j_by_condition_number_to_the_minus_j_over_d_minus_1():
    scales = feature_scales(5, 100.0)
    assert np.allclose(scales, [1.0, 100**-0.25, 0.1, 100**-0.75, 0.01])
    plain = load_dataset(synthetic(), seed=0)
    scaled = load_dataset(synthetic("dataset.condition_number=100"), seed=0)
    assert np.allclose(scaled.x_train, plain.x_train * feature_scales(12, 100.0))
    assert np.array_equal(scaled.y_train, plain.y_train)  # same examples, same split


def test_feature_scales_run_from_1_down_to_1_over_the_condition_number():
    np.testing.assert_allclose(feature_scales(2, 10.0), [1.0, 0.1], rtol=1e-15)
    scales = feature_scales(7, 1e3)
    assert scales[0] == 1.0 and scales.max() / scales.min() == pytest.approx(1e3, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log(scales)), -np.log(1e3) / 6, rtol=1e-12)  # even in log
    assert np.array_equal(feature_scales(20, 1.0), np.ones(20))  # 1: nothing rescaled


def test_the_problem_is_split_into_test_then_validation_and_described():
    splits = load_dataset(synthetic("dataset.n_informative=5", "dataset.n_classes=4"), seed=0)
    # 20% of 1000 held out for test, then 20% of the 800 left for validation
    assert splits.sizes() == {"train": 640, "val": 160, "test": 200}
    assert splits.x_train.shape == (640, 12) and splits.n_classes == 4
    assert splits.info == {
        "name": "synthetic",
        "source": "sklearn.datasets.make_classification",
        "input_shape": (12,),
        "n_classes": 4,
    }


def test_covariance_condition_number_grows_with_the_knob():
    conds = {
        c: covariance_condition(load_dataset(synthetic(f"dataset.condition_number={c}"), 0).x_train)
        for c in (1, 10, 100)
    }
    assert conds[1] < conds[10] < conds[100]
    assert conds[100] >= 100 * conds[1]


def dataset_cfg(*overrides):
    """The validated dataset settings, without the runner's preflight file check: these tests
    exercise the loaders' own errors (tests/test_preflight.py covers the preflight)."""
    return validate(compose_cfg(*overrides)).dataset


def all_examples(splits) -> list[tuple[bytes, int]]:
    """Every (features, label) pair of train, val and test, in a split-independent order."""
    x = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    y = np.concatenate([splits.y_train, splits.y_val, splits.y_test])
    return sorted(zip(map(bytes, x), y.tolist(), strict=True))


def test_synthetic_problem_is_fixed_by_problem_seed_and_sized_by_config():
    sized = (
        "dataset=synthetic",
        "dataset.n_samples=1000",
        "dataset.n_features=8",
        "dataset.n_informative=4",
        "dataset.n_classes=4",
    )
    cfg = dataset_cfg(*sized, "dataset.problem_seed=3")
    splits = load_dataset(cfg, seed=0)
    assert splits.x_train.shape[1] == 8 and splits.n_classes == 4
    assert sum(splits.sizes().values()) == 1000
    # another run seed deals the same 1000 examples into different splits
    reseeded = load_dataset(cfg, seed=1)
    assert not np.array_equal(splits.x_train, reseeded.x_train)
    assert all_examples(reseeded) == all_examples(splits)
    # another problem seed is another problem, whatever the run seed
    other = load_dataset(dataset_cfg(*sized, "dataset.problem_seed=4"), seed=0)
    assert not set(all_examples(other)) & set(all_examples(splits))


def test_the_workload_composes_unstandardised_and_is_listed(tmp_path):
    cfg = compose_cfg("+workload=ill_conditioned_logreg")
    settings = validate(cfg)
    assert settings.dataset.name == "synthetic" and settings.dataset.condition_number == 100
    assert settings.model.name == "logreg" and settings.model.input_scaling == "none"
    w = workloads.of_config("ill_conditioned_logreg", cfg)
    assert (w.metric, w.unit) == ("val_loss", "epochs") and 0 < w.value < 0.69  # < ln 2
    assert w.budget > 0  # value and budget: set by optbench suite --rebuild-baselines
    assert "synthetic" in w.description

    done = run_cli("suite", "--list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "ill_conditioned_logreg" in text and f"{w.target} " in text
