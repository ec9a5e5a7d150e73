"""optbench.report.stats, number by number: bootstrap intervals against scipy.stats.bootstrap
(the same percentile method fed the same seeded generator gives the same interval), noise
flags on cases whose intervals are known exactly, crossings, targets and Dolan-More profiles
computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from optbench.report.stats import (
    BOOTSTRAP_SAMPLES,
    ONE_SEED,
    bootstrap_ci,
    crossing,
    derived_target,
    difference_ci,
    higher_is_better,
    performance_profile,
    profile,
    ratios_to_best,
    seed_summary,
)

VALUES = [0.90, 0.91, 0.92, 0.93, 0.97]


def scipy_ci(samples, statistic, level=0.95, n=BOOTSTRAP_SAMPLES, seed=0):
    result = scipy_stats.bootstrap(
        tuple(np.asarray(s, dtype=float) for s in samples),
        statistic,
        n_resamples=n,
        method="percentile",
        confidence_level=level,
        rng=np.random.default_rng(seed),
        vectorized=True,
    )
    return result.confidence_interval.low, result.confidence_interval.high


def mean(x, axis=-1):
    return np.mean(x, axis=axis)


def mean_difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def test_higher_is_better_only_for_accuracies():
    assert higher_is_better("val_accuracy") and higher_is_better("train_accuracy")
    assert not higher_is_better("val_loss") and not higher_is_better("time_s")


@pytest.mark.parametrize(
    ("level", "samples", "seed"), [(0.95, BOOTSTRAP_SAMPLES, 0), (0.8, 500, 3), (0.5, 100, 7)]
)
def test_bootstrap_ci_is_scipys_percentile_interval(level, samples, seed):
    ours = bootstrap_ci(VALUES, level=level, samples=samples, seed=seed)
    assert ours == pytest.approx(scipy_ci([VALUES], mean, level, samples, seed), rel=1e-12)


def test_float32_values_are_averaged_in_float64():
    """Metrics read back as float32 give the same intervals as their float64 values."""
    single = np.array([0.1, 0.2, 0.7, 0.3], dtype=np.float32)
    double = single.astype(np.float64)
    assert bootstrap_ci(single) == bootstrap_ci(double)
    assert difference_ci(single, double[::-1] / 3) == difference_ci(double, double[::-1] / 3)
    assert difference_ci(double[::-1] / 3, single) == difference_ci(double[::-1] / 3, double)
    runs = runs_frame("val_loss", [("a", [0.1, 0.2, 0.7]), ("b", [0.3, 0.9])])
    as_float32 = runs.astype({"val_loss": np.float32})
    ours = seed_summary(as_float32, "val_loss", BY, WITHIN)
    expected = seed_summary(as_float32.astype({"val_loss": np.float64}), "val_loss", BY, WITHIN)
    pd.testing.assert_frame_equal(ours, expected, check_exact=True)


def test_bootstrap_ci_defaults_and_small_samples():
    assert bootstrap_ci(VALUES) == pytest.approx((0.908, 0.95), rel=1e-12)  # 95 %, 2000, seed 0
    assert bootstrap_ci(VALUES) == bootstrap_ci(VALUES, 0.95, 2000, 0)
    assert bootstrap_ci([0.25]) == (0.25, 0.25)  # one value: no spread to resample
    low, high = bootstrap_ci([])
    assert math.isnan(low) and math.isnan(high)
    assert bootstrap_ci([1.0, 3.0], level=0.0, samples=1000) == (2.0, 2.0)  # the median mean


@pytest.mark.parametrize(("level", "seed"), [(0.95, 0), (0.9, 5)])
def test_difference_ci_is_scipys_two_sample_percentile_interval(level, seed):
    a, b = [1.0, 2.0, 4.0], [0.5, 0.7, 0.6, 0.9]
    ours = difference_ci(a, b, level=level, seed=seed)
    assert ours == pytest.approx(scipy_ci([a, b], mean_difference, level, seed=seed), rel=1e-12)
    assert difference_ci(a, b) == pytest.approx((0.375, 3.250625), rel=1e-12)


def runs_frame(metric, labels_values, **extra):
    labels = [label for label, values in labels_values for _ in values]
    values = [v for _, values in labels_values for v in values]
    return pd.DataFrame({"dataset": "d", "model": "m", "label": labels, metric: values, **extra})


BY, WITHIN = ["dataset", "model", "label"], ["dataset", "model"]


def test_seed_summary_numbers_per_group_in_order_of_appearance():
    runs = runs_frame(
        "val_accuracy", [("zeta", [0.8, 0.9, 1.0]), ("alpha", [0.5, 0.7]), ("mid", [0.6])]
    )
    table = seed_summary(runs, "val_accuracy", BY, WITHIN)
    assert table["label"].tolist() == ["zeta", "alpha", "mid"]  # not sorted
    assert table["n"].tolist() == [3, 2, 1]
    assert table["mean"].tolist() == pytest.approx([0.9, 0.6, 0.6])
    assert table["std"].tolist() == pytest.approx([0.1, math.sqrt(0.02), 0.0])  # ddof=1
    assert (table["ci_low"].iloc[0], table["ci_high"].iloc[0]) == bootstrap_ci([0.8, 0.9, 1.0])
    assert (table["ci_low"].iloc[2], table["ci_high"].iloc[2]) == (0.6, 0.6)
    assert list(table.columns) == [*BY, "n", "mean", "std", "ci_low", "ci_high", "vs_best"]
    # alpha: CI of the difference is far below 0; mid: one seed only, no spread to judge by
    assert table["vs_best"].tolist() == ["best", "worse", "1 seed: no noise estimate"]


def test_seed_summary_minimises_losses_and_blocks_by_within():
    runs = pd.concat(
        [
            runs_frame("val_loss", [("a", [0.3, 0.31, 0.32]), ("b", [0.9, 0.91, 0.92])]),
            runs_frame("val_loss", [("a", [0.9, 0.91, 0.92]), ("b", [0.3, 0.31, 0.32])]).assign(
                dataset="e"
            ),
        ],
        ignore_index=True,
    )
    table = seed_summary(runs, "val_loss", BY, WITHIN)
    flags = {(d, lab): f for d, lab, f in table[["dataset", "label", "vs_best"]].to_numpy()}
    assert flags == {
        ("d", "a"): "best",
        ("d", "b"): "worse",
        ("e", "a"): "worse",
        ("e", "b"): "best",
    }


def test_seed_summary_flags_each_row_against_its_own_block_whatever_their_order():
    """Blocks out of sorted order, interleaved rows, a missing block key: each row is flagged
    against the best of its own block, and the rows keep their order of appearance."""
    runs = pd.concat(
        [
            runs_frame("val_loss", [("a", [0.9, 0.91, 0.92])]).assign(dataset="z"),
            runs_frame("val_loss", [("a", [0.3, 0.31, 0.32])]).assign(dataset="b"),
            runs_frame("val_loss", [("b", [0.3, 0.31, 0.32])]).assign(dataset="z"),
            runs_frame("val_loss", [("b", [0.9, 0.91, 0.92])]).assign(dataset="b"),
            runs_frame("val_loss", [("c", [0.5])]).assign(dataset=None),
        ],
        ignore_index=True,
    )
    table = seed_summary(runs, "val_loss", BY, WITHIN)
    assert table[["dataset", "label", "vs_best"]].fillna("-").to_numpy().tolist() == [
        ["z", "a", "worse"],
        ["b", "a", "best"],
        ["z", "b", "best"],
        ["b", "b", "worse"],
        ["-", "c", "best"],
    ]


def test_seed_summary_a_difference_interval_touching_zero_is_within_noise():
    # b is best (lowest loss, all 0.5); every resampled mean of a is >= 0.5 and about 30 % of
    # them are exactly 0.5, so the difference interval is [0, ...]: low == 0 counts as noise
    runs = runs_frame("val_loss", [("a", [0.5, 0.5, 0.6]), ("b", [0.5, 0.5, 0.5])])
    assert difference_ci([0.5, 0.5, 0.6], [0.5, 0.5, 0.5])[0] == 0.0
    table = seed_summary(runs, "val_loss", BY, WITHIN)
    assert table.set_index("label")["vs_best"].to_dict() == {"a": "within noise", "b": "best"}


def test_seed_summary_a_difference_interval_ending_at_zero_is_within_noise():
    # b is best (highest accuracy, all 0.9); every resampled mean of a is <= 0.9 and about
    # 30 % equal it, so the difference interval is [..., 0]: high == 0 counts as noise
    runs = runs_frame("val_accuracy", [("a", [0.9, 0.9, 0.8]), ("b", [0.9, 0.9, 0.9])])
    assert difference_ci([0.9, 0.9, 0.8], [0.9, 0.9, 0.9])[1] == 0.0
    table = seed_summary(runs, "val_accuracy", BY, WITHIN)
    assert table.set_index("label")["vs_best"].to_dict() == {"a": "within noise", "b": "best"}


def test_seed_summary_two_single_seed_groups_have_no_noise_estimate():
    """The issue's case: SGD 0.935 against RMSprop 0.973 on MNIST, one seed each, used to be
    'within noise'; one value per side says nothing about the noise either way."""
    runs = runs_frame("val_accuracy", [("sgd", [0.935]), ("rmsprop", [0.973])])
    table = seed_summary(runs, "val_accuracy", BY, WITHIN)
    assert ONE_SEED == "1 seed: no noise estimate"
    assert table.set_index("label")["vs_best"].to_dict() == {"sgd": ONE_SEED, "rmsprop": "best"}


@pytest.mark.parametrize(
    ("group", "best"),
    [([0.935], [0.97, 0.971, 0.972, 0.973, 0.974]), ([0.90, 0.91, 0.92, 0.93, 0.94], [0.973])],
)
def test_seed_summary_one_seed_on_either_side_has_no_noise_estimate(group, best):
    """A single seed against five (or five against a single best) is not judged either: the
    single side has no spread, however far apart the means are."""
    runs = runs_frame("val_accuracy", [("other", group), ("top", best)])
    table = seed_summary(runs, "val_accuracy", BY, WITHIN)
    assert table.set_index("label")["vs_best"].to_dict() == {"other": ONE_SEED, "top": "best"}


def test_seed_summary_five_seeds_well_apart_are_worse():
    sgd = [0.930, 0.933, 0.935, 0.936, 0.939]
    rmsprop = [0.970, 0.972, 0.973, 0.975, 0.976]
    runs = runs_frame("val_accuracy", [("sgd", sgd), ("rmsprop", rmsprop)])
    assert difference_ci(sgd, rmsprop)[1] < 0  # every resample of the gap is below 0
    table = seed_summary(runs, "val_accuracy", BY, WITHIN).set_index("label")
    assert table["vs_best"].to_dict() == {"sgd": "worse", "rmsprop": "best"}
    assert table["n"].to_dict() == {"sgd": 5, "rmsprop": 5}


def test_seed_summary_five_overlapping_seeds_are_within_noise():
    adam = [0.962, 0.975, 0.968, 0.981, 0.959]
    rmsprop = [0.970, 0.958, 0.979, 0.966, 0.984]
    runs = runs_frame("val_accuracy", [("adam", adam), ("rmsprop", rmsprop)])
    low, high = difference_ci(adam, rmsprop)
    assert low < 0 < high
    table = seed_summary(runs, "val_accuracy", BY, WITHIN).set_index("label")
    assert table["vs_best"].to_dict() == {"adam": "within noise", "rmsprop": "best"}


def test_seed_summary_drops_missing_values_but_keeps_missing_keys():
    runs = runs_frame("val_loss", [("a", [0.1, math.nan, 0.3]), ("b", [math.nan])])
    runs.loc[len(runs)] = {"dataset": "d", "model": None, "label": "c", "val_loss": 0.7}
    table = seed_summary(runs, "val_loss", BY, WITHIN)
    assert table["label"].tolist() == ["a", "c"]  # b has no value at all
    assert table["n"].tolist() == [2, 1] and table["mean"].tolist() == pytest.approx([0.2, 0.7])
    assert table["vs_best"].tolist() == ["best", "best"]  # c's model (missing) is its own block
    assert seed_summary(runs_frame("val_loss", [("a", [math.nan])]), "val_loss", BY, WITHIN).empty


def test_crossing_first_index_at_or_beyond_the_target():
    assert crossing([1, 2, 3, 4], [0.5, 0.7, 0.9, 0.95], 0.9, maximize=True) == 2  # equal counts
    assert crossing([1, 2, 3], [3.0, 1.0, 0.5], 1.0, maximize=False) == 1
    assert crossing([1, 2, 3], [3.0, 2.0, 1.5], 1.0, maximize=False) is None
    assert crossing([1, 2], [0.1, 0.2], 0.5, maximize=True) is None
    assert crossing([1, 2, 3], [None, math.nan, 0.4], 0.5, maximize=False) == 2
    assert crossing([1, 2], [-math.inf, 0.4], 0.5, maximize=False) == 1
    assert crossing([1, 2], [math.inf, 0.6], 0.5, maximize=True) == 1


def test_derived_target_relaxes_the_best_final_value():
    assert derived_target([0.9, 0.95, math.nan], maximize=True, tolerance=0.02) == pytest.approx(
        0.931
    )
    assert derived_target([0.2, 0.1, math.inf], maximize=False, tolerance=0.1) == pytest.approx(
        0.11
    )
    # a negative best still moves towards "worse": down when maximising, up when minimising
    assert derived_target([-2.0, -4.0], maximize=True, tolerance=0.5) == pytest.approx(-3.0)
    assert derived_target([-2.0, -4.0], maximize=False, tolerance=0.5) == pytest.approx(-2.0)


@pytest.mark.filterwarnings("error")  # 0 / 0 and x / 0 are handled, not warned about
def test_performance_profile_ratios_ties_failures_and_zero_costs():
    inf, nan = math.inf, math.nan
    costs = pd.DataFrame(
        {"A": [1.0, 4.0, nan, 0.0, 2.0], "B": [2.0, 2.0, 3.0, 5.0, 2.0], "C": [inf] * 5}
    )
    # ratios: A = 1, 2, inf, 1 (0 / 0), 1 ; B = 2, 1, 1, inf (5 / 0), 1 ; C = inf everywhere
    rho = performance_profile(costs, [1.0, 2.0, 1e9])
    assert rho.index.name == "tau" and rho.index.tolist() == [1.0, 2.0, 1e9]
    assert rho.columns.tolist() == ["A", "B", "C"]
    assert rho["A"].tolist() == pytest.approx([0.6, 0.8, 0.8])
    assert rho["B"].tolist() == pytest.approx([0.6, 0.8, 0.8])
    assert rho["C"].tolist() == [0.0, 0.0, 0.0]
    nobody = performance_profile(pd.DataFrame({"A": [nan, 1.0], "B": [inf, 3.0]}), [1.0, 3.0])
    assert nobody["A"].tolist() == [0.5, 0.5] and nobody["B"].tolist() == [0.0, 0.5]


def test_performance_profile_of_a_solver_with_no_cost_at_all():
    """A column of None (a solver that never finished) is object-typed: still a failure."""
    costs = pd.DataFrame({"A": [1.0, 2.0], "B": [None, None]})
    assert costs["B"].dtype == object
    rho = performance_profile(costs, [1.0, 2.0])
    assert rho["A"].tolist() == [1.0, 1.0] and rho["B"].tolist() == [0.0, 0.0]


def test_ratios_to_best_mark_failures_unsolved_problems_and_zero_bests_inf():
    """Solvers in columns: a failure (inf, NaN) and every solver of a problem nobody solved
    get ratio inf; a best of 0 gives 1 to the solvers at 0 and inf to the rest."""
    inf = math.inf
    costs = [[2.0, 4.0, math.nan], [inf, math.nan, inf], [0.0, 3.0, 0.0], [5, 10, 20]]
    ratios = ratios_to_best(costs)
    assert ratios.dtype == np.float64
    np.testing.assert_array_equal(
        ratios, [[1.0, 2.0, inf], [inf, inf, inf], [1.0, inf, 1.0], [1.0, 2.0, 4.0]]
    )
    # along axis 0 the problems are the columns
    np.testing.assert_array_equal(ratios_to_best([[1, 6], [4, 3]], axis=0), [[1, 2], [4, 1]])
    rho = profile(ratios, [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(rho, [[0.75, 0.0, 0.25], [0.75, 0.5, 0.25], [0.75, 0.5, 0.5]])
