"""A sweep job re-run in a fresh Python process (optbench/fresh_process.py): which jobs need
one (a Keras backend other than the one this process runs), and how the child finds its number
in the sweep and hands its objective back. (The child process itself, a sweep over backends:
tests/test_keras_backends.py.)"""

from __future__ import annotations

import json
import math

import pytest
from omegaconf import OmegaConf

from optbench.fresh_process import hand_back, in_fresh_process, job_number, needs_fresh_process
from optbench.hardware import loaded_backend
from optbench.schema import validate
from optbench.tracking.env import ENV_JOB_NUM, ENV_JOB_RESULT
from tests.conftest import compose_cfg


@pytest.fixture(autouse=True)
def not_a_child(monkeypatch):
    monkeypatch.delenv(ENV_JOB_NUM, raising=False)
    monkeypatch.delenv(ENV_JOB_RESULT, raising=False)


@pytest.fixture
def keras_on_tensorflow(monkeypatch):
    """This process runs Keras on TensorFlow (Keras reads KERAS_BACKEND once, at import)."""
    if loaded_backend() is None:
        monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    import keras  # noqa: F401

    if loaded_backend() != "tensorflow":
        pytest.skip(f"Keras already runs on {loaded_backend()} in this process")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (("model=mlp", "optimizer=adam", "hardware.backend=tensorflow"), False),
        (("model=mlp", "optimizer=adam", "hardware.backend=jax"), True),
        (("model=mlp", "optimizer=adam", "hardware.backend=torch"), True),
        (("hardware.backend=jax",), False),  # logreg with saga: scikit-learn, no Keras
    ],
    ids=["keras-tensorflow", "keras-jax", "keras-torch", "sklearn"],
)
def test_only_a_keras_job_on_another_backend_needs_a_fresh_process(
    keras_on_tensorflow, overrides, expected
):
    assert needs_fresh_process(validate(compose_cfg(*overrides))) is expected


def test_the_job_number_is_the_sweeps_also_in_the_child(monkeypatch):
    hydra = OmegaConf.create({"job": {"num": 0}})  # to Hydra, the child is a single run
    assert job_number(hydra) == 0
    monkeypatch.setenv(ENV_JOB_NUM, "7")
    assert job_number(hydra) == 7


def test_a_child_is_known_by_the_file_its_objective_goes_to(monkeypatch, tmp_path):
    assert not in_fresh_process()
    monkeypatch.setenv(ENV_JOB_RESULT, "")
    assert not in_fresh_process()
    monkeypatch.setenv(ENV_JOB_RESULT, str(tmp_path / "objective.json"))
    assert in_fresh_process()


@pytest.mark.parametrize("objective", [0.25, math.inf])
def test_the_objective_is_handed_back_as_json(monkeypatch, tmp_path, objective):
    result = tmp_path / "objective.json"
    monkeypatch.setenv(ENV_JOB_RESULT, str(result))
    hand_back(objective)
    assert json.loads(result.read_text()) == objective


def test_a_diverged_objective_comes_back_as_nan(monkeypatch, tmp_path):
    result = tmp_path / "objective.json"
    monkeypatch.setenv(ENV_JOB_RESULT, str(result))
    hand_back(math.nan)
    assert result.read_text() == "NaN" and math.isnan(json.loads(result.read_text()))
