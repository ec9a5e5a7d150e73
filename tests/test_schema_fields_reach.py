"""Every optimizer and schedule setting, set to a value other than its default on the command
line, is seen in what it builds: the Keras optimizer, the SAM train step, the scikit-learn
keywords, the NumPy reference rule, the schedule.

A setting that reached its builder only at its default passed every other test (SAM's rho, fixed
at 0.05 in the step, when every test ran 0.05). The cases come from the schema dataclasses, so a
new field is covered the day it is added; one that reaches no builder must say why in SKIPPED."""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optbench.errors import OptbenchError
from optbench.optim.registry import KERAS_CLASSES, TARGET, optimizer_row
from optbench.schema import validate
from optbench.schema.schedule import SCHEMAS as SCHEDULE_SCHEMAS
from tests.conftest import REPO, compose_cfg

OPTIMIZERS = sorted(
    p.stem for p in (REPO / "conf" / "optimizer").glob("*.yaml") if p.stem != "custom"
)  # custom: the user's class takes whatever keywords it declares (tests/test_custom_optimizer.py)
SCHEDULES = sorted(p.stem for p in Path(REPO / "conf" / "schedule").glob("*.yaml"))

# (group, field) -> why no builder sees it; every other field must reach one
SKIPPED = {
    ("optimizer", "name"): "picks the row itself",
    # the trainer hands optimizer.lr to the schedule, which the schedule cases below check
    ("optimizer", "lr"): "the schedule's starting rate (checked with the schedules)",
    ("schedule", "name"): "picks the row itself",
}


def changed(value: Any, field: dataclasses.Field) -> Any:
    """A valid value other than ``value`` (the field's default) for the field's type."""
    kind = str(field.type)
    if isinstance(value, bool) or kind == "bool":
        return not value
    if isinstance(value, int) and "int" in kind:
        return value + 3
    if isinstance(value, list):
        return [v + 1 for v in value]
    if value is None:
        return 3 if "int" in kind else 0.3
    if isinstance(value, float):
        return 0.3 if value == 0 else value * 0.7  # stays inside (0, 1) and [1, inf) bounds
    raise AssertionError(f"no non-default value for {field.name}={value!r}: add one here")


def override(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{key}={str(value).lower()}"
    if isinstance(value, list):
        return f"{key}=[{','.join(map(str, value))}]"
    return f"{key}={value}"


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-6)
    return a == b


def optimizer_cases() -> list:
    cases = []
    for name in OPTIMIZERS:
        for field in dataclasses.fields(optimizer_row(name).schema):
            if ("optimizer", field.name) not in SKIPPED:
                cases.append(pytest.param(name, field, id=f"{name}.{field.name}"))
    return cases


# settings a changed field needs beside it to be valid
COMPANIONS = {"nesterov": ("optimizer.momentum=0.5",)}  # nesterov=true needs momentum > 0


def optimizer_settings(name: str, field: dataclasses.Field, value: Any) -> Any:
    extra = COMPANIONS.get(field.name, ())
    overrides = (f"optimizer={name}", *extra, override(f"optimizer.{field.name}", value))
    return validate(compose_cfg(*overrides))


def alternative_base(current: str) -> str:
    from optbench.schema.optimizer import SAM_BASES

    return next(b for b in SAM_BASES if b != current)


def keras_sees(opt: Any, field: str, value: Any) -> bool | None:
    """Whether the Keras optimizer (or, for a train-step row, the model) holds ``value``;
    None where the row has no Keras builder."""
    row = optimizer_row(opt.name)
    if (row.keras is None and row.wraps is None) or row.keras == TARGET:
        return None
    from optbench.optim.keras import build_optimizer, keras_class

    built = build_optimizer(opt, 0.01)
    if row.wraps == field:  # SAM's base: the Keras class is the base's
        return type(built) is keras_class(KERAS_CLASSES[value])
    config = built.get_config()
    if field in config:
        return same(config[field], value)
    if row.train_step is not None:
        return model_sees(row.train_step(opt), field, value)
    return False


def model_sees(step: dict[str, Any], field: str, value: Any) -> bool:
    """SAM's settings reach the model's train step (TrainStepModel's sam_<field>)."""
    import keras

    from optbench.models.train_step import TrainStepModel

    inputs = keras.Input((3,))
    model = TrainStepModel(inputs, keras.layers.Dense(2)(inputs), **step)
    return same(getattr(model, f"sam_{field}", None), value)


def sklearn_sees(opt: Any, field: str, value: Any) -> bool | None:
    row = optimizer_row(opt.name)
    if row.sklearn is None or field not in row.sklearn.arguments:
        return None
    return same(row.sklearn.kwargs(opt)[row.sklearn.arguments[field]], value)


def reference_sees(settings: Any, field: str, value: Any) -> bool | None:
    from optbench.optim.reference import from_config

    row = optimizer_row(settings.optimizer.name)
    if row.reference is None:
        return None
    try:
        reference = from_config(settings.optimizer, settings.schedule, total_steps=10)
    except OptbenchError:  # a setting the NumPy rules refuse, with a message: not silent
        return None
    for holder in (reference.rule, reference):
        if hasattr(holder, field):
            return same(getattr(holder, field), value)
    return None


@functools.cache
def settings_of(*overrides: str) -> Any:
    """The validated settings of a command line (the defaults each case starts from)."""
    return validate(compose_cfg(*overrides))


@pytest.mark.parametrize("name,field", optimizer_cases())
def test_a_non_default_optimizer_setting_reaches_what_it_builds(name, field):
    default = getattr(settings_of(f"optimizer={name}").optimizer, field.name)
    value = alternative_base(default) if field.name == "base" else changed(default, field)
    settings = optimizer_settings(name, field, value)
    opt = settings.optimizer
    assert same(getattr(opt, field.name), value), "the command line did not reach the config"
    seen = {
        "keras": keras_sees(opt, field.name, value),
        "sklearn": sklearn_sees(opt, field.name, value),
        "reference": reference_sees(settings, field.name, value),
    }
    builders = {k: v for k, v in seen.items() if v is not None}
    assert builders, f"optimizer.{field.name} reaches no builder: add it to SKIPPED with why"
    assert all(builders.values()), f"optimizer.{field.name}={value} not seen by: {builders}"


def schedule_cases() -> list:
    cases = []
    for name in SCHEDULES:
        schema = SCHEDULE_SCHEMAS.get(name, SCHEDULE_SCHEMAS["constant"])
        for field in dataclasses.fields(schema):
            if ("schedule", field.name) not in SKIPPED:
                cases.append(pytest.param(name, field.name, id=f"{name}.{field.name}"))
        cases.append(pytest.param(name, "lr", id=f"{name}.optimizer.lr"))
    return cases


STEPS, STEPS_PER_EPOCH = 60, 2  # 30 epochs: past the step schedule's boundaries (10, 20)


def built_schedules(settings: Any) -> dict[str, Any]:
    """What each framework builds of the schedule, as comparable values: the Keras and NumPy
    learning rate at every step of the run, scikit-learn's estimator keywords (the optimizer's
    learning_rate_init among them), Keras's ReduceLROnPlateau settings (with it, the Keras
    schedule is the constant starting rate the callback then lowers)."""
    from optbench.optim.schedules import SCHEDULES as ROWS
    from optbench.optim.schedules import build_schedule, plateau_callback

    opt, schedule, built = settings.optimizer, settings.schedule, {}
    row, plateau = ROWS[schedule.name], plateau_callback(schedule)
    if row.keras is not None:
        rate = build_schedule(schedule, opt.lr, STEPS, STEPS_PER_EPOCH)
        built["keras"] = [float(rate(s)) if callable(rate) else rate for s in range(STEPS)]
    if row.numpy is not None:
        rate = row.numpy(schedule, opt.lr, STEPS)
        built["numpy"] = [float(rate(s)) if callable(rate) else rate for s in range(STEPS)]
    if row.sklearn is not None:
        built["sklearn"] = {**optimizer_row(opt.name).sklearn.kwargs(opt), **row.sklearn(schedule)}
    if plateau is not None:
        built["plateau"] = {k: v for k, v in vars(plateau).items() if not k.startswith("_")}
        built["plateau"]["keras"] = built.pop("keras")
    return built


def differs(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return not np.allclose(a, b, rtol=1e-9, atol=0)
    return repr(a) != repr(b)


@pytest.mark.parametrize("name,field", schedule_cases())
def test_a_non_default_schedule_setting_changes_what_it_builds(name, field):
    """Each builder of the schedule builds something else than at the default: the curve, the
    keywords, the callback's settings."""
    model = "model=mlp_sklearn" if name in ("invscaling", "adaptive") else "model=mlp"
    base = (model, "optimizer=sgd", f"schedule={name}")
    default_settings = settings_of(*base)
    group = "optimizer" if field == "lr" else "schedule"
    default = getattr(getattr(default_settings, group), field)
    schema_field = next(
        f for f in dataclasses.fields(type(getattr(default_settings, group))) if f.name == field
    )
    value = (
        "train_loss" if field == "monitor" else changed(default, schema_field)
    )  # monitor: the other allowed metric
    settings = validate(compose_cfg(*base, override(f"{group}.{field}", value)))
    before, after = built_schedules(default_settings), built_schedules(settings)
    assert before, f"schedule={name} has no builder"
    unchanged = [k for k in before if not differs(before[k], after[k])]
    assert not unchanged, f"{group}.{field}={value} changed nothing in: {unchanged}"
