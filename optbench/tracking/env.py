"""The environment variables through which a sweep reaches its jobs, defined once.

A job runs in this process (Hydra's basic launcher), in a joblib or Ray worker, or on a SLURM
node: the environment is the one channel all of them share. The sweep callback sets the
tracking variables here and, through ``hydra.job.env_set``, in every job's process; the tuning
sweeper (optbench/hparams_search.py) adds each job's study and trial."""

from __future__ import annotations

import os
from dataclasses import dataclass

from optbench import tags as tag

ENV_URI = "OPTBENCH_TRACKING_URI"  # the sweep's store, so that every job writes to it
ENV_PARENT = "OPTBENCH_PARENT_RUN_ID"  # the sweep's parent run: each job's run is its child
ENV_SWEEP = "OPTBENCH_SWEEP_ID"
ENV_STUDY = "OPTBENCH_STUDY"  # hparams_search: the Optuna study of this job
ENV_TRIAL = "OPTBENCH_TRIAL"  # ... and its trial number
# a sweep job re-run in a fresh process (optbench/fresh_process.py): its number in the sweep,
# and the file its objective goes to
ENV_JOB_NUM = "OPTBENCH_JOB_NUM"
ENV_JOB_RESULT = "OPTBENCH_JOB_RESULT"


@dataclass(frozen=True)
class OpenSweep:
    """A sweep's parent run, as its jobs find it."""

    uri: str
    run_id: str
    sweep_id: str

    def job_env(self) -> dict[str, str]:
        return {ENV_URI: self.uri, ENV_PARENT: self.run_id, ENV_SWEEP: self.sweep_id}


def open_sweep() -> OpenSweep | None:
    """The sweep this process runs jobs for, as its environment names it; None outside one."""
    run_id = os.environ.get(ENV_PARENT)
    if not run_id:
        return None
    return OpenSweep(os.environ.get(ENV_URI, ""), run_id, os.environ.get(ENV_SWEEP, ""))


def export(sweep: OpenSweep) -> None:
    """Name ``sweep`` to this process's jobs (those the basic launcher runs in-process)."""
    os.environ.update(sweep.job_env())


def withdraw() -> None:
    """Forget the sweep: later runs of this process are not its children."""
    for key in (ENV_URI, ENV_PARENT, ENV_SWEEP):
        os.environ.pop(key, None)


def job_tags() -> dict[str, str]:
    """The tags a trial of hparams_search carries: its study and trial number."""
    names = ((tag.STUDY, ENV_STUDY), (tag.TRIAL, ENV_TRIAL))
    return {key: os.environ[variable] for key, variable in names if os.environ.get(variable)}


def env_set_overrides(env: dict[str, str]) -> list[str]:
    """Overrides that make Hydra set ``env`` in a job's process (hydra.job.env_set)."""
    return [f"++hydra.job.env_set.{key}='{value}'" for key, value in env.items()]
