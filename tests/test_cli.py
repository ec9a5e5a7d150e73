"""The real `optbench` command: default run, user errors, multirun parent/child runs."""

import os
import textwrap

import pytest

from tests.conftest import client, run_cli, store_of

pytestmark = pytest.mark.slow


def test_default_run_is_offline_fast_and_accurate(tmp_path):
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "test_accuracy" in done.stdout and "make ui" in done.stdout
    assert f"sqlite:///{tmp_path}/runs/mlflow.db" in done.stdout
    (run,) = client(store_of(tmp_path)).search_runs(["1"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_accuracy"] >= 0.95


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trainer.max_iter=-5"], "trainer.max_iter=-5 is not allowed"),
        (
            ["model=mlp_sklearn", "optimizer=adam", "optimizer.lr=-1"],
            "optimizer.lr=-1.0 is not allowed",
        ),
        (["model=mlp_sklearn"], "it accepts: adam, sgd"),
    ],
)
def test_user_errors_exit_2_with_one_clear_line_and_no_run(tmp_path, args, message):
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    db = tmp_path / "runs" / "mlflow.db"
    assert not db.exists() or not client(store_of(tmp_path)).search_runs(["1"])


def test_unknown_choice_lists_the_valid_ones(tmp_path):
    done = run_cli("dataset=cifar100", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Available options in 'dataset'" in done.stderr
    assert "digits" in done.stderr and "mnist" in done.stderr


def test_multirun_makes_one_parent_and_a_child_per_job(tmp_path):
    done = run_cli(
        "-m",
        "optimizer=saga,lbfgs",
        "seed=0,1",
        "trainer.max_iter=10",
        "trainer.progress=false",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    runs = client(store_of(tmp_path)).search_runs(["1"])
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
    children = [r for r in runs if r is not parent]
    assert len(children) == 4 and parent.info.status == "FINISHED"
    sweep_id = parent.data.tags["optbench.sweep_id"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["optbench.sweep_id"] == sweep_id
    combos = {(c.data.params["optimizer.name"], c.data.params["seed"]) for c in children}
    assert combos == {("saga", "0"), ("saga", "1"), ("lbfgs", "0"), ("lbfgs", "1")}
    job_dirs = sorted(p.name for p in (tmp_path / "runs" / "multirun").glob("*/*/*") if p.is_dir())
    assert job_dirs == ["0", "1", "2", "3"]
    assert parent.data.metrics["n_jobs"] == 4 and parent.data.metrics["n_failed"] == 0


def test_a_failing_job_is_recorded_and_the_others_finish(tmp_path):
    done = run_cli(
        "-m",
        "model=mlp_sklearn",
        "optimizer=adagrad,adam",
        "trainer.max_iter=5",
        "trainer.progress=false",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "cannot be trained with optimizer=adagrad" in done.stderr
    runs = client(store_of(tmp_path)).search_runs(["1"])
    by_name = {r.data.tags.get("optbench.optimizer", "sweep"): r for r in runs}
    assert by_name["adagrad"].info.status == "FAILED"
    assert "it accepts: adam, sgd" in by_name["adagrad"].data.tags["optbench.error"]
    assert by_name["adam"].info.status == "FINISHED"
    assert by_name["sweep"].info.status == "FAILED"
    assert "RUNNING" not in {r.info.status for r in runs}


def test_sklearn_runs_never_import_tensorflow(tmp_path):
    poison = tmp_path / "poison"
    for name in ("tensorflow", "keras"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(
            textwrap.dedent(f"""
            raise ImportError("{name} must not be imported on the scikit-learn path")
        """)
        )
    env = {"PYTHONPATH": os.pathsep.join([str(poison), os.environ.get("PYTHONPATH", "")])}
    done = run_cli(
        "model=mlp_sklearn", "optimizer=adam", "trainer.max_iter=5", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_joblib_launcher_runs_parallel_jobs_into_one_store(tmp_path):
    """8 jobs on 2 joblib workers write to one SQLite store at once: every job's params and
    every metric step land, no 'database is locked', one parent with 8 FINISHED children."""
    done = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=mlp_sklearn",
        "optimizer=adam,sgd",
        "seed=0,1,2,3",
        "trainer.max_iter=15",
        "trainer.early_stop.enabled=false",
        "tracking.log_every=1",  # one write per step: the most contention
        "trainer.progress=false",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "database is locked" not in done.stderr
    mlflow = client(store_of(tmp_path))
    runs = mlflow.search_runs(["1"])
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
    children = [r for r in runs if r is not parent]
    assert len(children) == 8 and parent.info.status == "FINISHED"
    assert {(c.data.params["optimizer.name"], c.data.params["seed"]) for c in children} == {
        (o, str(s)) for o in ("adam", "sgd") for s in range(4)
    }
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        cores = os.cpu_count() or 1
        assert child.data.tags["optbench.threads"] == str(max(1, cores // min(2, cores)))
        steps = [m.step for m in mlflow.get_metric_history(child.info.run_id, "train_loss")]
        assert steps == list(range(1, 16))


def test_skip_existing_runs_only_the_missing_jobs(tmp_path):
    """A 'interrupted' sweep (only saga ran) re-launched with skip_existing: only lbfgs runs."""
    common = ["trainer.max_iter=5", "trainer.progress=false", "trainer.skip_existing=true"]
    first = run_cli("optimizer=saga", *common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    again = run_cli("-m", "optimizer=saga,lbfgs", *common, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "skipped" in again.stdout and "identical run already FINISHED" in again.stdout
    runs = client(store_of(tmp_path)).search_runs(["1"])
    optimizers = sorted(
        r.data.tags["optbench.optimizer"] for r in runs if "optbench.optimizer" in r.data.tags
    )
    assert optimizers == ["lbfgs", "saga"]  # saga was not run a second time
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
    assert parent.data.metrics["n_jobs"] == 1
