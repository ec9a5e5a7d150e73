"""The optimizer registry, the schedule table and the model rows agree with conf/: one row
per YAML, each YAML extends its row's schema and sets only what differs from the schema's
defaults, and every name a table mentions exists."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from optbench import compat
from optbench.errors import OptbenchError
from optbench.models.registry import MODELS
from optbench.optim import reference
from optbench.optim.registry import OPTIMIZERS, TARGET, WRAPPERS
from optbench.optim.schedules import SCHEDULES
from optbench.runner import prepare
from optbench.schema import SAM_BASES, validate
from optbench.schema import optimizer as optimizer_schemas
from optbench.schema import schedule as schedule_schemas
from tests.conftest import REPO, compose_cfg

CONF = REPO / "conf"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def yaml_of(group: str, name: str) -> tuple[str, dict]:
    """(the schema the YAML extends, its other keys)."""
    body = yaml.safe_load((CONF / group / f"{name}.yaml").read_text())
    (extends,) = [d for d in body.pop("defaults") if d != "_self_"]
    return extends.removeprefix(f"/schema/{group}/").removesuffix("@_here_"), body


def defaults_of(schema: type) -> dict:
    return {
        f.name: f.default
        for f in dataclasses.fields(schema)
        if f.default is not dataclasses.MISSING
    }


def test_one_row_per_optimizer_yaml():
    assert sorted(OPTIMIZERS) == options("optimizer")


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"custom"}))
def test_each_yaml_extends_its_rows_schema_and_sets_only_what_differs(name):
    row = OPTIMIZERS[name]
    extends, body = yaml_of("optimizer", name)
    assert optimizer_schemas.SCHEMAS[extends] is row.schema
    assert body.pop("name") == name
    assert ("lr" in body) == row.needs_lr  # the dataset's recommended rate, by name
    body.pop("lr", None)
    defaults = defaults_of(row.schema)
    assert {k: v for k, v in body.items() if defaults[k] == v} == {}, "repeats a schema default"
    assert body.items() >= row.preset.items()  # what makes the variant, set in the YAML too
    composed = validate(compose_cfg(f"optimizer={name}", "model=mlp")).optimizer
    assert type(composed) is row.schema


def test_the_custom_yaml_has_no_schema_so_any_key_reaches_the_class():
    body = yaml.safe_load((CONF / "optimizer" / "custom.yaml").read_text())
    assert "defaults" not in body and body["name"] == "custom" and body["target"] == "???"
    composed = validate(
        compose_cfg(
            "optimizer=custom", "optimizer.target=m:C", "+optimizer.beta=0.5",
            "optimizer.weight_decay=0.1", "model=mlp",
        )
    ).optimizer  # fmt: skip
    assert type(composed) is OPTIMIZERS["custom"].schema
    assert composed.kwargs == {"beta": 0.5} and composed.weight_decay == 0.1


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_each_schedule_yaml_sets_only_its_name(name):
    extends, body = yaml_of("schedule", name)
    assert schedule_schemas.SCHEMAS[extends] and body == {"name": name}


def test_one_row_per_schedule_yaml_and_every_row_has_a_framework():
    assert sorted(SCHEDULES) == options("schedule")
    assert all(row.keras or row.sklearn or row.numpy for row in SCHEDULES.values())


def test_the_names_each_row_gives_exist():
    for name, row in OPTIMIZERS.items():
        if row.reference and row.reference != TARGET:  # TARGET: the config names the class
            rule = getattr(reference, row.reference)
            assert set(row.preset) <= {f.name for f in dataclasses.fields(rule)}, name
        if row.momentum_key:
            assert row.momentum_key in defaults_of(row.schema), name
        assert row.keras or row.wraps or row.sklearn, f"{name} has no framework"


def test_sam_is_a_wrapper_whose_bases_have_keras_classes():
    sam = OPTIMIZERS["sam"]
    assert WRAPPERS == ("sam",) and sam.wraps == "base" and sam.gradient_evaluations == 2
    assert all(OPTIMIZERS[b].keras and not OPTIMIZERS[b].wraps for b in SAM_BASES)
    settings = sam.train_step(validate(compose_cfg("optimizer=sam", "model=mlp")).optimizer)
    assert settings == {"sam_rho": 0.05, "sam_adaptive": False}


def test_the_momentum_search_covers_every_momentum_key():
    params = yaml.safe_load((CONF / "hparams_search" / "lr_momentum.yaml").read_text())
    searched = {k.removeprefix("optimizer.") for k in params["hydra"]["sweeper"]["params"]}
    assert {row.momentum_key for row in OPTIMIZERS.values()} - {None} <= searched


def test_the_model_rows_name_real_optimizers():
    listed = {n for row in MODELS.values() for n in row.sklearn_optimizers}
    assert listed == {name for name, row in OPTIMIZERS.items() if row.sklearn}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model=mlp", "model.framework=numpy"],
            "model=mlp is not a NumPy model; those are: landscape.",
        ),
        (
            ["model=mlp_sklearn", "model.framework=keras", "optimizer=adam"],
            "model=mlp_sklearn is not a Keras model; those are: logreg, mlp, cnn_2c2d.",
        ),
        (
            ["model=resnet50", "dataset=digits", "trainer.animate=true"],
            "trainer.animate=true applies to model=landscape runs only.",
        ),
        (
            ["model=resnet50", "dataset=cifar10", "optimizer=sam"],
            "optimizer=sam is not supported with model=resnet50.",
        ),
    ],
)
def test_rules_refuse_before_the_trainer_is_built(overrides, message):
    with pytest.raises(OptbenchError) as info:
        prepare(compose_cfg(*overrides))
    assert str(info.value) == message


def test_an_optimizer_without_a_row_is_named():
    cfg = validate(compose_cfg("model=mlp", "optimizer=adam"))
    cfg.optimizer.name = "adam2"
    with pytest.raises(OptbenchError, match=r"^optimizer=adam2 has no row in the optimizer"):
        compat.check(cfg)
