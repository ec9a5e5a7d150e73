"""A sweep's parent run: ``SweepTracking`` (a Hydra callback) opens it before any job starts,
``close_sweep`` closes it with its children's outcome.

The CLI closes the sweep, not the callback's ``on_multirun_end``: the CLI is the one place
that sees every way a sweep ends (done, failed, Ctrl-C), and the report that follows needs
what the closing found. It learns which sweep to close from the environment the callback
set for the jobs (optbench.tracking.env): no state is kept anywhere else."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback

from optbench import tags as tag
from optbench.errors import Refused
from optbench.tracking.env import OpenSweep, env_set_overrides, export, open_sweep, withdraw
from optbench.tracking.helper import run_guard
from optbench.tracking.provenance import command_line, source_tags
from optbench.tracking.run import metric_records
from optbench.tracking.store import resolve_uri
from optbench.tracking.writer import MlflowWriter


class StoreRefused(Refused):
    """The sweep's tracking URI is unusable: exit USER_ERROR_EXIT before any job starts."""


class SweepTracking(HydraCallback):
    """Hydra callback: before any job starts, create the store, the experiment and the sweep's
    parent run (parallel workers would otherwise race on a fresh SQLite schema), and name it
    to every job through the environment."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        from optbench.errors import OptbenchError

        try:
            uri = resolve_uri(config.tracking.uri)
        except OptbenchError as exc:
            raise StoreRefused(str(exc)) from None
        sweep_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        tags = {
            tag.SWEEP_ID: sweep_id,
            tag.ROLE: tag.ROLE_SWEEP,
            tag.OVERRIDES: tag.encode_overrides(list(config.hydra.overrides.task)),
            tag.SWEEP_DIR: str(Path(config.hydra.sweep.dir).absolute()),
            **source_tags(command_line(sys.argv[1:])),  # the report is added once drawn
        }
        outer = open_sweep()  # a sweep started by a sweep's job (the suite's tuning): nest it
        if outer is not None and outer.uri == uri:
            tags[tag.PARENT_RUN_ID] = outer.run_id
        parent_id, _ = MlflowWriter(uri).start(
            config.experiment_name, f"sweep {sweep_id}", tags, params={}
        )
        # written from this process, closed by close_sweep; if the process is killed first,
        # the guard closes it KILLED (it leaves a run that is no longer RUNNING alone)
        run_guard().guard(uri, parent_id)
        sweep = OpenSweep(uri, parent_id, sweep_id)
        export(sweep)
        _set_in_every_job(config, sweep.job_env())


def _set_in_every_job(config: Any, env: dict[str, str]) -> None:
    """Have Hydra set ``env`` in each job's process (hydra.job.env_set): launchers whose jobs
    run elsewhere (a Ray cluster, SLURM nodes) do not inherit this process's environment.
    Every launcher composes a job's config from the sweep's hydra overrides."""
    from omegaconf import open_dict, read_write

    with read_write(config), open_dict(config):
        config.hydra.overrides.hydra.extend(env_set_overrides(env))


@dataclass
class ClosedSweep:
    """What closing a sweep found: its parent run, final status and child runs."""

    uri: str
    run_id: str
    sweep_id: str
    status: str
    children: list[Any] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)  # children not FINISHED
    experiment_id: str = ""


def sweep_children(client: Any, experiment_ids: Iterable[str], parent_id: str) -> list[Any]:
    return client.search_runs(
        list(experiment_ids),
        filter_string=tag.where(tag.PARENT_RUN_ID, parent_id),
        max_results=10000,
    )


def close_sweep(sweep: OpenSweep, status: str) -> ClosedSweep:
    """Terminate the sweep's parent run, FAILED if any child failed, after logging the
    counts of jobs (n_jobs, n_failed); later runs of this process are no longer its children."""
    withdraw()
    writer = MlflowWriter(sweep.uri)
    try:
        experiments = [e.experiment_id for e in writer.client.search_experiments()]
        children = sweep_children(writer.client, experiments, sweep.run_id)
        failed = [c for c in children if c.info.status != "FINISHED"]
        if status == "FINISHED" and failed:
            status = "FAILED"
        counts = {"n_jobs": len(children), "n_failed": len(failed)}
        writer.metrics(sweep.run_id, metric_records(counts, 0))
    finally:
        _, _, experiment = writer.finish(sweep.run_id, status)
    return ClosedSweep(
        sweep.uri, sweep.run_id, sweep.sweep_id, status, children, failed, experiment
    )
