"""optbench.data.splits on small labelled arrays: exact split sizes and class counts
(stratified), disjointness, seeding, the subsample rules, and scaling statistics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from optbench.data.splits import (
    Splits,
    scale,
    split_pool,
    split_with_holdout,
    stratified_take,
    subsample,
)


def labels(*counts: int) -> np.ndarray:
    """Class i repeated counts[i] times, interleaved by a fixed shuffle."""
    y = np.concatenate([np.full(n, i) for i, n in enumerate(counts)])
    return np.random.default_rng(42).permutation(y)


def features(y: np.ndarray) -> np.ndarray:
    """Row i is (i, label): each row says where it came from."""
    return np.stack([np.arange(len(y)), y], axis=1)


def test_splits_record_sizes_and_classes():
    s = Splits(
        np.zeros((5, 2)), np.zeros(5), np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(2)
    )
    assert s.sizes() == {"train": 5, "val": 3, "test": 2}
    assert s.info == {}
    s.info["n_classes"] = 7.0
    assert s.n_classes == 7 and isinstance(s.n_classes, int)


@pytest.mark.parametrize(("size", "taken"), [(0.25, 25), (40, 40), (40.0, 40), (0.5, 50)])
def test_stratified_take_a_fraction_or_a_count_per_class(size, taken):
    y = labels(60, 40)
    take, rest = stratified_take(y, size, seed=0)
    assert len(take) == taken and len(rest) == 100 - taken
    assert np.all(np.diff(take) > 0) and np.all(np.diff(rest) > 0)  # sorted, no repeats
    assert sorted([*take, *rest]) == list(range(100))  # a partition of the indices
    assert np.bincount(y[take]).tolist() == [taken * 6 // 10, taken * 4 // 10]


def test_a_size_above_1_is_a_count_even_as_a_float():
    y = labels(60, 40)
    take, _ = stratified_take(y, 2.0, seed=0)  # two samples, not 200 %
    assert np.bincount(y[take], minlength=2).tolist() == [1, 1]


def test_stratified_take_is_seeded():
    y = labels(30, 30, 30)
    first, _ = stratified_take(y, 0.2, seed=1)
    np.testing.assert_array_equal(first, stratified_take(y, 0.2, seed=1)[0])
    assert not np.array_equal(first, stratified_take(y, 0.2, seed=2)[0])


def test_subsample_keeps_everything_for_none_one_or_too_large():
    y = labels(6, 4)
    x = features(y)
    for size in (None, 1, 1.0, 10, 11):
        kept_x, kept_y = subsample(x, y, size, seed=0)
        assert kept_x is x and kept_y is y


@pytest.mark.parametrize(("size", "n"), [(5, 5), (0.5, 5), (8, 8), (0.3, 3)])
def test_subsample_takes_a_stratified_count_or_fraction(size, n):
    y = labels(60, 40)[:10]
    x = features(y)
    kept_x, kept_y = subsample(x, y, size, seed=0)
    assert len(kept_y) == n
    np.testing.assert_array_equal(kept_x[:, 1], kept_y)  # rows stay with their labels
    np.testing.assert_array_equal(kept_x[:, 0], np.sort(kept_x[:, 0]))
    assert set(np.unique(kept_y)) == set(np.unique(y))  # both classes kept


def test_split_pool_carves_validation_from_the_pool_only():
    y = labels(60, 40)
    x = features(y)
    x_test, y_test = np.array([[100, 3], [101, 0]]), np.array([3, 0])
    info = {"name": "toy"}
    s = split_pool(x, y, x_test, y_test, val_fraction=0.2, subset=None, seed=0, info=info)
    assert s.sizes() == {"train": 80, "val": 20, "test": 2}
    assert np.bincount(s.y_val).tolist() == [12, 8] and np.bincount(s.y_train).tolist() == [48, 32]
    assert set(s.x_train[:, 0]).isdisjoint(s.x_val[:, 0])
    np.testing.assert_array_equal(s.x_train[:, 1], s.y_train)
    np.testing.assert_array_equal(s.x_val[:, 1], s.y_val)
    assert s.x_test is x_test and s.y_test is y_test
    # the test split's label 3 counts; the caller's dict is copied, not changed
    assert s.info == {"name": "toy", "n_classes": 4} and info == {"name": "toy"}
    only_zero = split_pool(x, y, x[:1], y[:1] * 0, val_fraction=0.2, subset=None, seed=0, info={})
    assert only_zero.n_classes == 2  # the pool's labels 0 and 1


def test_split_pool_subsamples_before_the_validation_split():
    y = labels(60, 40)
    x = features(y)
    s = split_pool(x, y, x[:1], y[:1], val_fraction=0.25, subset=40, seed=3, info={})
    assert s.sizes() == {"train": 30, "val": 10, "test": 1}
    assert np.bincount(s.y_val).tolist() == [6, 4]
    s = split_pool(x, y, x[:1], y[:1], val_fraction=0.25, subset=0.5, seed=3, info={})
    assert s.sizes() == {"train": 37, "val": 13, "test": 1}
    seeded = split_pool(x, y, x[:1], y[:1], val_fraction=0.25, subset=0.5, seed=3, info={})
    np.testing.assert_array_equal(s.x_train, seeded.x_train)


def test_split_with_holdout_sizes_stratification_and_disjointness():
    y = labels(90, 60, 50)
    x = features(y)
    cfg = SimpleNamespace(test_fraction=0.25, val_fraction=0.2, subset=None)
    s = split_with_holdout(x, y, cfg, seed=0, info={"name": "toy"})
    assert s.sizes() == {"train": 120, "val": 30, "test": 50}
    # 25 % of 90 / 60 / 50 is 22.5 / 15 / 12.5: scikit-learn rounds to 23 / 15 / 12
    assert np.bincount(s.y_test).tolist() == [23, 15, 12]
    assert np.bincount(s.y_val).tolist() == [13, 9, 8]  # 20 % of the 67 / 45 / 38 left
    assert np.bincount(s.y_train).tolist() == [54, 36, 30]
    ids = [set(part[:, 0]) for part in (s.x_train, s.x_val, s.x_test)]
    assert sum(map(len, ids)) == 200 and set.union(*ids) == set(range(200))
    assert s.info == {"name": "toy", "n_classes": 3}
    cfg.subset = 100
    small = split_with_holdout(x, y, cfg, seed=0, info={})
    assert small.sizes() == {"train": 80, "val": 20, "test": 50}  # the test split stays whole
    np.testing.assert_array_equal(small.x_test, s.x_test)
    other = split_with_holdout(x, y, cfg, seed=1, info={})
    assert not np.array_equal(other.x_test, s.x_test)


def test_split_with_holdout_seeds_every_split():
    """The seed fixes the held-out test split, the subsample and the validation split."""
    y = labels(90, 60, 50)
    x = features(y)
    cfg = SimpleNamespace(test_fraction=0.25, val_fraction=0.2, subset=100)
    first, again = (split_with_holdout(x, y, cfg, seed=4, info={}) for _ in range(2))
    for a, b in zip(
        (first.x_train, first.x_val, first.x_test),
        (again.x_train, again.x_val, again.x_test),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    other = split_with_holdout(x, y, cfg, seed=5, info={})
    assert not np.array_equal(other.x_val, first.x_val)


def image_splits(info=None):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 200, (6, 2, 2)).astype(np.uint8)
    train[:, 0, 0] = 7  # a constant pixel: std 0
    val = rng.integers(0, 200, (3, 2, 2)).astype(np.uint8)
    test = rng.integers(0, 200, (2, 2, 2)).astype(np.uint8)
    return Splits(train, np.arange(6), val, np.arange(3), test, np.arange(2), info or {})


def test_scale_raw_keeps_the_arrays():
    splits = image_splits()
    assert scale(splits, "raw") is splits


def test_scale_standard_with_training_statistics():
    splits = image_splits({"name": "img"})
    out = scale(splits, "standard")
    train = splits.x_train.reshape(6, 4).astype(np.float64)
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[0] = 1.0  # the constant pixel is centred, not divided by 0
    for raw, scaled in ((splits.x_train, out.x_train), (splits.x_val, out.x_val)):
        assert scaled.dtype == np.float32 and scaled.shape == (len(raw), 4)
        np.testing.assert_allclose(scaled, (raw.reshape(len(raw), 4) - mean) / std, rtol=1e-5)
    np.testing.assert_allclose(out.x_test, (splits.x_test.reshape(2, 4) - mean) / std, rtol=1e-5)
    assert np.all(out.x_train[:, 0] == 0)
    assert out.y_train is splits.y_train and out.y_val is splits.y_val
    assert out.y_test is splits.y_test and out.info is splits.info


def test_scale_unit_divides_by_the_declared_or_the_observed_peak():
    splits = image_splits({"max_value": 255})
    out = scale(splits, "unit")
    np.testing.assert_allclose(out.x_val, splits.x_val.reshape(3, 4) / 255.0, rtol=1e-6)
    observed = scale(image_splits(), "unit")
    peak = float(image_splits().x_train.max())
    np.testing.assert_allclose(
        observed.x_test, image_splits().x_test.reshape(2, 4) / peak, rtol=1e-6
    )
    zeros = Splits(np.zeros((2, 3)), np.arange(2), np.ones((1, 3)), [0], np.ones((1, 3)), [0])
    np.testing.assert_array_equal(scale(zeros, "unit").x_val, np.ones((1, 3)))  # peak 0 -> 1


def test_splits_scaled_is_scale():
    splits = image_splits({"max_value": 255})
    assert splits.scaled("raw") is splits
    for how in ("standard", "unit", "none"):
        ours, theirs = splits.scaled(how), scale(splits, how)
        for a, b in zip(
            (ours.x_train, ours.x_val, ours.x_test),
            (theirs.x_train, theirs.x_val, theirs.x_test),
            strict=True,
        ):
            np.testing.assert_array_equal(a, b)


def test_scale_none_only_flattens_to_float32():
    splits = image_splits()
    out = scale(splits, "none")
    assert out.x_train.dtype == np.float32
    np.testing.assert_array_equal(out.x_train, splits.x_train.reshape(6, 4))
    np.testing.assert_array_equal(out.x_test, splits.x_test.reshape(2, 4))
