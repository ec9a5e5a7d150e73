"""Config validation: every bad input names the key, the value and what is allowed."""

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigAttributeError, ValidationError

from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.trainers.base import framework_of
from tests.conftest import compose_cfg


def test_default_config_is_the_offline_saga_run():
    settings = prepare(compose_cfg()).settings
    assert (settings.dataset.name, settings.model.name, settings.optimizer.name) == (
        "digits",
        "logreg",
        "saga",
    )
    assert settings.model.framework == "auto"
    assert framework_of(settings) == "sklearn"  # saga: scikit-learn; sgd/adam/...: Keras


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["model=mlp_sklearn", "optimizer=adam", "optimizer.lr=-0.1"],
            "optimizer.lr=-0.1 is not allowed: must be a number in (0, inf)",
        ),
        (
            ["dataset.val_fraction=1.5"],
            "dataset.val_fraction=1.5 is not allowed: must be a number in (0, 1)",
        ),
        (
            ["trainer.max_iter=-5"],
            "trainer.max_iter=-5 is not allowed: must be an integer in [1, inf)",
        ),
        (["dataset.subset=12.5"], "dataset.subset=12.5 is not allowed: must be a whole number"),
        (
            ["trainer.batch_size=0", "model=mlp_sklearn", "optimizer=adam"],
            "trainer.batch_size=0 is not allowed: must be an integer in [1, inf) or one of 'auto', 'full'",
        ),
        (
            ["model=mlp_sklearn", "optimizer=adam", "model.hidden_sizes=[]"],
            "model.hidden_sizes=[] is not allowed: must be a non-empty list",
        ),
        (
            ["model=mlp_sklearn", "optimizer=sgd", "optimizer.nesterov=true"],
            "optimizer.nesterov=true needs optimizer.momentum > 0",
        ),
        (
            ["trainer.early_stop.monitor=accuracy"],
            "trainer.early_stop.monitor='accuracy' is not allowed: must be one of 'train_loss', 'val_loss'",
        ),
        (
            ["dataset=synthetic", "dataset.n_informative=30"],
            "dataset.n_informative=30 is not allowed",
        ),
    ],
)
def test_out_of_range_values_name_key_value_and_allowed(overrides, expected):
    with pytest.raises(OptbenchError) as info:
        prepare(compose_cfg(*overrides))
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["model=mlp_sklearn", "optimizer=adagrad"],
            "model=mlp_sklearn cannot be trained with optimizer=adagrad; it accepts: adam, sgd, "
            "momentum, nesterov",
        ),
        (
            ["model=mlp_sklearn", "optimizer=adam", "optimizer.clipnorm=1"],
            "not available in scikit-learn",
        ),
        (
            ["model=mlp_sklearn"],
            "model=mlp_sklearn cannot be trained with optimizer=saga; it accepts: adam, sgd",
        ),
        (["model.l1_ratio=0.5", "optimizer=lbfgs"], "needs optimizer=saga"),
        (["schedule=invscaling"], "schedule=invscaling is not available for model=logreg"),
        (["model=mlp_sklearn", "optimizer=adam", "schedule=adaptive"], "optimizer=sgd only"),
        (["trainer.batch_size=32"], "trainer.batch_size=32 does not apply to optimizer=saga"),
    ],
)
def test_incompatible_combinations_list_what_is_accepted(overrides, expected):
    with pytest.raises(OptbenchError) as info:
        prepare(compose_cfg(*overrides))
    assert expected in str(info.value)


def test_wrong_type_is_rejected_at_composition_with_the_key():
    with pytest.raises(ConfigCompositionException) as info:
        compose_cfg("dataset.val_fraction=abc")
    assert isinstance(info.value.__cause__, ValidationError)
    assert "dataset.val_fraction" in str(info.value.__cause__)


def test_unknown_key_is_rejected():
    with pytest.raises(ConfigCompositionException) as info:
        compose_cfg("optimizer.lr=0.1")  # saga picks its own step size: no lr key
    assert isinstance(info.value.__cause__, ConfigAttributeError)
    assert "Key 'lr' not in 'SolverConfig'" in str(info.value.__cause__)


def test_force_added_unknown_key_is_rejected_before_work_starts():
    with pytest.raises(
        OptbenchError, match=r"optimizer.lr is not a known key here; optimizer accepts: name"
    ):
        prepare(compose_cfg("+optimizer.lr=0.1"))


def test_unknown_group_choice_lists_valid_options():
    with pytest.raises(Exception) as info:
        compose_cfg("optimizer=adamm")
    message = str(info.value)
    assert "optimizer/adamm" in message
    for valid in ("adam", "lbfgs", "sag", "saga", "sgd"):
        assert f"\t{valid}" in message


def test_the_slurm_launcher_config_composes_onto_submitit():
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert (
        launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    )
    assert (launcher.timeout_min, launcher.cpus_per_task, launcher.mem_gb) == (60, 4, 16)
