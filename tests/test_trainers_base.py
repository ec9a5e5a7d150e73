"""optbench/trainers/base.py, the trainer contract's shared pieces: log-loss and accuracy from
class probabilities (against a NumPy float64 oracle, at the 1e-15 clip and when diverged), the
objective a sweeper ranks a run by, a loop's result, a run's title, and ``make_trainer``
picking the trainer the model's registry row names. What every trainer then reports is
tests/test_trainer_contract.py's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optbench.callbacks import LoopState
from optbench.errors import OptbenchError
from optbench.schema import validate
from optbench.trainers.base import (
    RunResult,
    log_loss_and_accuracy,
    make_trainer,
    objective_value,
    run_title,
)
from tests.conftest import compose_cfg

PROBA = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25], [0.4, 0.4, 0.2]])
LABELS = np.array([0, 2, 0, 1])


def test_log_loss_and_accuracy_are_the_mean_negative_log_of_the_true_class_and_the_hit_rate():
    loss, accuracy = log_loss_and_accuracy(PROBA, LABELS)
    assert loss == pytest.approx(-(np.log(0.7) + np.log(0.6) + np.log(0.25) + np.log(0.4)) / 4)
    # argmax: 0, 2, 1, and the tie in the last row goes to the first column (0): two hits
    assert accuracy == 0.5


def test_a_zero_probability_of_the_true_class_costs_the_clip_not_infinity():
    loss, accuracy = log_loss_and_accuracy(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 1]))
    assert loss == pytest.approx(-np.log(1e-15) / 2, rel=1e-12)  # 17.27
    assert accuracy == 0.5


def test_non_finite_probabilities_give_a_nan_loss():
    proba = PROBA.copy()
    proba[3] = [np.nan, np.nan, np.nan]  # a row the true class does not read still counts
    loss, accuracy = log_loss_and_accuracy(proba, np.array([0, 2, 1, 0]))
    assert math.isnan(loss)
    assert accuracy == 1.0  # argmax of a NaN row is its first column


def run_result(diverged: bool = False) -> RunResult:
    history = [
        {"step": 1, "train_loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.6},
        {"step": 2, "train_loss": 0.5, "val_loss": 0.7, "val_accuracy": 0.7},
    ]
    final = {"test_loss": 0.75, "val_loss": 99.0, "steps_to_target": 12.0}
    return RunResult(history, final, diverged=diverged)


def test_the_objective_is_the_last_logged_value_with_steps_winning_over_final():
    result = run_result()
    assert result.objective() == 0.7  # the last step's val_loss, not final's 99
    assert result.objective("val_accuracy") == 0.7
    assert result.objective("steps_to_target") == 12.0  # logged once, at the end
    assert result.objective("test_loss") == 0.75


def test_a_diverged_or_absent_objective_is_the_worst_value_in_its_direction():
    assert run_result(diverged=True).objective() == math.inf
    assert run_result(diverged=True).objective("val_accuracy") == -math.inf
    assert run_result().objective("epochs_to_target") == math.inf
    assert objective_value("test_accuracy", {}, diverged=False) == -math.inf


def test_a_validation_objective_falls_back_to_its_training_twin():
    """No validation set: val_loss ranks by train_loss (a val_ name only, never the reverse)."""
    assert objective_value("val_loss", {"train_loss": 0.3}, diverged=False) == 0.3
    assert objective_value("train_loss", {"val_loss": 0.3}, diverged=False) == math.inf


def test_of_loop_takes_divergence_and_the_stop_reason_from_the_loop_state():
    state = LoopState(max_steps=5)
    state.diverged = True
    state.request_stop("diverged: train_loss is nan")
    state.request_stop("a later reason")  # the first one stays
    result = RunResult.of_loop(state, [{"step": 1}], {"n_iter": 1}, notes=["a note"])
    assert result.diverged and result.stop_reason == "diverged: train_loss is nan"
    assert (result.history, result.final, result.notes) == (
        [{"step": 1}],
        {"n_iter": 1},
        ["a note"],
    )
    assert RunResult.of_loop(LoopState(max_steps=5), [], {}).stop_reason == "max_iter"


def test_a_runs_title_is_model_optimizer_and_dataset():
    cfg = compose_cfg("model=mlp", "optimizer=adam", "dataset=digits")
    assert run_title(cfg) == "mlp · adam · digits"


@pytest.mark.parametrize(
    ("overrides", "trainer"),
    [
        (("model=logreg", "optimizer=saga"), "optbench.trainers.sklearn.SklearnTrainer"),
        (("model=logreg", "optimizer=adam"), "optbench.trainers.keras_trainer.KerasTrainer"),
        (("dataset=rosenbrock",), "optbench.trainers.landscape.LandscapeTrainer"),
    ],
)
def test_make_trainer_builds_the_trainer_of_the_rows_framework(overrides, trainer):
    built = make_trainer(validate(compose_cfg(*overrides)))
    assert f"{type(built).__module__}.{type(built).__name__}" == trainer


def test_make_trainer_refuses_a_framework_the_model_has_no_trainer_for():
    settings = validate(compose_cfg("model=logreg", "optimizer=saga"))
    settings.model.framework = "numpy"
    with pytest.raises(OptbenchError, match=r"^model=logreg is not a NumPy model"):
        make_trainer(settings)
