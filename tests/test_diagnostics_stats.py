"""optbench/diagnostics/stats.py, the per-layer statistics every trainer's probes share, against
NumPy float64 computed here: ``layer_rows``'s norms, distance from initialisation, non-finite
counts and mean update per step, per layer and for the whole model (ALL); ``add_updates``
giving a probe's rows the same update later; and ``noise_rows``'s noise-scale algebra against
the per-example and micro-batch estimators (McCandlish et al., 2018)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optbench.diagnostics.stats import ALL, add_updates, layer_rows, noise_rows


def flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def norm(*arrays: np.ndarray) -> float:
    return float(np.sqrt(sum(np.sum(np.asarray(a, np.float64) ** 2) for a in arrays)))


# two layers: a (3, 2) kernel and its bias, then one vector
RNG = np.random.default_rng(3)
INITIAL = [RNG.normal(0, 1, (3, 2)), RNG.normal(0, 1, 2), RNG.normal(0, 1, 4)]
WEIGHTS = [w + RNG.normal(0, 0.5, w.shape) for w in INITIAL]
GRADS = [RNG.normal(0, 1, w.shape) for w in INITIAL]
AFTER = [w + RNG.normal(0, 0.1, w.shape) for w in WEIGHTS]
NAMED = {"hidden": [0, 1], "out": [2]}


def test_layer_rows_are_the_norms_of_each_layers_arrays_and_of_all_of_them():
    rows = {r["layer"]: r for r in layer_rows(7, NAMED, WEIGHTS, INITIAL, GRADS)}
    assert list(rows) == ["hidden", "out", ALL]
    for name, idx in {**NAMED, ALL: [0, 1, 2]}.items():
        row = rows[name]
        assert row["step"] == 7 and row["nonfinite"] == 0
        assert row["weight_norm"] == pytest.approx(norm(*[WEIGHTS[i] for i in idx]), rel=1e-12)
        assert row["grad_norm"] == pytest.approx(norm(*[GRADS[i] for i in idx]), rel=1e-12)
        assert row["dist_init"] == pytest.approx(
            norm(*[WEIGHTS[i] - INITIAL[i] for i in idx]), rel=1e-12
        )
        assert "update_norm" not in row  # no before/after given


def test_the_update_is_the_mean_change_per_step_over_the_weights_before_it():
    rows = layer_rows(7, NAMED, AFTER, INITIAL, None, WEIGHTS, AFTER, steps_between=4)
    by = {r["layer"]: r for r in rows}
    for name, idx in {**NAMED, ALL: [0, 1, 2]}.items():
        change = norm(*[AFTER[i] - WEIGHTS[i] for i in idx]) / 4
        assert by[name]["update_norm"] == pytest.approx(change, rel=1e-12)
        assert by[name]["update_ratio"] == pytest.approx(
            change / norm(*[WEIGHTS[i] for i in idx]), rel=1e-12
        )
        assert "grad_norm" not in by[name]


def test_add_updates_gives_a_probes_rows_what_layer_rows_would_have():
    later = layer_rows(7, NAMED, WEIGHTS, INITIAL, GRADS)
    add_updates(later, NAMED, WEIGHTS, AFTER, 3)
    at_once = layer_rows(7, NAMED, WEIGHTS, INITIAL, GRADS, WEIGHTS, AFTER, steps_between=3)
    assert later == at_once


def test_nan_and_infinite_entries_are_counted_in_weights_and_gradients():
    weights = [np.array([[1.0, np.nan], [np.inf, 0.0]]), np.array([1.0, 2.0])]
    grads = [np.array([[0.0, 0.0], [-np.inf, 0.0]]), np.array([np.nan, 1.0])]
    with np.errstate(invalid="ignore"):  # inf - inf in the distance from initialisation
        rows = {r["layer"]: r for r in layer_rows(0, {"a": [0], "b": [1]}, weights, weights, grads)}
    assert (rows["a"]["nonfinite"], rows["b"]["nonfinite"], rows[ALL]["nonfinite"]) == (3, 1, 4)


def test_an_update_from_zero_weights_has_no_ratio():
    zero = [np.zeros(3)]
    (row, _) = layer_rows(1, {"w": [0]}, [np.ones(3)], zero, None, zero, [np.ones(3)])
    assert row["update_norm"] == pytest.approx(math.sqrt(3))
    assert math.isnan(row["update_ratio"])


def per_example_gradients(seed: int, n: int) -> list[list[np.ndarray]]:
    """n gradients of two layers (a (3, 2) kernel and its bias; a (2,) vector), around a mean
    well away from 0 (so |G|^2 > 0 is estimated positive)."""
    rng = np.random.default_rng(seed)
    mean = [rng.normal(0, 1, (3, 2)), rng.normal(0, 1, 2), rng.normal(0, 1, 2)]
    return [[m + rng.normal(0, 0.7, m.shape) for m in mean] for _ in range(n)]


LAYERS = {"first": [0, 1], "second": [2]}


def test_noise_rows_with_one_example_per_split_are_the_per_example_estimates():
    """k = n, b = 1: tr(Sigma) is the per-example sample covariance's trace and |G|^2 the
    bias-corrected |mean|^2 - tr(S)/n, so B_simple = tr(S) / (|mean|^2 - tr(S)/n); every
    layer's snr is |mean|^2 / tr(S) over its own parameters."""
    n = 10
    grads = per_example_gradients(0, n)
    rows = noise_rows(3, LAYERS, grads, 1)
    for name, idx in {**LAYERS, ALL: [0, 1, 2]}.items():
        g = np.stack([np.concatenate([np.ravel(e[i]) for i in idx]) for e in grads])
        trace = float(np.trace(np.atleast_2d(np.cov(g, rowvar=False))))  # unbiased (n - 1)
        mean2 = float(np.sum(g.mean(axis=0) ** 2))
        assert rows[name]["snr"] == pytest.approx(mean2 / trace, rel=1e-12), name
        if name == ALL:
            g2 = mean2 - trace / n
            assert g2 > 0
            assert rows[ALL]["noise_scale"] == pytest.approx(trace / g2, rel=1e-12)
            assert rows[ALL]["grad_snr"] == rows[ALL]["snr"]
        else:
            assert set(rows[name]) == {"snr"}


def test_noise_rows_with_micro_batches_follow_mccandlish():
    """k = 4 micro-batches of b = 3 (B = 12), their gradients the means of per-example ones:
    the docstring's |G|^2 = (B |G_B|^2 - b |G_b|^2) / (B - b) and
    tr(Sigma) = (|G_b|^2 - |G_B|^2) / (1/b - 1/B), which are also b tr(S_b) (the micro-batch
    means' sample covariance is Sigma / b) and |G_B|^2 - tr(Sigma)/B."""
    k, b = 4, 3
    examples = per_example_gradients(1, k * b)
    splits = [[np.mean(a, axis=0) for a in zip(*examples[i * b : (i + 1) * b], strict=True)] for i in range(k)]  # fmt: skip
    rows = noise_rows(0, LAYERS, splits, b)
    g = np.stack([flat(s) for s in splits])
    big = k * b
    g_big = float(np.sum(np.mean([flat(e) for e in examples], axis=0) ** 2))  # the whole batch
    g_small = float(np.mean(np.sum(g * g, axis=1)))
    g2 = (big * g_big - b * g_small) / (big - b)
    trace = (g_small - g_big) / (1 / b - 1 / big)
    covariance_trace = float(np.trace(np.cov(g, rowvar=False)))
    assert trace == pytest.approx(b * covariance_trace, rel=1e-12)
    assert g2 == pytest.approx(g_big - trace / big, rel=1e-12)
    assert g2 > 0
    assert rows[ALL]["noise_scale"] == pytest.approx(trace / g2, rel=1e-12)
    assert rows[ALL]["snr"] == pytest.approx(g_big / covariance_trace, rel=1e-12)
    first = g[:, :8]  # the first layer: the (3, 2) kernel and its bias
    assert rows["first"]["snr"] == pytest.approx(
        np.sum(first.mean(axis=0) ** 2) / np.trace(np.cov(first, rowvar=False)), rel=1e-12
    )


def test_noise_scale_is_missing_when_the_signal_estimate_is_not_positive():
    """Micro-batch gradients around 0: |G|^2's estimate is negative, B_simple is NaN."""
    splits = [[np.array([1.0, -2.0])], [np.array([-1.0, 2.0])], [np.array([0.5, 0.0])]]
    row = noise_rows(0, {"only": [0]}, splits, 2)[ALL]
    assert math.isnan(row["noise_scale"]) and row["snr"] > 0


def test_noise_scale_is_zero_without_noise():
    same = [np.array([[0.5, -1.0]]), np.array([2.0])]
    row = noise_rows(0, {"only": [0, 1]}, [same, same, same], 4)[ALL]
    assert row["noise_scale"] == 0.0 and math.isnan(row["snr"])  # no spread: no ratio
