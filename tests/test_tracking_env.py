"""The environment variables through which a sweep reaches its jobs (optbench/tracking/env.py):
naming the open sweep and withdrawing it, a trial's tags, and the overrides that make Hydra set
the variables in a job's own process."""

from __future__ import annotations

import pytest

from optbench.tracking.env import (
    ENV_PARENT,
    ENV_STUDY,
    ENV_SWEEP,
    ENV_TRIAL,
    ENV_URI,
    OpenSweep,
    env_set_overrides,
    export,
    job_tags,
    open_sweep,
    withdraw,
)


@pytest.fixture(autouse=True)
def no_sweep(monkeypatch):
    """No sweep in the environment, and whatever a test exports is gone after it."""
    for name in (ENV_URI, ENV_PARENT, ENV_SWEEP):
        monkeypatch.setenv(name, "")


def test_the_environment_names_the_open_sweep():
    assert open_sweep() is None
    sweep = OpenSweep("sqlite:///x.db", "abc", "20260101-000000-1a2b3c")
    export(sweep)
    assert open_sweep() == sweep
    assert env_set_overrides({ENV_PARENT: "abc"}) == [
        "++hydra.job.env_set.OPTBENCH_PARENT_RUN_ID='abc'"
    ]


def test_a_sweep_names_its_store_parent_and_id_to_its_jobs():
    sweep = OpenSweep("sqlite:///x.db", "abc", "s1")
    assert sweep.job_env() == {
        "OPTBENCH_TRACKING_URI": "sqlite:///x.db",
        "OPTBENCH_PARENT_RUN_ID": "abc",
        "OPTBENCH_SWEEP_ID": "s1",
    }
    assert env_set_overrides(sweep.job_env()) == [
        "++hydra.job.env_set.OPTBENCH_TRACKING_URI='sqlite:///x.db'",
        "++hydra.job.env_set.OPTBENCH_PARENT_RUN_ID='abc'",
        "++hydra.job.env_set.OPTBENCH_SWEEP_ID='s1'",
    ]


def test_the_parent_run_alone_opens_a_sweep(monkeypatch):
    monkeypatch.delenv(ENV_URI)
    monkeypatch.delenv(ENV_SWEEP)
    monkeypatch.setenv(ENV_PARENT, "abc")
    assert open_sweep() == OpenSweep("", "abc", "")


def test_withdrawing_forgets_the_sweep_for_later_runs():
    export(OpenSweep("sqlite:///x.db", "abc", "s1"))
    withdraw()
    assert open_sweep() is None
    withdraw()  # twice: nothing left to remove, no error


def test_a_trial_is_tagged_with_its_study_and_number_only_where_they_are_set(monkeypatch):
    monkeypatch.delenv(ENV_STUDY, raising=False)
    monkeypatch.delenv(ENV_TRIAL, raising=False)
    assert job_tags() == {}
    monkeypatch.setenv(ENV_STUDY, "optimizer=adam")
    monkeypatch.setenv(ENV_TRIAL, "")
    assert job_tags() == {"optbench.study": "optimizer=adam"}
    monkeypatch.setenv(ENV_TRIAL, "3")
    assert job_tags() == {"optbench.study": "optimizer=adam", "optbench.trial": "3"}
