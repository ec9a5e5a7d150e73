"""The external-tuning ruleset: on each workload, ``suite.seeds`` studies of ``suite.trials``
trials each, drawn from the optimizer's search space (``suite.search``, an ``hparams_search``
option) by optbench's equal-budget sweeper, so every optimizer gets the same budget. As in
AlgoPerf, each study counts its fastest trial to the target, and the median over studies is
the workload's result (a study whose trials all miss counts as infinite).

The sweep is the ordinary command line, run in a child process so Hydra starts clean:

    optbench -m hparams_search=lr +workload=mnist_mlp optimizer=adam seed=0,1,2 \\
        hydra.sweeper.n_trials=5 objective=steps_to_target

Its parent run is a child of the suite's parent run; its trials are read back from MLflow."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optbench import tags as tag
from optbench.errors import OptbenchError
from optbench.suite import workloads as wl


@dataclass(frozen=True)
class Tuning:
    trials: int  # per study: the same for every optimizer
    search: str  # the hparams_search option that holds the search space


def objective_of(workload: wl.Workload) -> str:
    """What a trial minimises: its steps to the target (inf when it never gets there)."""
    return "steps_to_tolerance" if workload.fixed_target else "steps_to_target"


def sweep_command(
    name: str, overrides: list[str], config_dir: str | None, studies: list[int],
    tuning: Tuning, objective: str, uri: str, sweep_dir: Path,
) -> list[str]:  # fmt: skip
    """The `optbench -m` command line of one workload's tuning sweep."""
    return [
        sys.executable, "-m", "optbench", "-m",
        *(["--config-dir", config_dir] if config_dir else []),
        f"hparams_search={tuning.search}", f"+workload={name}", *overrides,
        "seed=" + ",".join(str(s) for s in studies),
        f"hydra.sweeper.n_trials={tuning.trials}", f"objective={objective}",
        "trainer.progress=false", f"tracking.uri={uri}", f"hydra.sweep.dir={sweep_dir}",
    ]  # fmt: skip


def tune(
    workload: wl.Workload, overrides: list[str], config_dir: str | None, studies: list[int],
    tuning: Tuning, uri: str, sweep_dir: Path, objective: str | None = None,
) -> list[tuple[dict[str, float], dict[str, str]]]:  # fmt: skip
    """Run the workload's tuning sweep, one study per seed in ``studies`` (each study's
    sampler starts at its seed); per study, the metrics and params of its best trial (by
    default the fastest to the target)."""
    objective = objective or objective_of(workload)
    command = sweep_command(
        workload.name, overrides, config_dir, studies, tuning, objective, uri, sweep_dir
    )
    done = subprocess.run(
        command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [""]
        raise OptbenchError(
            f"the tuning sweep of workload {workload.name} failed (exit {done.returncode}: "
            f"{last[0]}): optbench {' '.join(command[3:])}"
        )
    return best_per_study(trial_runs(uri, sweep_dir), objective, workload.metric)


def search_keys(sweep_dir: Path) -> list[str]:
    """The keys the sweep searched (its hydra.sweeper.params)."""
    from omegaconf import OmegaConf

    return list(OmegaConf.load(sweep_dir / "multirun.yaml").hydra.sweeper.params)


def trial_runs(uri: str, sweep_dir: Path) -> list[Any]:
    """The trial runs of the sweep whose folder is ``sweep_dir`` (its parent's tag)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    folder = str(sweep_dir.absolute())
    parents = client.search_runs(experiments, tag.where(tag.SWEEP_DIR, folder))
    if not parents:
        raise OptbenchError(f"no sweep found in {uri} for the tuning folder {folder}")
    parent = parents[0].info.run_id
    return client.search_runs(experiments, tag.where(tag.PARENT_RUN_ID, parent))


def best_per_study(
    runs: list[Any], objective: str, then: str | None = None
) -> list[tuple[dict[str, float], dict[str, str]]]:
    """Per study (in seed order), the metrics and params of its best trial by ``objective``
    (fewest steps to the target; a failed trial or a miss is worst), ties (every trial
    missed, say) broken by ``then``, the workload's metric at the end."""
    by_study: dict[str, list[Any]] = {}
    for run in runs:
        by_study.setdefault(run.data.tags.get(tag.STUDY, ""), []).append(run)

    def cost(run: Any) -> tuple[float, float]:
        return (_cost(run, objective), _cost(run, then) if then else 0.0)

    best = []
    for study in sorted(by_study, key=_study_order):
        ordered = sorted(by_study[study], key=lambda r: int(r.data.tags.get(tag.TRIAL, 0)))
        chosen = min(ordered, key=cost)
        metrics = dict(chosen.data.metrics)
        if math.isinf(_cost(chosen, objective)):
            metrics.pop(objective, None)
        best.append((metrics, dict(chosen.data.params)))
    return best


def _cost(run: Any, metric: str) -> float:
    """``metric`` to minimise (accuracies negated); inf for a failed run or a missing value."""
    from optbench.metrics import higher_is_better

    value = run.data.metrics.get(metric, math.nan)
    if run.info.status != "FINISHED" or not math.isfinite(value):
        return math.inf
    return -value if higher_is_better(metric) else value


def _study_order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (sys.maxsize, name)


def tuned_settings(params: dict[str, str], search_keys: list[str]) -> str:
    """The tuned values as overrides, e.g. "optimizer.lr=0.00312"."""
    return " ".join(f"{k}={_short(params[k])}" for k in search_keys if k in params)


def _short(value: str) -> str:
    try:
        return f"{float(value):.4g}"
    except ValueError:
        return value
