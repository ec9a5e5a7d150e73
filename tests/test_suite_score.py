"""optbench.suite.score against numbers worked out by hand: ratios with ties and failures, the
profile at chosen taus, the exact AlgoPerf integral, geometric-mean speedups and the median over
seeds, plus the issue's three checks on a 2-workload smoke suite."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optbench.suite.score import (
    TAU_MAX,
    algoperf_score,
    geometric_mean_speedup,
    median_over_seeds,
    performance_profile,
    performance_ratios,
    reached_over_seeds,
    speedup_over_best_baseline,
)

INF = math.inf
SMOKE = ("mnist_mlp", "cifar_cnn")  # a 2-workload smoke suite (names only matter as keys)


def test_tau_max_is_algoperfs():
    assert TAU_MAX == 4.0


# The three checks -----------------------------------------------------------------


def test_never_reaching_scores_zero():
    times = {
        "mine": {"mnist_mlp": INF, "cifar_cnn": INF},
        "nadamw": {"mnist_mlp": 1000.0, "cifar_cnn": 4000.0},
    }
    ratios = performance_ratios(times)
    assert ratios["mine"] == {"mnist_mlp": INF, "cifar_cnn": INF}
    assert algoperf_score(ratios["mine"]) == 0.0
    assert algoperf_score(ratios["nadamw"]) == 1.0


def test_missing_one_workload_contributes_nothing_on_it():
    # reached mnist_mlp as fast as the best, never reached cifar_cnn: half the full score
    times = {
        "mine": {"mnist_mlp": 1000.0, "cifar_cnn": INF},
        "nadamw": {"mnist_mlp": 1000.0, "cifar_cnn": 4000.0},
    }
    assert algoperf_score(performance_ratios(times)["mine"]) == 0.5


def test_baseline_against_itself_scores_one():
    nadamw = {"mnist_mlp": 1234.0, "cifar_cnn": 5678.0}
    alone = performance_ratios({"nadamw": nadamw})
    assert alone == {"nadamw": {"mnist_mlp": 1.0, "cifar_cnn": 1.0}}
    assert algoperf_score(alone["nadamw"]) == 1.0
    twice = performance_ratios({"nadamw": nadamw, "again": dict(nadamw)})
    assert algoperf_score(twice["nadamw"]) == algoperf_score(twice["again"]) == 1.0


def test_hand_made_step_counts_score_the_hand_integral():
    times = {
        "mine": {"mnist_mlp": 300.0, "cifar_cnn": 6000.0},
        "nadamw": {"mnist_mlp": 200.0, "cifar_cnn": 2000.0},
        "sgd": {"mnist_mlp": 100.0, "cifar_cnn": 3000.0},
    }
    ratios = performance_ratios(times)
    # best: mnist_mlp 100 (sgd), cifar_cnn 2000 (nadamw)
    assert ratios["mine"] == {"mnist_mlp": 3.0, "cifar_cnn": 3.0}
    assert ratios["nadamw"] == {"mnist_mlp": 2.0, "cifar_cnn": 1.0}
    assert ratios["sgd"] == {"mnist_mlp": 1.0, "cifar_cnn": 1.5}
    # rho_mine = 0 on [1, 3), 1 on [3, 4]: integral 1, over the width 3
    assert algoperf_score(ratios["mine"]) == pytest.approx(1 / 3)
    # rho_nadamw = 1/2 on [1, 2), 1 on [2, 4]: 1/2 * 1 + 1 * 2 = 2.5
    assert algoperf_score(ratios["nadamw"]) == pytest.approx(2.5 / 3)
    # rho_sgd = 1/2 on [1, 1.5), 1 on [1.5, 4]: 1/2 * 0.5 + 2.5 = 2.75
    assert algoperf_score(ratios["sgd"]) == pytest.approx(2.75 / 3)


# Ratios ------------------------------------------------------------------------------------


def test_ratios_with_a_tie():
    times = {"a": {"w1": 50.0, "w2": 80.0}, "b": {"w1": 50.0, "w2": 40.0}}
    assert performance_ratios(times) == {"a": {"w1": 1.0, "w2": 2.0}, "b": {"w1": 1.0, "w2": 1.0}}


def test_a_workload_nobody_reached_is_inf_for_everyone():
    times = {"a": {"w1": INF, "w2": 10.0}, "b": {"w1": INF, "w2": 30.0}}
    ratios = performance_ratios(times)
    assert ratios == {"a": {"w1": INF, "w2": 1.0}, "b": {"w1": INF, "w2": 3.0}}
    assert algoperf_score(ratios["a"]) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan])
def test_ratios_reject_non_positive_or_nan_times(bad):
    with pytest.raises(ValueError, match="positive number"):
        performance_ratios({"a": {"w1": bad}, "b": {"w1": 10.0}})


def test_ratios_reject_mismatched_workloads():
    with pytest.raises(ValueError, match="workloads"):
        performance_ratios({"a": {"w1": 1.0, "w2": 2.0}, "b": {"w1": 1.0}})


def test_ratios_of_nothing_are_empty():
    assert performance_ratios({}) == {}


# Profile -----------------------------------------------------------------------------------


def test_profile_at_chosen_taus():
    ratios = {"w1": 1.0, "w2": 2.0, "w3": INF, "w4": 3.5}
    taus = np.array([1.0, 1.5, 2.0, 3.49, 3.5, 4.0, 1e9])
    # <= tau: 1 -> {w1}; 1.5 -> {w1}; 2 -> {w1, w2}; 3.49 -> same; 3.5 -> +w4; inf never
    expected = np.array([1, 1, 2, 2, 3, 3, 3]) / 4
    np.testing.assert_array_equal(performance_profile(ratios, taus), expected)
    # a plain list of ratios gives the same profile as the workload mapping
    np.testing.assert_array_equal(performance_profile(list(ratios.values()), taus), expected)


def test_profile_rejects_ratios_below_one_and_empty_suites():
    with pytest.raises(ValueError, match=">= 1"):
        performance_profile([0.5, 1.0], np.array([1.0]))
    with pytest.raises(ValueError, match="empty suite"):
        performance_profile([], np.array([1.0]))


# Score -------------------------------------------------------------------------------------


def test_exact_integral_of_hand_made_ratios():
    # rho = 1/3 on [1, 2), 2/3 on [2, 4]; the inf workload never counts.
    # integral = (4 - 1) / 3 + (4 - 2) / 3; normalised by the width 4 - 1
    by_hand = ((4 - 1) + (4 - 2)) / 3 / 3
    assert algoperf_score([1.0, 2.0, INF]) == pytest.approx(by_hand)
    assert algoperf_score([INF, 2.0, 1.0]) == pytest.approx(by_hand)  # order does not matter


def test_score_is_exact_where_sampling_is_not():
    # the step function integrated on a fine grid converges to the exact value
    ratios = [1.0, 1.7, 2.9, 5.0, INF]
    taus = np.linspace(1.0, 4.0, 300_001)
    rho = performance_profile(ratios, taus)
    riemann = rho[:-1].sum() * (taus[1] - taus[0]) / 3
    assert algoperf_score(ratios) == pytest.approx(riemann, abs=1e-4)
    assert algoperf_score(ratios) == pytest.approx(((3) + (4 - 1.7) + (4 - 2.9)) / 5 / 3)


def test_ratios_beyond_tau_max_add_nothing_and_tau_max_is_a_parameter():
    assert algoperf_score([4.0, 10.0]) == 0.0
    assert algoperf_score([1.0, 10.0], tau_max=11.0) == pytest.approx((10 + 1) / 2 / 10)
    with pytest.raises(ValueError, match="tau_max"):
        algoperf_score([1.0], tau_max=1.0)


# Speedups ----------------------------------------------------------------------------------


def test_geometric_mean_speedup_by_hand():
    times = {
        "mine": {"w1": 100.0, "w2": 400.0, "w3": INF, "w4": 50.0},
        "nadamw": {"w1": 400.0, "w2": 200.0, "w3": 10.0, "w4": INF},
    }
    # both reached w1 (4x) and w2 (0.5x): sqrt(4 * 0.5) = sqrt(2)
    assert geometric_mean_speedup(times, "mine", "nadamw") == pytest.approx(math.sqrt(2))
    assert geometric_mean_speedup(times, "nadamw", "mine") == pytest.approx(1 / math.sqrt(2))
    assert geometric_mean_speedup(times, "nadamw", "nadamw") == pytest.approx(1.0)


def test_geometric_mean_speedup_is_nan_without_a_common_workload():
    times = {"mine": {"w1": INF, "w2": 5.0}, "nadamw": {"w1": 3.0, "w2": INF}}
    assert math.isnan(geometric_mean_speedup(times, "mine", "nadamw"))


def test_speedup_over_best_baseline_per_workload():
    times = {
        "mine": {"w1": 100.0, "w2": INF, "w3": 10.0, "w4": INF},
        "nadamw": {"w1": 300.0, "w2": 20.0, "w3": INF, "w4": INF},
        "sgd": {"w1": 200.0, "w2": INF, "w3": INF, "w4": INF},
    }
    speedup = speedup_over_best_baseline(times, "mine", ["nadamw", "sgd"])
    assert speedup["w1"] == pytest.approx(2.0)  # best baseline: sgd at 200
    assert speedup["w2"] == 0.0  # only a baseline reached it
    assert speedup["w3"] == INF  # only the submission reached it
    assert math.isnan(speedup["w4"])  # nobody did


# Seeds -------------------------------------------------------------------------------------


def test_median_over_seeds_with_failures():
    assert median_over_seeds([300.0, 100.0, 200.0]) == 200.0
    assert median_over_seeds([300.0, INF, 100.0]) == 300.0  # one failure in three still counts
    assert median_over_seeds([INF, 100.0, None]) == INF  # two of three failed (None = failed)
    assert median_over_seeds([100.0, 200.0, 300.0, INF]) == 250.0
    assert median_over_seeds([100.0, 200.0, INF, INF]) == INF  # half failed: no majority
    assert reached_over_seeds([300.0, INF, 100.0])
    assert not reached_over_seeds([INF, INF, 100.0])


def test_median_over_seeds_rejects_nothing_and_nan():
    with pytest.raises(ValueError, match="no seeds"):
        median_over_seeds([])
    with pytest.raises(ValueError, match="numbers or inf"):
        median_over_seeds([1.0, math.nan])
