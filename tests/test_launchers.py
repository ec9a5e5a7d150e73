"""What the Hydra launcher running a job gives it (optbench/launchers.py): whether the job runs
in a pool worker (joblib, Ray) and the share of the machine's cores its thread pools may use.
The launcher is read from the composed Hydra config, set as a run sets it (HydraConfig)."""

from __future__ import annotations

import os
import sys

import pytest
from hydra import compose, initialize_config_module
from hydra.core.hydra_config import HydraConfig

from optbench import launchers


@pytest.fixture
def launched_by():
    """Make this process's Hydra config the one composed with the given overrides."""

    def launch(*overrides: str) -> None:
        with initialize_config_module("optbench.conf", version_base="1.3"):
            cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)

    yield launch
    HydraConfig.instance().cfg = None


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)


def test_outside_hydra_a_job_has_all_cores_and_no_pool(monkeypatch):
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # whatever ran before in this process
    assert not HydraConfig.initialized()
    assert launchers.joblib_workers() is None and not launchers.in_pool_worker()
    assert launchers.cpu_share() is None


def test_the_basic_launcher_runs_jobs_one_at_a_time_on_all_cores(launched_by, eight_cores):
    launched_by()
    assert launchers.joblib_workers() is None and not launchers.in_pool_worker()
    assert launchers.cpu_share() is None


@pytest.mark.parametrize(
    ("n_jobs", "share"),
    [(1, 8), (3, 2), (8, 1), (16, 1), (-1, 1)],  # -1: one worker per core
)
def test_a_joblib_worker_gets_the_cores_divided_by_the_workers(
    launched_by, eight_cores, n_jobs, share
):
    launched_by("hydra/launcher=joblib", f"hydra.launcher.n_jobs={n_jobs}")
    assert launchers.joblib_workers() == n_jobs and launchers.in_pool_worker()
    assert launchers.cpu_share() == share


def test_a_slurm_job_gets_its_allocation(launched_by, eight_cores, monkeypatch):
    launched_by("hydra/launcher=slurm")
    assert launchers.cpu_share() is None  # no allocation named: all cores
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "6")
    assert launchers.cpu_share() == 6
    assert not launchers.in_pool_worker()  # one job per task


def test_the_ray_launchers_config_alone_is_not_a_ray_worker(launched_by, monkeypatch):
    """The launching process composes it too; a worker is where Ray itself is loaded."""
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    launched_by("hydra/launcher=ray")
    assert not launchers.in_ray_worker() and not launchers.in_pool_worker()
