"""Convergence analysis on hand-computable histories, and on a real run."""

import math

import pytest

from optbench.convergence import convergence_metrics, convergence_rate, plateau_step
from tests.conftest import client, train


def test_geometric_decay_has_rate_log_q():
    losses = [3.0 * 0.5**t for t in range(1, 31)]
    assert convergence_rate(losses) == pytest.approx(math.log(0.5), rel=1e-9)
    shifted = [0.7 + 3.0 * 0.9**t for t in range(1, 31)]
    assert convergence_rate(shifted, loss_star=0.7) == pytest.approx(math.log(0.9), rel=1e-9)


def test_rate_skips_non_finite_and_non_positive_gaps():
    losses = [1.0, 0.5, float("nan"), 0.125, 0.0]
    # points (1, log 1), (2, log .5), (4, log .125) lie on slope log(0.5)
    assert convergence_rate(losses) == pytest.approx(math.log(0.5), rel=1e-9)
    assert convergence_rate([1.0]) is None


def test_plateau_step_is_the_first_step_of_the_calm_run():
    losses = [10, 5, 3, 2.0, 1.99995, 1.9999, 1.99985, 1.9998, 1.99975, 1.5]
    # changes after step 4: 5e-5 each for steps 4->5 ... 8->9, then a big drop
    assert plateau_step(losses, tol=1e-4, window=3) == 4
    assert plateau_step(losses, tol=1e-4, window=6) is None
    assert plateau_step([1, 1, 1], tol=1e-4, window=2) == 1


def test_convergence_metrics_use_train_loss_only():
    history = [{"step": t, "train_loss": 2.0**-t, "val_loss": 9.0} for t in range(1, 13)]
    metrics = convergence_metrics(history, tol=1e-3, window=2)
    assert metrics["convergence_rate"] == pytest.approx(math.log(0.5))
    assert metrics["plateau_step"] == 9  # changes 2^-(t+1) drop below 1e-3 from step 9 -> 10


@pytest.mark.slow
def test_every_run_logs_convergence_rate_and_plateau_step(store):
    result, run = train(
        store,
        "optimizer=lbfgs",
        "trainer.max_iter=80",
        "trainer.early_stop.enabled=false",
        "trainer.plateau.tol=1e-3",
    )
    metrics = client(store).get_run(run.run_id).data.metrics
    assert metrics["convergence_rate"] < 0  # the loss falls
    assert 1 <= metrics["plateau_step"] < 80
    assert metrics["plateau_step"] == result.final["plateau_step"]
