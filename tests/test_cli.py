"""The real `optbench` command: default run, user errors, multirun parent/child runs."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optbench.reproduce import main as reproduce_main
from tests.conftest import client, run_cli, store_of

pytestmark = pytest.mark.slow

# Put on PYTHONPATH, Python imports it at start-up in every process of a run (the CLI and the
# MLflow helper): it records every non-loopback network call and refuses it (PermissionError),
# so a test can prove a run is offline without any packet leaving.
NETWORK_GUARD = textwrap.dedent("""
    import ipaddress, json, os, sys

    LOG = os.environ["OPTBENCH_TEST_NETWORK_LOG"]


    def record(**entry):
        with open(LOG, "a") as log:
            log.write(json.dumps({"pid": os.getpid(), "argv": sys.orig_argv, **entry}) + "\\n")


    def is_local(host):
        if host in (None, "", b"", "localhost", b"localhost"):
            return True
        host = host.decode() if isinstance(host, bytes) else str(host)
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False


    def guard(event, args):
        if event == "socket.getaddrinfo":
            host = args[0]
        elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            if not isinstance(args[1], tuple):  # an AF_UNIX path: on this machine
                return
            host = args[1][0]
        else:
            return
        if not is_local(host):
            record(event=event, host=repr(host))
            raise PermissionError(f"{event} to {host!r} refused: the run must be offline")


    record(event="guard installed")
    sys.addaudithook(guard)
""")
# MLflow stays silent under pytest or CI (mlflow.telemetry.utils): unset for a run as users see it
QUIET_MARKERS = (
    "PYTEST_CURRENT_TEST",
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "CIRCLECI",
    "JENKINS_URL",
    "TRAVIS",
    "TF_BUILD",
    "BUILDKITE",
    "DO_NOT_TRACK",
    "MLFLOW_DISABLE_TELEMETRY",
)


def network_guard(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment that installs NETWORK_GUARD in every Python process, and its log."""
    folder, log = tmp_path / "network_guard", tmp_path / "network.jsonl"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(NETWORK_GUARD)
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "OPTBENCH_TEST_NETWORK_LOG": str(log)}, log


def logged(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def imported_modules(stderr: str) -> set[str]:
    """Module names in the `-X importtime` / PYTHONPROFILEIMPORTTIME report of a run."""
    lines = (line for line in stderr.splitlines() if line.startswith("import time:"))
    return {line.rsplit("|", 1)[-1].strip() for line in lines}


def test_the_network_guard_sees_and_refuses_remote_calls(tmp_path):
    """Sanity check of the guard the offline test relies on: it is installed in a child
    Python, records a DNS lookup and a connect to remote hosts, and lets loopback through."""
    env, log = network_guard(tmp_path)
    probe = textwrap.dedent("""
        import socket
        for call in (lambda: socket.getaddrinfo("example.com", 443),
                     lambda: socket.socket().connect(("192.0.2.1", 9))):
            try:
                call()
            except PermissionError:
                print("blocked")
        socket.getaddrinfo("localhost", 9)
    """)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["blocked", "blocked"]
    entries = logged(log)
    assert [e["event"] for e in entries] == [
        "guard installed",
        "socket.getaddrinfo",
        "socket.connect",
    ]
    assert entries[1]["host"] == "'example.com'" and entries[2]["host"] == "'192.0.2.1'"


def test_default_run_is_offline_fast_and_accurate(tmp_path, monkeypatch):
    for name in QUIET_MARKERS:
        monkeypatch.delenv(name, raising=False)
    env, log = network_guard(tmp_path)
    done = run_cli(cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "test_accuracy" in done.stdout and "make ui" in done.stdout
    assert f"sqlite:///{tmp_path}/runs/mlflow.db" in done.stdout
    # offline: the guard ran in the CLI and in the MLflow helper, and saw no remote call
    entries = logged(log)
    commands = [" ".join(e["argv"]) for e in entries if e["event"] == "guard installed"]
    assert any(c.endswith("-m optbench") for c in commands), commands
    assert any("-m optbench.tracking.helper" in c for c in commands), commands
    assert [e for e in entries if e["event"] != "guard installed"] == []
    (run,) = client(store_of(tmp_path)).search_runs(["1"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_accuracy"] >= 0.95
    # fast: seconds, with a bound generous enough for a loaded CI machine
    metrics = run.data.metrics
    assert metrics["data_load_time_s"] + metrics["fit_time_s"] < 30, metrics
    assert (run.info.end_time - run.info.start_time) / 1000 < 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trainer.max_iter=-5"], "trainer.max_iter=-5 is not allowed"),
        (
            ["model=mlp_sklearn", "optimizer=adam", "optimizer.lr=-1"],
            "optimizer.lr=-1.0 is not allowed",
        ),
        (["model=mlp_sklearn", "optimizer=saga"], "it accepts: adam, sgd"),
        (["model=mlp", "model.hidden=[64]"], "model.hidden was renamed model.hidden_sizes."),
    ],
)
def test_user_errors_exit_2_with_one_clear_line_and_no_run(tmp_path, optbench_main, args, message):
    done = optbench_main(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    db = tmp_path / "runs" / "mlflow.db"
    assert not db.exists() or not client(store_of(tmp_path)).search_runs(["1"])


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["optimizer=[saga,lbfgs]"], id="run"),
        pytest.param(["-m", "optimizer=[saga, lbfgs]", "seed=0,1"], id="sweep"),
        pytest.param(["+optimizer=[saga,lbfgs]"], id="append"),
    ],
)
def test_a_list_of_options_for_a_group_is_refused_before_any_work(tmp_path, optbench_main, args):
    """Hydra would merge both optimizer files into one config: a run of neither."""
    done = optbench_main(*args, cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ") and line.endswith(
        ": one option per group; sweep with -m optimizer=saga,lbfgs"
    )
    assert not (tmp_path / "runs").exists()  # no store, no run, no sweep folder


def test_the_in_process_command_leaves_this_process_as_it_found_it(tmp_path, optbench_main):
    """A job that starts and stops on a user error (Hydra composed, the job ran): the
    environment, working directory, logging, signal handlers and Hydra's state come back."""
    import logging
    import signal

    from hydra.core.global_hydra import GlobalHydra

    def state() -> tuple:
        return (
            dict(os.environ),
            os.getcwd(),
            list(logging.root.handlers),
            signal.getsignal(signal.SIGTERM),
            sys.stdout,
            sys.stderr,
        )

    before = state()
    done = optbench_main("model=mlp", "hardware.backend=mxnet", cwd=tmp_path)
    assert done.returncode == 2 and "hardware.backend" in done.stderr
    assert state() == before
    assert not GlobalHydra.instance().is_initialized()


def test_unknown_choice_lists_the_valid_ones(tmp_path, optbench_main):
    done = optbench_main("dataset=cifar100", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "dataset=cifar100 is not an option of dataset;" in line
    assert "digits" in line and "mnist" in line


def test_multirun_makes_one_parent_and_a_child_per_job(tmp_path, capsys):
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
    # the parent's overrides are a JSON list, as a job's; reproduce refuses the parent in one
    # line naming a job to reproduce (it crashed on the space-joined tag before)
    assert json.loads(parent.data.tags["optbench.overrides"])[0] == "optimizer=saga,lbfgs"
    capsys.readouterr()
    assert reproduce_main([parent.info.run_id, "--uri", store_of(tmp_path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: run {parent.info.run_id} is a sweep's parent run, not a job")
    assert "4 under this sweep; e.g. optbench reproduce " in line


def test_a_job_failing_at_run_time_is_recorded_and_the_others_finish(tmp_path):
    """A bug in the user's own update rule (tests/custom_optimizers) fails one job; the
    other finishes, the parent is FAILED and the command exits 1 (not a user error)."""
    user_code = Path(__file__).parent / "custom_optimizers"
    done = run_cli(
        "-m",
        "dataset=rosenbrock",
        "optimizer=custom",
        "optimizer.target=sign_descent:SignRule,sign_descent:BrokenRule",
        "trainer.max_iter=20",
        "trainer.progress=false",
        cwd=tmp_path,
        env={"PYTHONPATH": str(user_code)},
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "a bug in the user's update rule" in done.stderr
    runs = client(store_of(tmp_path)).search_runs(["1"])
    by_name = {r.data.tags.get("optbench.optimizer", "sweep"): r for r in runs}
    assert by_name["custom:sign_descent:BrokenRule"].info.status == "FAILED"
    assert by_name["custom:sign_descent:SignRule"].info.status == "FINISHED"
    assert by_name["sweep"].info.status == "FAILED"
    assert "RUNNING" not in {r.info.status for r in runs}


def test_sklearn_runs_never_import_tensorflow(tmp_path):
    """No process of a scikit-learn run imports TensorFlow or Keras (seconds of start-up),
    not even behind a try/except: PYTHONPROFILEIMPORTTIME reports every import of the CLI
    and of the MLflow helper."""
    done = run_cli(
        "model=mlp_sklearn",
        "optimizer=adam",
        "trainer.max_iter=5",
        "trainer.progress=false",
        cwd=tmp_path,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported = imported_modules(done.stderr)
    assert {"sklearn.neural_network", "mlflow"} <= imported  # the report covers both processes
    leaked = {m.split(".")[0] for m in imported} & {"tensorflow", "keras"}
    assert not leaked, f"a scikit-learn run imported {sorted(leaked)}"


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
