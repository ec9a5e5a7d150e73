"""Every job is checked before any work: a sweep with one impossible job, a suite whose data
is missing, optimizer=custom without its class. Each is refused in one line (exit 2) with
nothing started: no parent run, no store, no workload scored as 'not reached'."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError, grouped
from optbench.schema import validate
from optbench.suite.cli import main as suite_main
from tests.conftest import compose_cfg, run_cli


def _one_line(capsys) -> str:
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ")
    return line


@pytest.mark.slow
def test_a_sweep_with_an_impossible_job_is_refused_before_any_job(tmp_path):
    """It launched every job and left FAILED runs and a FAILED parent before. (A subprocess:
    Hydra's multirun sets up logging on the streams it finds, pytest's captured ones here.)"""
    done = run_cli("-m", "model=mlp_sklearn", "optimizer=adagrad,adam,rmsprop", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line == (
        "error: 2 of 3 jobs cannot run, so none started: #0 (model=mlp_sklearn "
        "optimizer=adagrad): model=mlp_sklearn cannot be trained with optimizer=adagrad; it "
        "accepts: adam, sgd, momentum, nesterov; #2 (model=mlp_sklearn optimizer=rmsprop): "
        "model=mlp_sklearn cannot be trained with optimizer=rmsprop; it accepts: adam, sgd, "
        "momentum, nesterov."
    )
    assert not (tmp_path / "runs").exists()  # no store, no parent run, no job folder


def test_custom_without_its_class_names_the_key_and_an_example():
    with pytest.raises(OptbenchError) as refused:
        validate(compose_cfg("model=mlp", "optimizer=custom"))
    assert str(refused.value) == (
        "optimizer.target is required and was not given; optimizer=custom needs the class to "
        "train with: optimizer.target=my_optimizers:SignDescent (module:Class, importable from "
        "the working directory or PYTHONPATH)."
    )


def test_the_suite_refuses_custom_without_its_class_once(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert suite_main(["optimizer=custom", "suite.workloads=[logreg_digits,rosenbrock]"]) == 2
    line = _one_line(capsys)
    assert line.startswith(
        "error: 2 of 2 workloads cannot run, so none started (suite.workloads=[...] picks "
        "others): logreg_digits, rosenbrock: optimizer.target is required"
    )
    assert not (tmp_path / "runs").exists()


def test_the_suite_refuses_missing_data_before_its_first_run(capsys, tmp_path, monkeypatch):
    """With the data folder missing it ran for a minute, scored 3 workloads 'not reached'
    and exited 0; now every workload's files are checked first."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPTBENCH_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("HOME", str(tmp_path))  # nor Keras's cache ~/.keras/datasets
    assert suite_main(["optimizer=adam", "suite.workloads=[logreg_digits,mobilenet_head]"]) == 2
    line = _one_line(capsys)
    assert line.startswith("error: 1 of 2 workloads cannot run, so none started")
    assert "mobilenet_head: this run needs files that are not on this machine" in line
    assert "cifar10_data_batch_4_first1329_exact.npz" in line and "logreg_digits:" not in line
    assert not (tmp_path / "runs").exists()


def test_grouped_says_a_shared_reason_once():
    assert grouped([("a", "no."), ("b", "no."), ("c", "other")]) == "a, b: no; c: other."
