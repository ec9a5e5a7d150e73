"""Helpers shared by the Keras trainer tests: in-process fits, CLI runs, the GPUs present."""

from __future__ import annotations

from optbench.callbacks import CallbackList, DivergenceGuard
from optbench.data import load_dataset
from optbench.data.splits import scale
from optbench.runner import prepare
from tests.conftest import client, compose_cfg


def gpus() -> list:
    """The GPUs TensorFlow finds on this machine: device tests assert the behaviour for either
    case instead of assuming none."""
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def cli_run_tags(tmp_path, *overrides: str) -> dict[str, str]:
    """Tags of one run of the real CLI. A fresh process: TensorFlow fixes its visible devices
    once per process, and in this one earlier tests may already have done so."""
    from tests.conftest import run_cli

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(*overrides, f"tracking.uri={store}", "trainer.progress=false", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    mlflow = client(store)
    (run,) = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    return run.data.tags


def fit(*overrides: str, callbacks=()):
    """Train in-process without MLflow: (result, settings, splits)."""
    cfg = compose_cfg("trainer.progress=false", *overrides)
    plan = prepare(cfg)
    settings = plan.settings
    splits = scale(load_dataset(settings.dataset, settings.seed), settings.model.input_scaling)
    result = plan.trainer.fit(splits, CallbackList([DivergenceGuard(), *callbacks]))
    return result, settings, splits
