"""The fault matrix (issue 22): every trainer kind x SIGINT, SIGTERM, kill -9 x every moment of
a job, and the same for a sweep on the basic and the joblib launcher. Whatever the fault,
no run is left RUNNING, the run ends KILLED with the documented exit code (Ctrl-C 130,
SIGTERM 143, kill -9: the process dies of signal 9 and optbench's MLflow helper closes the
run), and the steps handed to the metrics logger before the fault are in the store, all of
them after Ctrl-C and SIGTERM, all but the last tracking.flush_every_s after kill -9.

Each case runs the real CLI through tests/fault_job.py, which delivers the signal at the
moment and records the steps the job handed over. A plain run takes one moment per row
(trainer or launcher x fault), rotating with pytest-randomly's seed, so that five seeds cover
the matrix; ``pytest -m faults`` or OPTBENCH_FAULT_MATRIX=full runs every cell
(docs/reliability.md has the matrix as measured)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, client, needs_mnist
from tests.fault_job import MOMENTS
from tests.test_keras_backends import needs_jax

pytestmark = [pytest.mark.slow, pytest.mark.faults]

FAULTS = ("SIGINT", "SIGTERM", "SIGKILL")
EXIT = {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -signal.SIGKILL}
ERROR_TYPE = {"SIGINT": "KeyboardInterrupt", "SIGTERM": "Terminated"}
FLUSH_EVERY_S = 2.0  # tracking.flush_every_s, the default: what kill -9 may lose
SETTLE_S = 90  # for the helper to close a run after kill -9 (it yields to every busy core)
PARENT_GRACE_S = 5  # for a sweep's parent, once its jobs' runs are closed


@dataclass(frozen=True)
class Row:
    """A trainer kind: its overrides, those for a run long enough to reach mid-epoch, and
    those for a short one that trains to the end (the other moments)."""

    name: str
    base: tuple[str, ...]
    long: tuple[str, ...]
    short: tuple[str, ...]
    marks: tuple[Any, ...] = ()

    def overrides(self, moment: str) -> list[str]:
        return [*self.base, *(self.long if moment == "mid_epoch" else self.short)]


KERAS = ("model=mlp", "dataset.subset=4000")
ROWS = (
    Row(
        "logreg",
        (),
        ("trainer.max_iter=100000", "trainer.early_stop.enabled=false"),
        ("trainer.max_iter=30",),
    ),
    # epochs of ~1 s: a signal mid-epoch lands inside partial_fit, which catches it
    Row(
        "mlp_sklearn",
        (
            "model=mlp_sklearn",
            "dataset=synthetic",
            "dataset.n_samples=50000",
            "dataset.n_features=100",
            "model.hidden_sizes=[200]",
        ),
        ("trainer.max_iter=1000", "trainer.early_stop.enabled=false"),
        ("trainer.max_iter=2",),
    ),
    Row(
        "keras_tensorflow", KERAS, ("trainer.max_iter=50",), ("trainer.max_iter=2",), (needs_mnist,)
    ),
    Row(
        "keras_jax",
        (*KERAS, "hardware.backend=jax"),
        ("trainer.max_iter=50",),
        ("trainer.max_iter=2",),
        (needs_mnist, needs_jax),
    ),
    Row("landscape", ("dataset=rosenbrock",), ("trainer.max_iter=10000000",), ()),
)

# a sweep of two logistic regressions; the fault comes at the second job to reach the moment,
# so that the sweep also holds a job that ended before it (basic) or runs beside it (joblib)
SWEEP = (
    "-m",
    "seed=0,1",
    "trainer.oneshot_baseline=false",
    "tracking.flush_every_s=0.5",
)
LAUNCHERS = {
    "basic": (),
    "joblib": ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"),
}
SWEEP_LONG = ("trainer.max_iter=400", "trainer.early_stop.enabled=false")
SWEEP_SHORT = ("trainer.max_iter=20",)


def _full_matrix(config: pytest.Config) -> bool:
    return os.environ.get("OPTBENCH_FAULT_MATRIX") == "full" or "faults" in (
        config.getoption("markexpr", "") or ""
    )


def _seed(config: pytest.Config) -> int:
    """pytest-randomly's seed (printed at the top of the run; 0 without the plugin)."""
    try:
        return int(getattr(config.option, "randomly_seed", 0))
    except (TypeError, ValueError):
        return 0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every (row, fault, moment) for the full matrix; otherwise one moment per (row,
    fault), the i-th row taking MOMENTS[(seed + i) % 5]. xdist workers get the same seed,
    hence the same cases."""
    if "moment" not in metafunc.fixturenames:
        return
    rows: tuple[Any, ...] = ROWS if "row" in metafunc.fixturenames else tuple(LAUNCHERS)
    full, seed = _full_matrix(metafunc.config), _seed(metafunc.config)
    params = []
    for i, (row, fault) in enumerate((r, f) for r in rows for f in FAULTS):
        moments = MOMENTS if full else (MOMENTS[(seed + i) % len(MOMENTS)],)
        name = row.name if isinstance(row, Row) else row
        marks = row.marks if isinstance(row, Row) else ()
        for moment in moments:
            params.append(
                pytest.param(row, fault, moment, id=f"{name}-{fault}-{moment}", marks=marks)
            )
    argnames = ("row" if "row" in metafunc.fixturenames else "launcher", "fault", "moment")
    metafunc.parametrize(argnames, params)


@dataclass
class Outcome:
    code: int
    events: list[dict[str, Any]]
    store: str
    log: str

    def fault(self) -> dict[str, Any]:
        faults = [e for e in self.events if e["event"] == "fault"]
        assert len(faults) == 1, f"the job never reached the moment:\n{self.log[-3000:]}"
        return faults[0]

    def handed(self, run: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "step" and e["run"] == run]


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow store, made once: MLflow's schema set-up costs a second or two of CPU
    per new store, and every case needs one."""
    path = tmp_path_factory.mktemp("empty_store") / "mlflow.db"
    client(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store_copy(tmp_path: Path, empty_store: Path) -> Path:
    """The case's store: a copy of the empty one, in its tmp_path."""
    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
    return tmp_path / "mlflow.db"


def run_with_fault(
    tmp_path: Path, moment: str, fault: str, overrides: list[str], to: str, skip: int = 0
) -> Outcome:
    """Run `optbench` with ``fault`` at ``moment`` in a session of its own, wait for it and
    for its runs to be closed (``settled``), then end what is left of its processes. The
    store is tmp_path/mlflow.db."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    events, log = tmp_path / "events.jsonl", tmp_path / "job.log"
    command = [sys.executable, "-m", "tests.fault_job", moment, fault, "--to", to]
    command += ["--skip", str(skip), "--events", str(events), "--"]
    command += [*overrides, f"tracking.uri={store}", "trainer.progress=false"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    with log.open("w") as out:
        job = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        code = job.wait(timeout=240)
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and not settled(store, job.pid):
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):  # what is left: workers, the helper
            os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    lines = events.read_text().splitlines() if events.exists() else []
    return Outcome(code, [json.loads(line) for line in lines], store, log.read_text())


def all_runs(store: str) -> list[Any]:
    mlflow = client(store)
    return mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])


def settled(store: str, pgid: int) -> bool:
    """Whether the jobs' runs are all closed, or nothing is left to close them: after kill -9
    the helper (in the command's session) may not even have created the run yet, a guard (out
    of it) closes it later, and joblib's workers may outlive the sweep's process. A sweep's
    parent: see the sweep test."""
    try:
        jobs = [r for r in all_runs(store) if r.data.tags.get("optbench.role") != "sweep"]
    except Exception:  # no store yet
        jobs = []
    if jobs and all(r.info.status != "RUNNING" for r in jobs):
        return True
    return not session_alive(pgid) and not running(store, jobs_only=True)


def running(store: str, jobs_only: bool = False) -> bool:
    """Whether a run in ``store`` is RUNNING (a job's run, with ``jobs_only``)."""
    try:
        runs = all_runs(store)
    except Exception:  # no store yet: nothing could be running
        return False
    if jobs_only:
        runs = [r for r in runs if r.data.tags.get("optbench.role") != "sweep"]
    return any(r.info.status == "RUNNING" for r in runs)


def session_alive(pgid: int) -> bool:
    """Whether a process of the command's session is left (the helper, a worker)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def check_steps(outcome: Outcome, fault: str, run: Any) -> None:
    """The steps handed over before the fault are all stored (Ctrl-C, SIGTERM), or all but
    those of the last flush interval and one step (kill -9: the logger writes at the first
    step to end at least flush_every_s after its previous write); none stored was not
    handed over; the stored ones have no gap."""
    name = run.info.run_name
    handed = {e["step"]: e["t"] for e in outcome.handed(name)}
    history = client(outcome.store).get_metric_history(run.info.run_id, "train_loss")
    stored = sorted(m.step for m in history)
    assert stored == list(range(1, len(stored) + 1)), "the stored steps have a gap"
    assert set(stored) <= set(handed), "steps in the store that the job never handed over"
    lost = sorted(set(handed) - set(stored))
    if fault != "SIGKILL":
        assert not lost, f"{len(lost)} of {len(handed)} steps lost: {lost[:5]}..."
        return
    if not lost:
        return
    times = [handed[s] for s in sorted(handed)]
    longest_step = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
    at = outcome.fault()["t"]
    lost_s = at - handed[lost[0]]
    print(f"kill -9 lost {len(lost)} of {len(handed)} steps, the last {lost_s:.2f} s")
    assert lost_s <= FLUSH_EVERY_S + longest_step + 0.1, (
        f"kill -9 lost {lost_s:.2f} s of steps (flush_every_s={FLUSH_EVERY_S}, "
        f"longest step {longest_step:.2f} s)"
    )


@pytest.mark.usefixtures("store_copy")
def test_a_fault_leaves_the_run_killed_with_its_steps(
    tmp_path: Path, row: Row, fault: str, moment: str
) -> None:
    """One job, one fault at one moment (tests/fault_job.py)."""
    outcome = run_with_fault(tmp_path, moment, fault, row.overrides(moment), to="main")
    at = outcome.fault()["t"]
    (run,) = all_runs(outcome.store)
    if run.info.end_time:  # for docs/reliability.md
        print(f"run closed {run.info.end_time / 1000 - at:.2f} s after the fault")
    assert run.info.status == "KILLED", outcome.log[-3000:]
    assert outcome.code == EXIT[fault], outcome.log[-3000:]
    if fault in ERROR_TYPE:
        assert run.data.tags.get("optbench.error_type") == ERROR_TYPE[fault]
    check_steps(outcome, fault, run)


@pytest.mark.usefixtures("store_copy")
def test_a_fault_in_a_sweep_leaves_no_run_running(
    tmp_path: Path, launcher: str, fault: str, moment: str
) -> None:
    """A sweep of two jobs; the fault comes at the second job to reach the moment, sent to
    the `optbench` process (Ctrl-C: to its process group, as a terminal does). No run is left
    RUNNING; the parent ends KILLED, and so does the job that met the fault where the signal
    reached its process (a joblib worker that the signal missed may finish its job first)."""
    long = SWEEP_LONG if moment == "mid_epoch" else SWEEP_SHORT
    overrides = [*SWEEP, *LAUNCHERS[launcher], *long]
    to = "group" if fault == "SIGINT" else "main"
    outcome = run_with_fault(tmp_path, moment, fault, overrides, to=to, skip=1)
    hit = outcome.fault()
    runs = all_runs(outcome.store)
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    statuses = {r.info.run_name: r.info.status for r in children}
    context = (statuses, outcome.log[-3000:])
    assert set(statuses.values()) <= {"FINISHED", "KILLED"}, context
    signalled = launcher == "basic" or fault == "SIGINT"
    expected = ("KILLED",) if signalled else ("FINISHED", "KILLED")
    assert statuses.get(hit["run"]) in expected, context
    assert outcome.code == EXIT[fault], context
    deadline = time.monotonic() + PARENT_GRACE_S  # closed by a guard, it may come later
    while running(outcome.store) and time.monotonic() < deadline:
        time.sleep(0.2)
    status = client(outcome.store).get_run(parent.info.run_id).info.status
    assert status == "KILLED", context  # after kill -9 too: the guard closes the parent


# ---- faults the matrix found, pinned where they live (optbench/tracking/helper.py) --------


def test_a_write_error_that_arrives_before_finish_still_closes_the_run_failed(
    tmp_path: Path,
) -> None:
    """The helper reports a failed write as soon as it fails; the job hears of it at its next
    call. When that call is ``finish``, the run must still be closed (it was left RUNNING:
    the error was raised before ``finish`` was sent), and FAILED, not FINISHED."""
    from optbench.tracking.helper import RemoteWriter

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    writer = RemoteWriter(store)
    try:
        run_id, _ = writer.start("errors", "r", {}, {"p": "1"})
        (tmp_path / "a.txt").write_text("a")
        writer.file(run_id, str(tmp_path / "a.txt"), "b.txt")  # refused: another file name
        assert writer._conn.poll(120)  # the error is there before the job's next call
        with pytest.raises(ValueError, match="must keep the file name"):
            writer.finish(run_id, "FINISHED")
    finally:
        writer.close()
    (run,) = all_runs(store)
    assert run.info.status == "FAILED"


GUARDED_JOB = """
import os, sys
from optbench.tracking.helper import run_guard
from optbench.tracking.writer import MlflowWriter

store = sys.argv[1]
writer = MlflowWriter(store)
runs = {name: writer.start("guarded", name, {}, {})[0] for name in ("open", "closed", "released")}
for run_id in runs.values():
    run_guard().guard(store, run_id)
writer.finish(runs["closed"], "FINISHED")  # still guarded, but closed: to be left alone
writer.finish(runs["released"], "FINISHED")
run_guard().release(store, runs["released"])
os.kill(os.getpid(), 9)
"""


def test_the_guard_closes_killed_what_a_killed_process_left_running(tmp_path: Path) -> None:
    """A run written in the job's own process (MLflow already loaded, a joblib worker) has no
    helper to close it: the process's guard does, once the process is gone, even by SIGKILL
    to its whole process tree (as joblib ends its workers), and leaves closed runs alone."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    job = subprocess.Popen(
        [sys.executable, "-c", GUARDED_JOB, store], cwd=tmp_path, start_new_session=True
    )
    assert job.wait(timeout=120) == -signal.SIGKILL
    with contextlib.suppress(ProcessLookupError):
        os.killpg(job.pid, signal.SIGKILL)  # the tree: the guard is not in it
    deadline = time.monotonic() + SETTLE_S
    while running(store) and time.monotonic() < deadline:
        time.sleep(0.2)
    statuses = {r.info.run_name: r.info.status for r in all_runs(store)}
    assert statuses == {"open": "KILLED", "closed": "FINISHED", "released": "FINISHED"}


def test_a_signal_during_a_message_to_the_helper_waits_for_the_whole_message() -> None:
    """RemoteWriter sends each message inside _stop_deferred so that Ctrl-C or SIGTERM cannot
    cut it in half. It blocked the signals in the main thread, which holds nothing once
    another thread lives (as BLAS's and TensorFlow's do): the kernel gives the signal to that
    thread, and Python runs the handler in the main thread anyway, mid-message."""
    from optbench.signals import Terminated, sigterm_interrupts
    from optbench.tracking.helper import _stop_deferred

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    whole = False
    try:
        with sigterm_interrupts(), pytest.raises(Terminated), _stop_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:  # bytecodes at which a handler would run
                pass
            whole = True
    finally:
        stop.set()
        other.join()
    assert whole


@pytest.mark.slow
@pytest.mark.usefixtures("store_copy")
@pytest.mark.parametrize("fault", ["SIGTERM", "SIGINT"])
def test_a_signal_inside_scikit_learns_partial_fit_ends_the_run_within_the_epoch(
    tmp_path: Path, fault: str
) -> None:
    """Issue 22's first fault, pinned in every run (the sampled matrix reaches this cell one
    run in five): scikit-learn's MLP catches the KeyboardInterrupt a signal raises inside
    ``partial_fit`` and only warns; the loop went on (still RUNNING 80 s after SIGTERM).
    Now the run ends KILLED with 143 (130 for Ctrl-C), every step handed over kept."""
    (mlp,) = [row for row in ROWS if row.name == "mlp_sklearn"]
    outcome = run_with_fault(tmp_path, "mid_epoch", fault, mlp.overrides("mid_epoch"), to="main")
    (run,) = all_runs(outcome.store)
    assert run.info.status == "KILLED", outcome.log[-3000:]
    assert outcome.code == EXIT[fault], outcome.log[-3000:]
    check_steps(outcome, fault, run)
