"""Keras on every backend (hardware.backend, optbench/backends/): the same runs on TensorFlow,
JAX and PyTorch, each in its own process (Keras picks its backend once per process)."""

from __future__ import annotations

import importlib.util

import pytest

from optbench.errors import OptbenchError
from tests.conftest import client, compose_cfg, needs_mnist, requires, run_cli
from tests.keras_support import cli_run_tags

HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_jax = requires(HAS_JAX, "JAX is not installed: pip install -e '.[dev]' (it includes jax)")
needs_torch = requires(
    HAS_TORCH,
    "PyTorch is not installed: make torch (the CPU wheel from download.pytorch.org)",
)


def sweep_runs(tmp_path, *overrides: str, timeout: float = 600) -> list:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "-m", *overrides, f"tracking.uri={store}", "trainer.progress=false",
        cwd=tmp_path, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    mlflow = client(store)
    runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    return [r for r in runs if r.data.tags.get("optbench.role") != "sweep"]


@pytest.mark.slow
@needs_jax
def test_mixed_bfloat16_on_jax_computes_in_bfloat16_and_says_so(tmp_path):
    tags = cli_run_tags(
        tmp_path, "model=mlp", "dataset=digits", "hardware=mixed", "hardware.fallback=cpu",
        "hardware.precision=mixed_bfloat16", "hardware.backend=jax", "trainer.max_iter=2",
    )  # fmt: skip
    assert tags["optbench.backend"] == "jax" and tags["optbench.compute_dtype"] == "bfloat16"
    assert tags["optbench.precision"] == "mixed_bfloat16" and tags["optbench.xla"] == "true"


@pytest.mark.slow
@needs_jax
def test_a_sweep_over_backends_runs_each_job_on_its_backend(tmp_path):
    """The basic launcher runs jobs in one process: the JAX job gets a fresh one, so that
    both backends are never loaded together, and stays a child of the sweep."""
    runs = sweep_runs(
        tmp_path, "model=mlp", "dataset=digits", "optimizer=sam", "optimizer.base=adam",
        "optimizer.lr=0.003", "hardware.backend=tensorflow,jax", "trainer.max_iter=3",
    )  # fmt: skip
    by_backend = {r.data.params["hardware.backend"]: r for r in runs}
    assert sorted(by_backend) == ["jax", "tensorflow"]
    for backend, run in by_backend.items():
        assert run.info.status == "FINISHED"
        assert run.data.tags["optbench.backend"] == backend
        assert run.data.tags["mlflow.parentRunId"]
        assert run.data.metrics["test_accuracy"] > 0.9, backend  # measured 0.933 and 0.931
    assert by_backend["jax"].info.run_name.endswith("-jax")


@needs_torch
@pytest.mark.slow
@pytest.mark.acceptance
def test_torch_trains_the_mlp_with_adam_sgd_and_sam(tmp_path):
    runs = sweep_runs(
        tmp_path, "model=mlp", "dataset=digits", "hardware.backend=torch",
        "optimizer=adam,sgd,sam", "optimizer.lr=0.05", "trainer.max_iter=10",
    )  # fmt: skip
    accuracy = {r.data.tags["optbench.optimizer"]: r.data.metrics["test_accuracy"] for r in runs}
    assert accuracy.keys() == {"adam", "sgd", "sam"}
    assert all(value > 0.85 for value in accuracy.values()), accuracy
    assert {r.data.tags["optbench.backend"] for r in runs} == {"torch"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ("hardware.backend=torch", "hardware.xla=true"),
            "hardware.xla=true with hardware.backend=torch: the torch backend has no XLA",
        ),
        (
            ("hardware=multi_gpu", "hardware.backend=torch"),
            "hardware.gpus=all with hardware.backend=torch: optbench runs the torch backend "
            "on one device",
        ),
    ],
)
def test_an_option_the_backend_cannot_honour_is_refused_before_any_work(overrides, message):
    from optbench.runner import prepare

    with pytest.raises(OptbenchError, match=message):
        prepare(compose_cfg("model=mlp", "dataset=digits", *overrides))


def test_a_backend_that_is_not_installed_is_named_with_its_install_command(monkeypatch):
    from optbench import backends

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    settings = compose_cfg("model=mlp", "dataset=digits", "hardware.backend=jax")
    with pytest.raises(OptbenchError, match=r"jax is not installed .*pip install -e '\.\[jax\]'"):
        backends.check(settings.hardware)


def test_a_process_never_switches_backend():
    import keras  # this process runs TensorFlow

    from optbench.hardware import select_backend

    assert keras.backend.backend() == "tensorflow"
    with pytest.raises(OptbenchError, match="Keras already runs on tensorflow in this process"):
        select_backend(compose_cfg("hardware.backend=jax").hardware)


def test_the_cli_refuses_an_unknown_backend_with_one_line(tmp_path, optbench_main):
    done = optbench_main("model=mlp", "hardware.backend=mxnet", cwd=tmp_path)
    assert done.returncode == 2
    assert "hardware.backend" in done.stderr and "'tensorflow', 'jax', 'torch'" in done.stderr
    assert "Traceback" not in done.stderr


@needs_jax
@needs_mnist
@pytest.mark.slow
@pytest.mark.acceptance
def test_mnist_optimizers_experiment_matches_the_reference_on_tensorflow_and_jax(tmp_path):
    """+experiment=mnist_optimizers (the reference notebook's SGD, RMSprop, Adam; full MNIST,
    5 epochs) on both backends from the same seed: each within 1 point of the notebook's test
    accuracy (SGD 0.936, RMSprop 0.972, Adam 0.976) and of the other backend's.
    steps_per_execution=32 changes no update, only Keras's overhead. (The TensorFlow-only run
    of the experiment as typed, which measured SGD 0.9362, RMSprop 0.9747, Adam 0.9735 at
    seed 0, is this test's TensorFlow half; it was dropped as a duplicate to keep CI short.)"""
    runs = sweep_runs(
        tmp_path, "+experiment=mnist_optimizers", "hardware.backend=tensorflow,jax",
        "trainer.steps_per_execution=32", timeout=1500,
    )  # fmt: skip
    accuracy = {
        (r.data.tags["optbench.backend"], r.data.tags["optbench.optimizer"]): r.data.metrics[
            "test_accuracy"
        ]
        for r in runs
    }
    reference = {"sgd": 0.936, "rmsprop": 0.972, "adam": 0.976}
    assert len(accuracy) == 6, accuracy
    for name, value in reference.items():
        tf_acc, jax_acc = accuracy["tensorflow", name], accuracy["jax", name]
        assert tf_acc == pytest.approx(value, abs=0.01), (name, accuracy)
        assert jax_acc == pytest.approx(value, abs=0.01), (name, accuracy)
        assert jax_acc == pytest.approx(tf_acc, abs=0.01), (name, accuracy)
    for run in runs:
        assert run.data.params["trainer.max_iter"] == "5"
        assert run.data.params["trainer.batch_size"] == "32"
        assert run.data.tags["optbench.n_train"] == "48000"


ZOO_SCRIPT = """
import json, math, sys
import keras
from optbench.optim.registry import KERAS_CLASSES
from optbench.optim.schedules import SCHEDULES
from tests.keras_support import fit

assert keras.backend.backend() == sys.argv[1]
trained = []
jobs = [(f"optimizer={name}", "schedule=constant") for name in KERAS_CLASSES if name != "custom"]
jobs += [("optimizer=sam", "schedule=constant"), ("optimizer=sam", "optimizer.adaptive=true")]
jobs += [("optimizer=adam", f"schedule={name}") for name in SCHEDULES if SCHEDULES[name].keras]
for job in jobs:
    result, _, _ = fit("model=mlp", "dataset=digits", "trainer.max_iter=2",
                       f"hardware.backend={sys.argv[1]}", *job)
    first, last = result.history[0], result.history[-1]
    trained.append((" ".join(job), not result.diverged and math.isfinite(last["val_loss"])
                    and last["train_loss"] < first["train_loss"]
                    and all(math.isfinite(first[k]) for k in ("diag_grad_norm", "diag_update_ratio"))))
print(json.dumps(trained))
"""


@needs_jax
@pytest.mark.slow
@pytest.mark.acceptance
def test_every_optimizer_and_schedule_trains_on_jax():
    """The whole zoo, SAM (and ASAM) and schedule-free included, on the JAX backend: two epochs
    each on digits in one fresh process, every training loss going down."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-c", ZOO_SCRIPT, "jax"], cwd=root, capture_output=True, text=True,
        env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    trained = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "optimizer=schedule_free_adamw schedule=constant" in trained
    assert "optimizer=adam schedule=one_cycle" in trained and len(trained) >= 20, trained
    assert all(trained.values()), {job: ok for job, ok in trained.items() if not ok}
