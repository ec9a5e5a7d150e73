"""optimizer=custom: a user's own optimizer class, kept outside the package
(tests/custom_optimizers/), trains through the real CLI; every way the target can be wrong
stops the run before any work with one line (exit 2) and leaves no run RUNNING.

One test runs the command in a subprocess with the code on PYTHONPATH, as a user would; the
others run it in this process (``optbench_main``) with the folder on ``sys.path``: what they
check is the command's behaviour, not how the interpreter finds the code."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import client, needs_mnist, run_cli

USER_CODE = Path(__file__).parent / "custom_optimizers"
ENV = {"PYTHONPATH": f"{USER_CODE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def stored_runs(tmp_path) -> list:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs = []
    if (tmp_path / "mlflow.db").exists():
        mlflow = client(store)
        runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    return runs


def optbench(tmp_path, *args: str):
    """The real command in a subprocess, the user's folder on PYTHONPATH."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(*args, f"tracking.uri={store}", "trainer.progress=false", cwd=tmp_path, env=ENV)
    return done, stored_runs(tmp_path)


@pytest.fixture
def in_process(optbench_main, monkeypatch):
    """The command in this process, the user's folder on sys.path."""
    monkeypatch.syspath_prepend(str(USER_CODE))

    def run(tmp_path, *args: str):
        store = f"sqlite:///{tmp_path / 'mlflow.db'}"
        done = optbench_main(*args, f"tracking.uri={store}", "trainer.progress=false", cwd=tmp_path)
        return done, stored_runs(tmp_path)

    return run


@pytest.mark.slow
@needs_mnist
def test_sign_descent_trains_the_mnist_mlp_and_the_run_keeps_its_code(tmp_path):
    done, runs = optbench(
        tmp_path, "model=mlp", "optimizer=custom", "optimizer.target=sign_descent:SignDescent",
        "optimizer.lr=0.001", "+optimizer.beta=0.9", "dataset.subset=5000", "trainer.max_iter=3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = runs
    assert run.info.status == "FINISHED" and run.data.metrics["test_accuracy"] > 0.85
    assert run.info.run_name == "mlp-SignDescent-mnist-s0"
    tags, params = run.data.tags, run.data.params
    # the default diagnostics probe the user's optimizer too: sign descent's steps are lr per
    # entry, a measurable update
    assert 0 < run.data.metrics["diag_update_ratio"] < 1 and tags["optbench.diagnostics"] == "basic"
    assert tags["optbench.optimizer"] == "custom:sign_descent:SignDescent"
    source = USER_CODE / "sign_descent.py"
    assert (
        tags["optbench.optimizer_source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    )
    assert (
        params["optimizer.beta"] == "0.9"
        and params["optimizer.target"] == "sign_descent:SignDescent"
    )
    copy = client(f"sqlite:///{tmp_path / 'mlflow.db'}").download_artifacts(
        run.info.run_id, "optimizer/sign_descent.py", str(tmp_path)
    )
    assert Path(copy).read_bytes() == source.read_bytes()


@pytest.mark.slow
def test_a_users_config_folder_names_the_optimizer(tmp_path, in_process):
    """optbench --config-dir my_conf optimizer=my_sign, with my_conf/optimizer/my_sign.yaml."""
    folder = tmp_path / "my_conf" / "optimizer"
    folder.mkdir(parents=True)
    (folder / "my_sign.yaml").write_text(
        "name: custom\ntarget: sign_descent:SignDescent\nlr: 0.01\nbeta: 0.5\n"
    )
    done, runs = in_process(
        tmp_path, "--config-dir", str(tmp_path / "my_conf"), "model=mlp", "dataset=digits",
        "optimizer=my_sign", "optimizer.beta=0.8", "trainer.max_iter=5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = runs
    assert run.data.params["optimizer.beta"] == "0.8" and run.data.params["optimizer.lr"] == "0.01"
    assert run.data.metrics["test_accuracy"] > 0.8


@pytest.mark.slow
def test_the_landscape_takes_a_reference_rule_and_it_walks_the_keras_class_path(
    tmp_path, in_process
):
    """The same rule twice: the NumPy protocol class and the Keras optimizer, from (-1, 1) on
    Rosenbrock: the same end point."""
    ends = []
    for implementation, target in (("numpy", "SignRule"), ("keras", "SignDescent")):
        (tmp_path / implementation).mkdir()
        done, runs = in_process(
            tmp_path / implementation, "model=landscape", "dataset=rosenbrock",
            f"model.implementation={implementation}", "optimizer=custom",
            f"optimizer.target=sign_descent:{target}", "optimizer.lr=0.01",
            "+optimizer.beta=0.5", "trainer.max_iter=50",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        (run,) = runs
        ends.append((run.data.metrics["x_final"], run.data.metrics["y_final"]))
    assert ends[0] == pytest.approx(ends[1], abs=1e-9)
    assert ends[0] != pytest.approx((-1.0, 1.0), abs=0.1)  # it moved


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ("optimizer.target=nosuch.module:X",),
            "optimizer.target=nosuch.module:X: module nosuch.module cannot be imported from the "
            "working directory or PYTHONPATH (No module named 'nosuch')",
        ),
        (
            ("optimizer.target=sign_descent:Nope",),
            "optimizer.target=sign_descent:Nope: module sign_descent (",
        ),
        (
            ("optimizer.target=sign_descent:NotAnOptimizer",),
            "optimizer.target=sign_descent:NotAnOptimizer is not a keras.optimizers.Optimizer "
            "subclass",
        ),
        (
            ("optimizer.target=sign_descent:SignDescent", "+optimizer.gamma=1"),
            "optimizer.gamma: SignDescent does not take the keyword gamma; it takes: beta,",
        ),
        (
            ("optimizer.target=sign_descent",),
            "optimizer.target='sign_descent' is not allowed: must be package.module:ClassName.",
        ),
        (
            ("model=mlp_sklearn", "optimizer.target=sign_descent:SignDescent"),
            "optimizer=custom: model=mlp_sklearn trains in scikit-learn, which takes no custom "
            "optimizer",
        ),
    ],
)
def test_a_wrong_target_stops_before_any_work_with_one_line(
    tmp_path, in_process, overrides, message
):
    done, runs = in_process(tmp_path, "model=mlp", "dataset=digits", "optimizer=custom", *overrides)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and message in lines[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert all(r.info.status != "RUNNING" for r in runs)


@pytest.mark.slow
def test_reproduce_says_when_the_optimizers_code_changed(tmp_path, optbench_main, monkeypatch):
    code = tmp_path / "code"
    code.mkdir()
    (code / "my_sign.py").write_text((USER_CODE / "sign_descent.py").read_text())
    monkeypatch.syspath_prepend(str(code))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = ("tracking.uri=" + store, "trainer.progress=false")
    done = optbench_main(
        "model=mlp", "dataset=digits", "optimizer=custom", "optimizer.target=my_sign:SignDescent",
        "trainer.max_iter=2", *common, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = stored_runs(tmp_path)
    same = optbench_main("reproduce", run.info.run_id, "--uri", store, cwd=tmp_path)
    assert same.returncode == 0 and "code changed" not in same.stdout, same.stderr[-2000:]
    with (code / "my_sign.py").open("a") as handle:
        handle.write("\n# edited after the run\n")
    changed = optbench_main("reproduce", run.info.run_id, "--uri", store, cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr[-2000:]
    assert "the optimizer's code changed since the run" in " ".join(changed.stdout.split())
