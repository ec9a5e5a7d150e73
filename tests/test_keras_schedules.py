"""Every schedule trains the Keras MLP, and the lr logged per epoch follows its formula
(the schedule objects alone: tests/test_optim_schedules.py)."""

from __future__ import annotations

import math

import pytest

from optbench.optim.schedules import KERAS_SCHEDULES
from tests.keras_support import fit


@pytest.mark.parametrize("schedule", KERAS_SCHEDULES)
def test_every_schedule_trains(schedule):
    overrides = ("model=mlp", "dataset=digits", "optimizer=sgd", f"schedule={schedule}")
    result, _, _ = fit(*overrides, "trainer.max_iter=2")
    assert not result.diverged and result.history[-1]["val_loss"] < math.log(10)


def _lrs(schedule: str, *extra: str, epochs: int = 4):
    result, _settings, splits = fit(
        "model=logreg",
        "optimizer=sgd",
        "optimizer.lr=0.1",
        f"schedule={schedule}",
        "trainer.batch_size=100",
        f"trainer.max_iter={epochs}",
        "trainer.early_stop.enabled=false",
        *extra,
    )
    spe = math.ceil(len(splits.y_train) / 100)
    return [h["lr"] for h in result.history], spe


@pytest.mark.slow
def test_logged_lr_follows_the_schedule_formulas():
    """lr is read back from the optimizer after each epoch (t = epoch * steps_per_epoch)."""
    lrs, spe = _lrs("cosine")
    total = 4 * spe
    for epoch, lr in enumerate(lrs, start=1):
        t = min(epoch * spe, total)
        assert lr == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * t / total)), abs=1e-7)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-7)  # annealed to alpha * lr, never negative

    lrs, spe = _lrs("step", "schedule.boundaries=[1,3]", "schedule.factor=0.5")
    assert lrs == pytest.approx([0.05, 0.05, 0.025, 0.025])  # epochs after boundary b: lower

    lrs, spe = _lrs("exponential", "schedule.decay_rate=0.5", "schedule.decay_epochs=2")
    assert lrs == pytest.approx([0.1 * 0.5 ** (e / 2) for e in range(1, 5)], rel=1e-5)

    lrs, spe = _lrs("warmup_cosine", "schedule.warmup_epochs=2", epochs=6)
    assert lrs[0] == pytest.approx(0.05, rel=1e-5)  # half-way through the linear warm-up
    assert lrs[1] == pytest.approx(0.1, rel=1e-5)  # warm-up done
    assert lrs[3] == pytest.approx(0.05, rel=1e-4)  # half-way down the cosine
    assert lrs[5] == pytest.approx(0.0, abs=1e-7)

    lrs, _ = _lrs("constant")
    assert lrs == pytest.approx([0.1] * 4)


@pytest.mark.parametrize("diagnostics", ["basic", "off"])
def test_reduce_on_plateau_lowers_the_lr(diagnostics):
    """With or without the diagnostics callback before it, ReduceLROnPlateau runs after the
    epoch bridge, which writes the val_loss it watches."""
    lrs, _ = _lrs(
        "reduce_on_plateau",
        "schedule.patience=1",
        "schedule.min_delta=10",  # no epoch counts as an improvement
        "schedule.factor=0.5",
        f"trainer.diagnostics={diagnostics}",
        epochs=3,
    )
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] < lrs[0]
