"""Loading a dataset by name (optbench/data/__init__.py): seeded stratified splits, subsets,
scaling with the training statistics. Each loader's own files and errors are tested in
tests/test_data_<loader>.py."""

import numpy as np
import pytest

from optbench.data import load_dataset
from optbench.data.splits import scale
from optbench.schema import validate
from tests.conftest import compose_cfg


def dataset_cfg(*overrides):
    """The validated dataset settings, without the runner's preflight file check: these tests
    exercise the loaders' own errors (tests/test_preflight.py covers the preflight)."""
    return validate(compose_cfg(*overrides)).dataset


def test_digits_splits_are_stratified_seeded_and_disjoint():
    splits = load_dataset(dataset_cfg(), seed=0)
    assert splits.n_classes == 10  # the split sizes: tests/test_data_digits.py
    # stratified: every split has every class in about the same proportion
    for y in (splits.y_train, splits.y_val, splits.y_test):
        counts = np.bincount(y, minlength=10) / len(y)
        assert np.all(np.abs(counts - 0.1) < 0.02)
    again = load_dataset(dataset_cfg(), seed=0)
    other = load_dataset(dataset_cfg(), seed=1)
    np.testing.assert_array_equal(splits.x_train, again.x_train)
    assert not np.array_equal(splits.x_train, other.x_train)
    rows = {tuple(r) for r in splits.x_train} & {tuple(r) for r in splits.x_test}
    assert len(rows) < 5  # the digits set has a handful of duplicate images, nothing more


@pytest.mark.parametrize(("subset", "expected_pool"), [(500, 500), (0.5, 674)])
def test_subset_takes_a_count_or_a_fraction_of_the_training_pool(subset, expected_pool):
    splits = load_dataset(dataset_cfg(f"dataset.subset={subset}"), seed=0)
    assert len(splits.y_train) + len(splits.y_val) == expected_pool
    assert len(splits.y_test) == 450  # the test split is never subsampled


def test_standard_scaling_uses_training_statistics_only():
    splits = scale(load_dataset(dataset_cfg(), seed=0), "standard")
    assert splits.x_train.dtype == np.float32
    np.testing.assert_allclose(splits.x_train.mean(axis=0), 0, atol=1e-5)
    assert abs(splits.x_val.mean()) > 1e-4  # val is transformed with train's mean, not its own
