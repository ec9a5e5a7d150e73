"""The MLflow helper process: the job never imports MLflow, and a run is never left RUNNING,
even when the job is interrupted or killed outright."""

import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optbench.schema.trainer import TrackingConfig
from tests.conftest import client, run_cli, store_of

pytestmark = pytest.mark.slow
LONG_RUN = [
    "dataset=synthetic",
    "dataset.n_samples=100000",
    "model=mlp_sklearn",
    "optimizer=adam",
    "trainer.max_iter=2000",
    "trainer.early_stop.enabled=false",
    "tracking.log_every=1",
    "trainer.progress=false",
]


def start_cli(tmp_path, *args):
    """The CLI as a terminal starts it: SIGINT at its default (a background shell may have
    set it to ignored, and Python keeps an ignored SIGINT ignored)."""
    return subprocess.Popen(
        [sys.executable, "-m", "optbench", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(predicate, timeout_s=120, poll_s=0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise TimeoutError("condition not reached")


def running_run_with_metrics(store):
    def check():
        try:
            runs = client(store).search_runs(["1"])
        except Exception:  # the store is still being created
            return None
        if runs and runs[0].info.status == "RUNNING":
            history = client(store).get_metric_history(runs[0].info.run_id, "train_loss")
            return runs[0] if len(history) >= 2 else None
        return None

    return check


def test_the_job_process_imports_neither_mlflow_nor_matplotlib(tmp_path):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "optbench", "trainer.max_iter=5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "sklearn" in imported  # the report is about this process
    assert not {m for m in imported if m.split(".")[0] in ("mlflow", "matplotlib")}
    (run,) = client(store_of(tmp_path)).search_runs(["1"])
    assert run.info.status == "FINISHED"


def test_the_helper_runs_the_jobs_optbench_not_one_in_the_working_directory(tmp_path):
    """`python -m` puts the working directory first on the path: started from a folder that
    holds another optbench (a checkout, an older version), the helper must still import the
    job's own. Here that other one cannot even be imported."""
    import optbench

    decoy = tmp_path / "optbench"
    decoy.mkdir()
    (decoy / "__init__.py").write_text(
        "raise ImportError('the optbench in the working directory')\n"
    )
    job = [sys.executable, "-P", "-m", "optbench", "trainer.max_iter=5"]  # the job: the real one
    done = subprocess.run(job, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "working directory" not in done.stderr
    (run,) = client(store_of(tmp_path)).search_runs(["1"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_accuracy"] > 0.8
    assert not str(Path(optbench.__file__)).startswith(str(tmp_path))


def test_ctrl_c_exits_130_and_the_run_is_killed_with_its_metrics(tmp_path):
    job = start_cli(tmp_path, *LONG_RUN)
    try:
        run = wait_for(running_run_with_metrics(store_of(tmp_path)))
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=60) == 130
    finally:
        job.kill()
    final = client(store_of(tmp_path)).get_run(run.info.run_id)
    assert final.info.status == "KILLED"
    assert len(client(store_of(tmp_path)).get_metric_history(run.info.run_id, "train_loss")) >= 2


def test_a_killed_job_leaves_no_run_running(tmp_path):
    job = start_cli(tmp_path, *LONG_RUN)
    try:
        run = wait_for(running_run_with_metrics(store_of(tmp_path)))
        os.kill(job.pid, signal.SIGKILL)  # no chance to clean up: the helper must do it
        job.wait(timeout=30)
    finally:
        job.kill()
    status = wait_for(
        lambda: (
            (s := client(store_of(tmp_path)).get_run(run.info.run_id).info.status) != "RUNNING"
            and s
        ),
        timeout_s=60,
    )
    assert status == "KILLED"


# logistic regression on digits: steps of ~10-50 ms, which reach the store only through the
# time-based flush (tracking.flush_every_s), never through log_every
FAST_STEPS = [
    "trainer.max_iter=100000",
    "trainer.early_stop.enabled=false",
    "tracking.log_every=100000",
    "trainer.progress=false",
]


def stored_history(store):
    """The store's one run and its train_loss history; (None, []) before they exist."""
    try:
        runs = client(store).search_runs(["1"])
    except Exception:  # the store is still being created
        return None, []
    if not runs:
        return None, []
    return runs[0], client(store).get_metric_history(runs[0].info.run_id, "train_loss")


def first_flush(store):
    """Wait until the first metrics reach the store; return their run."""

    def flushed():
        run, history = stored_history(store)
        return run if history else None

    return wait_for(flushed, poll_s=0.05)


def just_flushed(store, timeout_s=120):
    """Wait until a new batch of metrics reaches the store; return its run at that moment."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        run, history = stored_history(store)
        if history and seen is not None and len(history) > seen:
            return run
        if history:
            seen = len(history)
        time.sleep(0.05)
    raise TimeoutError("no metrics reached the store")


def seconds_behind(store, run, killed_at):
    """How long before ``killed_at`` (time.time()) the run's last stored step ended, less the
    slack a step may take: three slow steps (the 90th percentile of step times) or 0.5 s,
    whichever is more. On a loaded machine steps slow down, and the history says by how much."""
    history = client(store).get_metric_history(run.info.run_id, "train_loss")
    assert sorted(m.step for m in history) == list(range(1, len(history) + 1))  # no gap
    stamps = sorted(m.timestamp / 1000 for m in history)
    slow_step = statistics.quantiles([b - a for a, b in itertools.pairwise(stamps)], n=10)[-1]
    behind = killed_at - stamps[-1] - max(0.5, 3 * slow_step)
    print(f"{len(stamps)} steps stored, last {killed_at - stamps[-1]:.3f} s before the signal, "
          f"slow step {slow_step:.3f} s")  # fmt: skip
    return behind


def test_sigterm_exits_143_and_the_run_keeps_every_step_up_to_the_signal(tmp_path):
    """What SLURM, Ray and `kill` send on preemption: the buffered steps are flushed as on
    Ctrl-C. The signal comes 3 s after the first timed flush and the next is 2 s later, so 3 s
    of steps are only in the job's buffer; the stored history must still reach the step that
    ran when the signal came."""
    store = store_of(tmp_path)
    job = start_cli(tmp_path, *FAST_STEPS, "tracking.flush_every_s=5")
    try:
        run = first_flush(store)
        time.sleep(3.0)
        killed_at = time.time()
        job.send_signal(signal.SIGTERM)
        assert job.wait(timeout=60) == 143
    finally:
        job.kill()
    final = client(store).get_run(run.info.run_id)
    assert final.info.status == "KILLED"
    assert final.data.tags["optbench.error_type"] == "Terminated"
    assert seconds_behind(store, run, killed_at) < 0  # one step, and the signal's delivery


def test_kill_9_loses_at_most_the_last_2_seconds_of_steps(tmp_path):
    """No chance to flush: what reaches the store is what the timed flush wrote."""
    FLUSH_EVERY_S = TrackingConfig().flush_every_s

    store = store_of(tmp_path)
    job = start_cli(tmp_path, *FAST_STEPS)
    try:
        run = just_flushed(store)
        time.sleep(3.0)
        killed_at = time.time()
        os.kill(job.pid, signal.SIGKILL)
        job.wait(timeout=30)
    finally:
        job.kill()
    status = wait_for(
        lambda: (s := client(store).get_run(run.info.run_id).info.status) != "RUNNING" and s
    )
    assert status == "KILLED"
    assert seconds_behind(store, run, killed_at) < FLUSH_EVERY_S


BAD_STORE_ERROR = (
    "error: tracking.uri='nosuchscheme://store': MLflow has no tracking store for scheme "
    "'nosuchscheme'; supported: a local path, file://, sqlite://, postgresql://, mysql://, "
    "mssql://, http://, https://, databricks://, databricks-uc://, uc://."
)


def outside_import_report(stderr: str) -> list[str]:
    """stderr without the PYTHONPROFILEIMPORTTIME lines."""
    return [line for line in stderr.splitlines() if not line.startswith("import time:")]


def imported_modules(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if "|" in line}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="run"),
        pytest.param(["-m", "optimizer=saga,lbfgs"], id="sweep"),
    ],
)
def test_an_unknown_store_scheme_exits_2_with_one_line_before_any_work(tmp_path, args):
    """MLflow only fails on the URI when the results are written, after training: optbench
    checks it first. PYTHONPROFILEIMPORTTIME lists every import of every process: the digits
    loader never ran, MLflow was never imported (no helper, no store opened)."""
    done = run_cli(
        *args,
        "tracking.uri=nosuchscheme://store",
        cwd=tmp_path,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert done.returncode == 2
    assert outside_import_report(done.stderr) == [BAD_STORE_ERROR]
    assert "Traceback" not in done.stdout + done.stderr
    imported = imported_modules(done.stderr)
    assert "optbench.tracking" in imported  # the report covers the process that checked
    assert "optbench.data.digits" not in imported
    assert not {m for m in imported if m.split(".")[0] == "mlflow"}
    assert not list((tmp_path / "runs").glob("multirun/*/*/*"))  # no sweep job started


def test_metric_writes_queued_for_one_run_are_joined_into_one():
    """The helper joins the metric writes waiting behind one (optbench.tracking.helper
    ._coalesce) up to the first other message, which it handles next."""
    from multiprocessing import Pipe

    from optbench.tracking.helper import JOB_GONE, NOTHING, _coalesce

    helper_end, job_end = Pipe()
    for step in (2, 3):
        job_end.send(("metrics", ("run-a", [("loss", 1.0, 0, step)])))
    job_end.send(("metrics", ("run-b", [("loss", 9.0, 0, 1)])))
    job_end.send(("metrics", ("run-b", [("loss", 9.0, 0, 2)])))
    job_end.send(("drain", ()))
    joined, held = _coalesce(helper_end, ("run-a", [("loss", 1.0, 0, 1)]))
    assert joined == ("run-a", [("loss", 1.0, 0, 1), ("loss", 1.0, 0, 2), ("loss", 1.0, 0, 3)])
    assert held == ("metrics", ("run-b", [("loss", 9.0, 0, 1)]))  # another run: not joined
    joined, held = _coalesce(helper_end, held[1])
    assert joined == ("run-b", [("loss", 9.0, 0, 1), ("loss", 9.0, 0, 2)]) and held[0] == "drain"
    assert _coalesce(helper_end, ("run-b", []))[1] is NOTHING  # nothing queued
    job_end.send(("metrics", ("run-b", [("loss", 9.0, 0, 3)])))
    job_end.close()
    joined, held = _coalesce(helper_end, ("run-b", []))
    assert joined == ("run-b", [("loss", 9.0, 0, 3)]) and held is JOB_GONE


def test_a_burst_of_single_step_writes_is_stored_whole_and_in_order(tmp_path):
    """Writes sent faster than the helper stores them (it is still opening the store) arrive
    joined: every step is there once, and the run's latest value is the last step's."""
    from optbench.tracking.helper import RemoteWriter

    store = f"sqlite:///{tmp_path}/mlflow.db"
    writer = RemoteWriter(store)
    try:
        run_id, _ = writer.start("burst", "r", {}, {"p": "1"})
        for step in range(1, 501):
            writer.metrics(
                run_id, [("loss", 1.0 / step, step, step), ("acc", step / 500, step, step)]
            )
        run_id, _, _ = writer.finish(run_id, "FINISHED")
    finally:
        writer.close()
    history = client(store).get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(1, 501))
    assert {m.step: m.value for m in history}[250] == pytest.approx(1 / 250)
    run = client(store).get_run(run_id)
    assert run.data.metrics == {"loss": pytest.approx(1 / 500), "acc": 1.0}
