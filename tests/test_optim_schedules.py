"""Every Keras learning-rate schedule in the zoo against its closed-form formula, written out
here, at the steps where a schedule goes wrong: step 0, mid-warm-up, the peak, a restart
boundary and the end. Schedules are built as the trainer builds them (``build_schedule`` from
the composed conf/schedule/*.yaml) and read at optimizer step t, the 0-based count of updates
already applied; nothing is trained, so a constant lr cannot pass for a schedule."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras  # a hard dependency (TensorFlow): a broken install fails here, never skips
import pytest

from optbench.optim.schedules import KERAS_SCHEDULES, build_schedule, plateau_callback
from optbench.optim.schedules import SKLEARN_SCHEDULES as MLP_SCHEDULES
from optbench.schema import validate
from tests.conftest import REPO, compose_cfg

LR = 0.1
SPE = 10  # steps per epoch
TOTAL = 10 * SPE  # a 10-epoch run


def half_cosine(progress: float) -> float:
    """1 at progress 0, 0 at progress 1."""
    return 0.5 * (1 + math.cos(math.pi * progress))


def cosine(t: int, decay: int = TOTAL, alpha: float = 0.0) -> float:
    return LR * (alpha + (1 - alpha) * half_cosine(min(t, decay) / decay))


def warm_then_cosine(t: int, start: float, warmup: int, end: float) -> float:
    """Linear from ``start`` to LR over ``warmup`` steps, then cosine from LR down to ``end``."""
    if t < warmup:
        return start + (LR - start) * t / warmup
    return end + (LR - end) * half_cosine(min(t - warmup, TOTAL - warmup) / (TOTAL - warmup))


def step_decay(t: int, boundaries: list[int], factor: float) -> float:
    """lr * factor**i once i boundaries (epochs) are complete."""
    return LR * factor ** sum(t >= b * SPE for b in boundaries)


def sgdr(t: int, first: int, t_mul: float, m_mul: float, alpha: float) -> float:
    """Cosine cycles: the i-th is first * t_mul**i steps long and starts at m_mul**i * lr."""
    start, length, cycle = 0.0, float(first), 0
    while t >= start + length:
        start, length, cycle = start + length, length * t_mul, cycle + 1
    return LR * (alpha + (1 - alpha) * m_mul**cycle * half_cosine((t - start) / length))


# (schedule, overrides, formula of t, steps to check); the formulas' constants are the YAML
# defaults or the overrides, spelled out
CASES: list[tuple[str, tuple[str, ...], Callable[[int], float], tuple[int, ...]]] = [
    ("constant", (), lambda t: LR, (0, 50, 100)),
    ("cosine", (), cosine, (0, 25, 50, 75, 100, 130)),
    (
        "cosine",
        ("schedule.alpha=0.2", "schedule.decay_steps=40"),
        lambda t: cosine(t, decay=40, alpha=0.2),
        (0, 20, 40, 70, 100),  # held at alpha * lr after decay_steps
    ),
    (
        "warmup_cosine",
        (),  # 1 epoch of warm-up from 0
        lambda t: warm_then_cosine(t, 0.0, 10, 0.0),
        (0, 5, 10, 55, 100),
    ),
    (
        "warmup_cosine",
        ("schedule.warmup_epochs=2", "schedule.warmup_start=0.1", "schedule.alpha=0.1"),
        lambda t: warm_then_cosine(t, 0.1 * LR, 20, 0.1 * LR),
        (0, 10, 20, 60, 100),
    ),
    (
        "one_cycle",
        (),  # pct_start 0.3, div_factor 25, final_div_factor 1e4
        lambda t: warm_then_cosine(t, LR / 25, 30, LR / 25 / 1e4),
        (0, 15, 30, 65, 99, 100),
    ),
    (
        "one_cycle",
        ("schedule.pct_start=0.25", "schedule.div_factor=10", "schedule.final_div_factor=100"),
        lambda t: warm_then_cosine(t, LR / 10, 25, LR / 10 / 100),
        (0, 10, 25, 40, 100),
    ),
    (
        "step",
        (),  # boundaries [10, 20] epochs, factor 0.1
        lambda t: step_decay(t, [10, 20], 0.1),
        (0, 99, 100, 199, 200, 250),
    ),
    (
        "step",
        ("schedule.boundaries=[1,3]", "schedule.factor=0.5"),
        lambda t: step_decay(t, [1, 3], 0.5),
        (0, 9, 10, 29, 30, 100),
    ),
    (
        "exponential",
        (),  # 0.9 per epoch, continuous
        lambda t: LR * 0.9 ** (t / SPE),
        (0, 5, 10, 37, 100),
    ),
    (
        "exponential",
        ("schedule.decay_rate=0.5", "schedule.decay_epochs=2.5", "schedule.staircase=true"),
        lambda t: LR * 0.5 ** (t // 25),
        (0, 24, 25, 49, 50, 100),
    ),
    (
        "cosine_restarts",
        (),  # first cycle 2 epochs, each next twice as long, restarting at the full lr
        lambda t: sgdr(t, 20, 2.0, 1.0, 0.0),
        (0, 10, 19, 20, 40, 59, 60, 100),
    ),
    (
        "cosine_restarts",
        (
            "schedule.first_decay_epochs=1.5",
            "schedule.t_mul=1",
            "schedule.m_mul=0.5",
            "schedule.alpha=0.1",
        ),
        lambda t: sgdr(t, 15, 1.0, 0.5, 0.1),
        (0, 7, 14, 15, 22, 30, 45, 100),
    ),
    # the lr stays constant in the schedule; ReduceLROnPlateau moves it (tested below)
    ("reduce_on_plateau", (), lambda t: LR, (0, 50, 100)),
]


def lr_at(schedule: float | keras.optimizers.schedules.LearningRateSchedule, t: int) -> float:
    if isinstance(schedule, float):
        return schedule
    return float(keras.ops.convert_to_numpy(schedule(t)))


def settings(schedule: str, *overrides: str):
    return validate(compose_cfg("model=mlp", "optimizer=sgd", f"schedule={schedule}", *overrides))


@pytest.mark.parametrize(
    ("name", "overrides", "formula", "steps"),
    CASES,
    ids=["-".join([c[0], *(o.removeprefix("schedule.") for o in c[1])]) for c in CASES],
)
def test_schedule_follows_its_formula(name, overrides, formula, steps):
    schedule = build_schedule(settings(name, *overrides).schedule, LR, TOTAL, SPE)
    got = [lr_at(schedule, t) for t in steps]
    expected = [formula(t) for t in steps]
    # Keras computes in float32: near the end of a cosine, ~1e-9 absolute error on lr 0.1
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-8), list(
        zip(steps, got, expected, strict=True)
    )


def test_every_schedule_in_the_zoo_has_a_formula_here():
    """A new schedule (a YAML plus a KERAS_SCHEDULES entry) must bring its formula."""
    assert {c[0] for c in CASES} == set(KERAS_SCHEDULES)
    yamls = {p.stem for p in (REPO / "conf" / "schedule").glob("*.yaml")}
    # the rest are scikit-learn MLP's own (tests/test_trainers_sklearn.py)
    assert yamls == set(KERAS_SCHEDULES) | set(MLP_SCHEDULES)


def _plateau_lrs(losses: list[dict[str, float]], *overrides: str) -> list[float]:
    """The lr after each epoch when ReduceLROnPlateau sees these end-of-epoch logs."""
    cfg = settings("reduce_on_plateau", *overrides).schedule
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(build_schedule(cfg, LR, TOTAL, SPE)), loss="mse")
    callback = plateau_callback(cfg)
    callback.set_model(model)
    callback.on_train_begin()
    lrs = []
    for epoch, logs in enumerate(losses):
        callback.on_epoch_end(epoch, dict(logs))
        lrs.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    return lrs


def test_reduce_on_plateau_halves_after_patience_epochs_without_a_min_delta_improvement():
    """Defaults: factor 0.5, patience 2, min_delta 1e-4 on val_loss."""
    val = [1.0, 0.9, 0.89995, 0.9, 0.8, 0.85, 0.85, 0.85, 0.85]
    lrs = _plateau_lrs([{"val_loss": v, "loss": 0.1} for v in val])
    # 0.89995 improves by less than min_delta: the 2nd flat epoch (4th) halves, and so on
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125])


def test_reduce_on_plateau_stops_at_min_lr_and_reads_the_monitor_it_is_given():
    flat = [{"val_loss": 1.0, "loss": 1.0}] * 3
    lrs = _plateau_lrs(flat, "schedule.patience=1", "schedule.factor=0.1", "schedule.min_lr=0.03")
    assert lrs == pytest.approx([0.1, 0.03, 0.03])
    improving_train = [{"val_loss": 1.0, "loss": 1.0 - 0.1 * e} for e in range(4)]
    assert _plateau_lrs(improving_train, "schedule.monitor=train_loss") == pytest.approx([0.1] * 4)
    assert _plateau_lrs(improving_train) == pytest.approx([0.1, 0.1, 0.05, 0.05])
