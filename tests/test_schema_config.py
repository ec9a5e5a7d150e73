"""The whole run's schema: ``validate`` turns a composed config into typed dataclasses and
refuses a force-added key, a value left at ???, and a value out of its range, in one line."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from optbench.errors import OptbenchError
from optbench.schema import config
from optbench.schema.trainer import TrackingConfig, TrainerConfig
from tests.conftest import compose_cfg


def test_a_composed_config_validates_into_the_schemas_dataclasses():
    cfg = config.validate(compose_cfg("seed=7", "objective=val_accuracy"))
    assert isinstance(cfg, config.Config)
    assert isinstance(cfg.trainer, TrainerConfig) and isinstance(cfg.tracking, TrackingConfig)
    assert (cfg.seed, cfg.objective, cfg.experiment_name) == (7, "val_accuracy", "optbench")


def test_a_force_added_top_level_key_names_what_the_top_level_accepts():
    with pytest.raises(OptbenchError) as info:
        config.validate(compose_cfg("+colour=red"))
    assert str(info.value) == (
        "colour is not a known key here; the top level accepts: dataset, model, optimizer, "
        "schedule, hardware, seed, objective, experiment_name, run_name, trainer, tracking."
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("seed=-1", "seed=-1 is not allowed: must be an integer in [0, 4294967295]."),
        ("objective=accuracy",
         "objective='accuracy' is not allowed: must be one of 'val_loss', 'val_accuracy', "
         "'train_loss', 'train_accuracy', 'steps_to_target', 'steps_to_tolerance'."),
    ],
)  # fmt: skip
def test_a_top_level_value_out_of_range_is_refused_with_what_is_allowed(override, message):
    with pytest.raises(OptbenchError) as info:
        config.validate(compose_cfg(override))
    assert str(info.value) == message


def test_a_value_left_at_the_mandatory_marker_says_how_to_give_it():
    cfg = compose_cfg()
    OmegaConf.set_struct(cfg, False)
    cfg.experiment_name = "???"
    with pytest.raises(OptbenchError) as info:
        config.validate(cfg)
    assert str(info.value) == (
        "experiment_name is required and was not given; set it on the command line: "
        "experiment_name=...."
    )
    assert config._missing_value("optimizer.target").startswith(
        "optimizer.target is required and was not given; optimizer=custom needs the class"
    )


def test_every_group_schema_is_registered_for_the_yaml_files_to_extend():
    from hydra.core.config_store import ConfigStore

    config.register_configs()
    repo = ConfigStore.instance().repo
    assert "optbench_schema.yaml" in repo and "suite_settings_schema.yaml" in repo
    for group, schemas in config.SCHEMAS.items():
        stored = repo["schema"][group]
        assert {f"{name}.yaml" for name in schemas} <= set(stored), group
