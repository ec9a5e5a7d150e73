"""Stores under load: 8 jobs started together write to one store, the SQLite file every job
opens itself and a real `mlflow server`. No job fails and no metric value is lost: each run's
stored history holds every step the job logged."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client
from tests.servers import light_mlflow_server

pytestmark = pytest.mark.slow
JOBS = 8
STEPS = 30
PER_STEP = ("train_loss", "val_loss", "val_accuracy", "elapsed_s")  # logged at every step
JOB = (
    f"trainer.max_iter={STEPS}",
    "trainer.early_stop.enabled=false",  # every job runs all its steps
    "trainer.oneshot_baseline=false",
    "tracking.log_every=3",  # 10 writes a job (its 30 steps take under tracking.flush_every_s)
    "tracking.artifacts=false",
    "trainer.progress=false",
)


def run_together(uri: str, folder: Path, *overrides: str) -> list[str]:
    """Start JOBS `python -m optbench` processes at once, one seed each, all writing to
    ``uri``; returns a failure text for each job that failed or warned."""
    jobs = []
    for seed in range(JOBS):
        log = (folder / f"job{seed}.log").open("w+")
        command = [sys.executable, "-m", "optbench", f"tracking.uri={uri}", f"seed={seed}", *JOB]
        command += overrides
        jobs.append((subprocess.Popen(command, cwd=folder, stdout=log, stderr=log), log))
    failures = []
    for job, log in jobs:
        code = job.wait(timeout=300)
        log.seek(0)
        output = log.read()
        log.close()
        if code != 0 or "Traceback" in output or "without its dataset input" in output:
            failures.append(f"exit code {code}:\n{output[-2000:]}")
    return failures


def assert_every_step_stored(uri: str) -> None:
    mlflow = client(uri)
    runs = mlflow.search_runs(["1"])
    assert sorted(int(r.data.params["seed"]) for r in runs) == list(range(JOBS))
    for run in runs:
        assert run.info.status == "FINISHED"
        assert len(run.inputs.dataset_inputs) == 1
        assert "test_accuracy" in run.data.metrics
        for key in PER_STEP:
            steps = sorted(m.step for m in mlflow.get_metric_history(run.info.run_id, key))
            assert steps == list(range(1, STEPS + 1)), (run.data.params["seed"], key, steps)


def test_eight_jobs_at_once_into_one_sqlite_file(tmp_path):
    """The jobs create the store and the experiment themselves, all at the same moment, and
    write through their MLflow helper processes (the default)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    failures = run_together(uri, tmp_path)
    assert not failures, f"{len(failures)} of {JOBS} jobs failed; the first: {failures[0]}"
    assert_every_step_stored(uri)


def test_eight_jobs_at_once_into_an_mlflow_server(tmp_path):
    """The same jobs against a tracking server (one worker, its own SQLite store), writing from
    their own process as a joblib or Ray worker does (and one process fewer per job to start
    on 2 cores)."""
    with light_mlflow_server(tmp_path) as url:
        failures = run_together(url, tmp_path, "tracking.helper_process=false")
        assert not failures, f"{len(failures)} of {JOBS} jobs failed; the first: {failures[0]}"
        assert_every_step_stored(url)


RACERS, ROUNDS = 8, 3


def start_at_once(uri: str, barrier: Any) -> None:
    """One job's start in each round's new experiment, at the same moment as the others."""
    from optbench.tracking.writer import MlflowWriter

    writer = MlflowWriter(uri)
    _ = writer.client  # the store is open: the race is the experiment's set-up
    for round_ in range(ROUNDS):
        barrier.wait(timeout=120)
        run_id, _ = writer.start(f"new-{round_}", "racer", {}, {"seed": "0"})
        writer.finish(run_id, "FINISHED")


def test_jobs_starting_together_in_a_new_experiment_all_start(store):
    """Every job sets the experiment's UI tags (optbench.tracking.ui) once it is created;
    MLflow's store looks a tag up before inserting it, so jobs starting together collided on
    its UNIQUE constraint (sqlite3.IntegrityError) and failed before their first step."""
    from optbench.tracking.ui import KIND, KIND_TAG, VIEW_TAG

    mlflow = client(store)  # creates the store
    fork = multiprocessing.get_context("fork")  # MLflow is imported already
    barrier = fork.Barrier(RACERS)
    racers = [fork.Process(target=start_at_once, args=(store, barrier)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=240)
    assert [r.exitcode for r in racers] == [0] * RACERS
    for round_ in range(ROUNDS):
        experiment = mlflow.get_experiment_by_name(f"new-{round_}")
        assert experiment.tags[KIND_TAG] == KIND and VIEW_TAG in experiment.tags
        runs = mlflow.search_runs([experiment.experiment_id])
        assert [r.info.status for r in runs] == ["FINISHED"] * RACERS
