"""optbench.suite.score against numbers worked out by hand: ratios with ties and failures, the
profile at chosen taus, the exact AlgoPerf integral, AlgoPerf's speed-up (a miss counts as the
budget + 1) and the median over seeds, plus the issue's three checks on a 2-workload smoke
suite; and one pool scored from per-seed times: the budget cut, the joint score by hand, the
bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optbench.suite.score import (
    TAU_MAX,
    algoperf_score,
    algoperf_speedup,
    median_over_seeds,
    performance_profile,
    performance_ratios,
    reached_over_seeds,
    score_pool,
    speedup_over_best_baseline,
    within_budget,
)

INF = math.inf
SMOKE = ("mnist_mlp", "cifar_cnn")  # a 2-workload smoke suite (names only matter as keys)


def test_tau_max_is_algoperfs():
    assert TAU_MAX == 4.0


# The issue's three checks -----------------------------------------------------------------


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


def test_algoperf_speedup_counts_a_miss_as_budget_plus_one_over_every_workload():
    budgets = {"w1": 1000.0, "w2": 500.0, "w3": 100.0, "w4": 50.0}
    times = {
        "mine": {"w1": 100.0, "w2": INF, "w3": INF, "w4": 25.0},
        "nadamw": {"w1": 400.0, "w2": 250.0, "w3": INF, "w4": 50.0},
    }
    # w1 400/100 = 4; w2 only nadamw reached: 250/501; w3 nobody: 101/101 = 1; w4 50/25 = 2
    speedup, rests_on = algoperf_speedup(times, "mine", "nadamw", budgets)
    assert speedup == pytest.approx((4 * 250 / 501 * 1 * 2) ** (1 / 4))
    assert rests_on == 3  # w3 was reached by neither side
    back, _ = algoperf_speedup(times, "nadamw", "mine", budgets)
    assert back == pytest.approx(1 / speedup)
    assert algoperf_speedup(times, "nadamw", "nadamw", budgets) == (pytest.approx(1.0), 3)


def test_algoperf_speedup_of_the_issue_nesterov_row():
    """The audit's example: the old rule gave nesterov 11.75x over the tuned NAdamW from one
    workload (282 / 24); AlgoPerf's rule gives 1.34x over all 7 (budgets in steps)."""
    budgets = {"ill_logreg": 44_400.0, "quadratic": 177.0, "digits": 2346.0, "mnist": 5922.0,
               "wide": 2538.0, "mobilenet": 1224.0, "rosenbrock": 3000.0}  # fmt: skip
    nesterov = dict.fromkeys(budgets, INF) | {"quadratic": 24.0, "mnist": 5640.0,
                                              "rosenbrock": 1018.0}  # fmt: skip
    # nadamw's quadratic median 282 is past the 177-step budget: not reached
    nadamw = dict.fromkeys(budgets, INF) | {"ill_logreg": 14_800.0}
    times = {"nesterov": nesterov, "nadamw": nadamw}
    speedup, rests_on = algoperf_speedup(times, "nesterov", "nadamw", budgets)
    by_hand = (14_800 / 44_401 * 178 / 24 * 5923 / 5640 * 3001 / 1018) ** (1 / 7)
    assert speedup == pytest.approx(by_hand) and f"{speedup:.2f}" == "1.34"
    assert rests_on == 4


def test_algoperf_speedup_rejects_nan_times():
    with pytest.raises(ValueError, match="positive number"):
        algoperf_speedup({"a": {"w": math.nan}, "b": {"w": 1.0}}, "a", "b", {"w": 10.0})


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


# One pool from per-seed times -------------------------------------------------------------


def test_a_seed_past_the_budget_is_not_reached():
    assert within_budget([176.0, 177.0, 178.0, None, INF], 177.0) == [176.0, 177.0, INF, INF, INF]
    # the tuned AdamW's 265 steps on a 177-step budget: not reached, on every seed
    pool = {"adamw": {"quad": [265.0] * 5}, "nesterov": {"quad": [59.0] * 5}}
    scored = score_pool(pool, {"quad": 177.0}, "nesterov")
    assert scored["adamw"].times == {"quad": INF} and scored["adamw"].reached == 0
    assert scored["adamw"].score.point == 0.0
    assert scored["adamw"].speedup.point == pytest.approx(59 / 178)  # the miss counts 177 + 1
    # without a budget the same seeds count (ratio 265 / 59 > 4: no score either way)
    assert score_pool(pool)["adamw"].times == {"quad": 265.0}


def test_the_budget_cuts_seeds_before_the_median():
    # two seeds within, one past: the median is still within (a majority reached it);
    # one within, two past: not reached, although the plain median (600) would fit in 1000
    kept = score_pool({"a": {"w": [100.0, 200.0, 5000.0]}}, {"w": 1000.0})
    assert kept["a"].times == {"w": 200.0}
    cut = score_pool({"a": {"w": [100.0, 1200.0, 1300.0]}, "b": {"w": [50.0]}}, {"w": 1000.0})
    assert cut["a"].times == {"w": INF} and cut["a"].reached == 0


# a, b and c on two workloads; the seeds' medians within the budgets are
#   a: w1 110, w2 inf (400 within, 600 past 500, one miss); b: w1 220, w2 200; c: w1 60, w2 inf
POOL = {
    "a": {"w1": [100.0, 120.0, 110.0], "w2": [INF, 400.0, 600.0]},
    "b": {"w1": [220.0, 200.0, 240.0], "w2": [200.0, 200.0, 200.0]},
    "c": {"w1": [50.0, 60.0, 900.0], "w2": [INF, INF, 100.0]},
}
BUDGETS = {"w1": 1000.0, "w2": 500.0}


def test_the_joint_pool_scores_as_by_hand():
    scored = score_pool(POOL, BUDGETS, "b")
    assert {n: s.times for n, s in scored.items()} == {
        "a": {"w1": 110.0, "w2": INF},
        "b": {"w1": 220.0, "w2": 200.0},
        "c": {"w1": 60.0, "w2": INF},
    }
    # best: w1 60 (c), w2 200 (b). ratios a: 110/60, inf; b: 220/60, 1; c: 1, inf
    assert scored["a"].score.point == pytest.approx((4 - 110 / 60) / 2 / 3)  # 0.3611
    assert scored["b"].score.point == pytest.approx(((4 - 220 / 60) + 3) / 2 / 3)  # 0.5556
    assert scored["c"].score.point == pytest.approx(3 / 2 / 3)  # 0.5
    # the same as scoring the medians with the plain functions
    times = {n: s.times for n, s in scored.items()}
    for name, ratios in performance_ratios(times).items():
        assert scored[name].score.point == pytest.approx(algoperf_score(ratios))
    # speed-ups over b, w2's miss counting 500 + 1
    assert scored["a"].speedup.point == pytest.approx(math.sqrt(220 / 110 * 200 / 501))  # 0.894
    assert scored["c"].speedup.point == pytest.approx(math.sqrt(220 / 60 * 200 / 501))  # 1.210
    assert scored["b"].speedup.point == 1.0
    assert [scored[n].rests_on for n in "abc"] == [2, 2, 2]
    assert [scored[n].reached for n in "abc"] == [1, 2, 1]


def test_a_score_is_relative_to_its_pool():
    # against b alone, a is the fastest on w1 (score (4 - 1) / 2 / 3); once c is in the pool,
    # c's 60 steps are the best there and a's score drops with no change of its own times
    alone = score_pool({"a": POOL["a"], "b": POOL["b"]}, BUDGETS)
    assert alone["a"].score.point == pytest.approx(3 / 2 / 3)
    assert score_pool(POOL, BUDGETS)["a"].score.point == pytest.approx((4 - 110 / 60) / 6)


def test_intervals_contain_the_point_and_collapse_when_all_seeds_agree():
    scored = score_pool(POOL, BUDGETS, "b")
    for s in scored.values():
        assert s.score.low <= s.score.point <= s.score.high, s
        assert s.speedup.low <= s.speedup.point <= s.speedup.high, s
    assert scored["a"].score.low < scored["a"].score.high  # a's and c's seeds disagree
    assert scored["c"].speedup.low < scored["c"].speedup.high
    # the reference against itself is 1 in every resample
    assert (scored["b"].speedup.low, scored["b"].speedup.high) == (1.0, 1.0)
    agreeing = {
        n: {w: [median_over_seeds(v)] * 3 for w, v in row.items()} for n, row in POOL.items()
    }
    for s in score_pool(agreeing, BUDGETS, "b").values():
        assert s.score.low == s.score.point == s.score.high
        assert s.speedup.low == s.speedup.point == s.speedup.high


def test_intervals_are_reproducible_and_do_not_depend_on_the_pool_order():
    first = score_pool(POOL, BUDGETS, "b")
    again = score_pool(dict(reversed(POOL.items())), BUDGETS, "b")
    assert first == {n: again[n] for n in first}
    other_seed = score_pool(POOL, BUDGETS, "b", seed=1)
    assert other_seed["a"].score.point == first["a"].score.point
    wider = score_pool(POOL, BUDGETS, "b", level=0.99)["a"].score
    assert wider.low <= first["a"].score.low and wider.high >= first["a"].score.high


def test_a_pool_without_budgets_has_no_speedups():
    scored = score_pool(POOL, None, "b")
    assert all(s.speedup is None and s.rests_on == 0 for s in scored.values())
    assert scored["a"].times["w2"] == 600.0  # no budget to cut at


@pytest.mark.parametrize(
    ("pool", "budgets", "reference", "message"),
    [
        ({"a": {"w1": [1.0]}, "b": {"w2": [1.0]}}, None, None, "same workloads"),
        ({"a": {"w1": [1.0]}}, {"w2": 5.0}, None, "no budget"),
        ({"a": {"w1": [1.0]}}, None, "nadamw", "not in the pool"),
        ({"a": {"w1": []}}, None, None, "no seeds"),
        ({"a": {"w1": [math.nan]}}, None, None, "number or inf"),
        ({"a": {}}, None, None, "empty suite"),
    ],
)
def test_score_pool_refuses_what_it_cannot_score(pool, budgets, reference, message):
    with pytest.raises(ValueError, match=message):
        score_pool(pool, budgets, reference)
