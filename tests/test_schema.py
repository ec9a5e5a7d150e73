"""Config validation: every bad input names the key, the value and what is allowed."""

import os

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf.errors import ConfigAttributeError, ValidationError

from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.schema import CpuConfig, GpuConfig, validate
from optbench.trainers.base import framework_of
from tests.conftest import REPO, compose_cfg


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
            "dataset.n_informative=30 is not allowed: must be <= dataset.n_features=20",
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
            ["model=mlp_sklearn", "optimizer=adam", "optimizer.clipnorm=1"],
            "not available in scikit-learn",
        ),
        (
            ["model=mlp_sklearn", "optimizer=saga"],  # alone, model=mlp_sklearn brings adam
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


def test_both_mlps_name_their_layer_sizes_hidden_sizes():
    keras_mlp = validate(compose_cfg("model=mlp", "model.hidden_sizes=[64,32]")).model
    sklearn_mlp = validate(compose_cfg("model=mlp_sklearn", "optimizer=adam")).model
    assert (keras_mlp.hidden_sizes, sklearn_mlp.hidden_sizes) == ([64, 32], [100])


def test_only_gpu_hardware_has_gpu_settings():
    cpu = validate(compose_cfg("hardware=cpu")).hardware
    assert isinstance(cpu, CpuConfig) and not isinstance(cpu, GpuConfig)
    assert not hasattr(cpu, "gpus") and not hasattr(cpu, "fallback")
    for name in ("gpu", "mixed", "multi_gpu"):
        gpu = validate(compose_cfg(f"hardware={name}")).hardware
        assert isinstance(gpu, GpuConfig) and gpu.device == "gpu" and gpu.fallback == "error"
    with pytest.raises(ConfigCompositionException):
        compose_cfg("hardware=cpu", "hardware.fallback=cpu")


def test_unknown_group_choice_lists_valid_options():
    with pytest.raises(MissingConfigException) as info:
        compose_cfg("optimizer=adamm")
    message = str(info.value)
    assert "Could not find 'optimizer/adamm'" in message
    options = {line.strip() for line in message.splitlines() if line.startswith("\t")}
    shipped = {p.stem for p in (REPO / "conf" / "optimizer").glob("*.yaml")}
    assert shipped and shipped <= options  # every optimizer the package ships is offered


class _Submitted(Exception):
    """Raised where submitit would run sbatch; carries the sbatch script it wrote."""


def test_the_slurm_launcher_config_composes_onto_submitit(tmp_path, monkeypatch):
    """Build the real SlurmLauncher from conf/hydra/launcher/slurm.yaml and launch a 2-job sweep
    through submitit down to the sbatch script: a key submitit rejects, or a value that does not
    reach sbatch, fails here rather than on the cluster. Only the sbatch call itself is cut."""
    import submitit
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.types import HydraContext
    from submitit.slurm.slurm import SlurmExecutor

    from optbench.cli import _task

    # submitit only builds a SLURM executor where `srun` is on PATH (a cluster's login node)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    def submit(executor: SlurmExecutor, command: str) -> None:
        raise _Submitted(executor._make_submission_file_text(command, "test"))

    monkeypatch.setattr(SlurmExecutor, "_submit_command", submit)

    sweep_dir = tmp_path / "multirun"
    jobs = [["optimizer=sgd", "seed=0"], ["optimizer=adam", "seed=1"]]
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                "hydra/launcher=slurm",
                "hydra.launcher.partition=gpu",
                f"hydra.sweep.dir={sweep_dir}",
            ],
            return_hydra_config=True,
        )
        context = HydraContext(
            config_loader=GlobalHydra.instance().config_loader(), callbacks=Callbacks(cfg)
        )
        launcher = Plugins.instance().instantiate_launcher(  # also calls launcher.setup(...)
            hydra_context=context, task_function=_task, config=cfg
        )
        assert type(launcher).__name__ == "SlurmLauncher"
        with pytest.raises(_Submitted) as submitted:
            launcher.launch(jobs, initial_job_idx=0)

    sbatch = submitted.value.args[0].splitlines()
    for flag in (
        "--time=60",
        "--nodes=1",
        "--ntasks-per-node=1",
        "--cpus-per-task=4",
        "--gpus-per-node=0",
        "--mem=16GB",
        "--partition=gpu",
        "--array=0-1%2",  # one array of 2 tasks, at most array_parallelism=64 at once
        "--signal=USR2@120",
    ):
        assert f"#SBATCH {flag}" in sbatch, (flag, sbatch)
    assert any("-m submitit.core._submit" in line for line in sbatch)
    # each array task unpickles one job: the launcher with its overrides and job number
    pickles = list((sweep_dir / ".submitit").glob("*.pkl"))
    shipped = [submitit.helpers.DelayedSubmission.load(p) for p in pickles]
    assert sorted((d.args[2], d.args[0]) for d in shipped) == [(0, jobs[0]), (1, jobs[1])]
    assert all(type(d.function).__name__ == "SlurmLauncher" for d in shipped)
