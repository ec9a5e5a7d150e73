"""The schedule group's schemas (optbench/schema/schedule.py): each schedule's ranges, exactly
at their limits and either side, and the step schedule's increasing boundaries; a refusal is
one line naming the key, the value and what is allowed. (What each schedule does to the rate:
tests/test_optim_schedules.py.)"""

from __future__ import annotations

import pytest

from optbench.schema.schedule import (
    CosineConfig,
    CosineRestartsConfig,
    ExponentialConfig,
    InvScalingConfig,
    OneCycleConfig,
    ReduceOnPlateauConfig,
    StepConfig,
    WarmupCosineConfig,
)
from tests.conftest import checked_node, node_refusal


def checked(schema: type, **values):
    return checked_node(schema, "schedule.", **values)


def refusal(schema: type, **values) -> str:
    return node_refusal(schema, "schedule.", **values)


@pytest.mark.parametrize("boundaries", [[1], [5, 10, 20]])
def test_step_boundaries_are_increasing_epochs_from_1(boundaries):
    assert checked(StepConfig, boundaries=boundaries).boundaries == boundaries


@pytest.mark.parametrize("boundaries", [[20, 10], [10, 10]])
def test_step_boundaries_out_of_order_or_repeated_are_refused(boundaries):
    assert refusal(StepConfig, boundaries=boundaries) == (
        f"schedule.boundaries={boundaries} is not allowed: must be strictly increasing epochs."
    )


@pytest.mark.parametrize(
    ("boundaries", "message"),
    [([], "schedule.boundaries=[] is not allowed: must be a non-empty list, each an integer in "
          "[1, inf)."),
     ([0, 10], "schedule.boundaries=[0, 10] is not allowed: must be a non-empty list, each an "
               "integer in [1, inf).")],
)  # fmt: skip
def test_step_boundaries_are_at_least_one_epoch(boundaries, message):
    assert refusal(StepConfig, boundaries=boundaries) == message


@pytest.mark.parametrize("schema", [StepConfig, ReduceOnPlateauConfig])
@pytest.mark.parametrize("factor", [0.0, 1.0])
def test_a_reduction_factor_lies_strictly_between_0_and_1(schema, factor):
    assert refusal(schema, factor=factor) == (
        f"schedule.factor={factor!r} is not allowed: must be a number in (0, 1)."
    )
    assert checked(schema, factor=0.5).factor == 0.5


def test_exponential_decay_may_keep_the_rate_but_not_drop_it_to_zero():
    assert checked(ExponentialConfig, decay_rate=1.0).decay_rate == 1.0
    assert refusal(ExponentialConfig, decay_rate=0.0) == (
        "schedule.decay_rate=0.0 is not allowed: must be a number in (0, 1]."
    )
    assert refusal(ExponentialConfig, decay_epochs=0) == (
        "schedule.decay_epochs=0.0 is not allowed: must be a number in (0, inf)."
    )


@pytest.mark.parametrize("schema", [CosineConfig, WarmupCosineConfig, CosineRestartsConfig])
def test_a_cosines_final_fraction_alpha_runs_from_0_to_1_inclusive(schema):
    assert checked(schema, alpha=0.0).alpha == 0.0
    assert checked(schema, alpha=1.0).alpha == 1.0
    assert refusal(schema, alpha=1.5) == (
        "schedule.alpha=1.5 is not allowed: must be a number in [0, 1]."
    )


def test_cosine_decays_over_a_positive_number_of_steps_or_the_whole_run():
    assert checked(CosineConfig, decay_steps=None).decay_steps is None
    assert checked(CosineConfig, decay_steps=1).decay_steps == 1
    assert refusal(CosineConfig, decay_steps=0) == (
        "schedule.decay_steps=0 is not allowed: must be an integer in [1, inf) (or null)."
    )


def test_warm_up_may_take_no_epochs_and_start_anywhere_up_to_the_rate():
    assert checked(WarmupCosineConfig, warmup_epochs=0.0, warmup_start=1.0).warmup_start == 1.0
    assert refusal(WarmupCosineConfig, warmup_epochs=-1) == (
        "schedule.warmup_epochs=-1.0 is not allowed: must be a number in [0, inf)."
    )


def test_restarts_restart_no_higher_than_before():
    assert checked(CosineRestartsConfig, m_mul=1.0).m_mul == 1.0
    assert refusal(CosineRestartsConfig, m_mul=1.1) == (
        "schedule.m_mul=1.1 is not allowed: must be a number in (0, 1]."
    )


def test_one_cycle_starts_at_or_below_its_peak():
    assert checked(OneCycleConfig, div_factor=1.0, final_div_factor=1.0).div_factor == 1.0
    assert refusal(OneCycleConfig, div_factor=0.5) == (
        "schedule.div_factor=0.5 is not allowed: must be a number in [1, inf)."
    )
    assert refusal(OneCycleConfig, pct_start=1.0) == (
        "schedule.pct_start=1.0 is not allowed: must be a number in (0, 1)."
    )


def test_reduce_on_plateau_watches_a_loss_for_at_least_one_epoch():
    assert refusal(ReduceOnPlateauConfig, monitor="val_accuracy") == (
        "schedule.monitor='val_accuracy' is not allowed: must be one of 'val_loss', 'train_loss'."
    )
    assert refusal(ReduceOnPlateauConfig, patience=0) == (
        "schedule.patience=0 is not allowed: must be an integer in [1, inf)."
    )
    assert checked(ReduceOnPlateauConfig, min_lr=0.0, min_delta=0.0).min_lr == 0.0


def test_invscaling_power_is_positive():
    assert refusal(InvScalingConfig, power_t=0) == (
        "schedule.power_t=0.0 is not allowed: must be a number in (0, inf)."
    )
