"""Targets, budgets and baselines set the AlgoPerf way, by one command anyone can re-run:

    optbench suite --rebuild-baselines suite.trials=5 suite.seeds=5

For each workload, each baseline (AdamW, NAdamW, Nesterov, heavy-ball momentum) is
1. tuned: ``suite.trials`` trials from its ``suite.search`` space (the equal-budget sweeper,
   one study), each over the whole budget, ranked by the workload's metric at the end;
2. re-run with its best settings on ``suite.seeds`` seeds over the whole budget.
The target is the median over seeds of the best value each seed of the best baseline reached
(a 2-D function keeps its tolerance, a distance to the known minimum). Every baseline's steps
and seconds to that target per seed come from the same runs' histories; the step budget is
``BUDGET_MULTIPLE`` times the best baseline's median steps. The targets and budgets are
written into conf/workload/<name>.yaml, the per-seed rows into optbench/suite/baselines.csv."""

from __future__ import annotations

import math
import re
import statistics
from importlib import resources
from pathlib import Path
from typing import Any

from optbench.errors import OptbenchError
from optbench.metrics import higher_is_better
from optbench.suite import workloads as wl

BUDGET_MULTIPLE = 3  # the budget is this many times the best baseline's median steps to target


def best_value(history: list[dict[str, float]], metric: str) -> float:
    """The best value of ``metric`` a run reached (NaN if never logged)."""
    values = [h[metric] for h in history if math.isfinite(h.get(metric, math.nan))]
    if not values:
        return math.nan
    return max(values) if higher_is_better(metric) else min(values)


def first_reach(history: list[dict[str, float]], metric: str, value: float) -> dict[str, float]:
    """The optimizer steps and seconds at the first logged step that reached ``value``, as
    the runner's own TargetTracker logs them; {} when no step did."""
    better = higher_is_better(metric)
    for h in history:
        current = h.get(metric, math.nan)
        if math.isfinite(current) and (current >= value if better else current <= value):
            return {
                "steps_to_target": h.get("optimizer_steps", h["step"]),
                "time_to_target_s": h.get("elapsed_s", math.inf),
            }
    return {}


def target_of(values_by_baseline: dict[str, list[float]], metric: str) -> tuple[str, float]:
    """The best baseline by its median best value, and that median: the workload's target."""
    medians = {b: statistics.median(v) for b, v in values_by_baseline.items() if v}
    sign = -1.0 if higher_is_better(metric) else 1.0
    best = min(medians, key=lambda b: sign * medians[b])
    return best, medians[best]


def budget_of(median_steps: float, steps_per_unit: float) -> int | None:
    """BUDGET_MULTIPLE x the best baseline's median steps, in the budget's unit, rounded up;
    None when that baseline missed the target on most seeds (the budget then stays)."""
    if not math.isfinite(median_steps):
        return None
    return max(1, math.ceil(BUDGET_MULTIPLE * median_steps / steps_per_unit))


def workload_path(name: str) -> Path:
    return Path(str(resources.files("optbench.conf") / "workload" / f"{name}.yaml"))


def write_workload(path: Path, target: float | None, budget: int | None) -> None:
    """Put the target value and the budget into a workload's YAML, keeping the rest (None:
    keep that one)."""
    text = path.read_text()
    n_budget = n_target = 1
    if budget is not None:
        text, n_budget = re.subn(r"(?m)^(  max_iter: )\d+", rf"\g<1>{budget}", text)
    if target is not None:
        text, n_target = re.subn(
            r"(target: \{metric: \w+, value: )[^}]+\}", rf"\g<1>{target:.4g}}}", text
        )
    if n_budget != 1 or n_target != 1:
        raise OptbenchError(f"{path}: expected one trainer.max_iter and one dataset.target line")
    path.write_text(text)


def rebuild(argv: list[str], config_dir: str | None) -> None:
    """Tune and re-run every baseline on every workload; rewrite targets, budgets and table."""
    from optbench import console
    from optbench.schema import register_configs
    from optbench.suite import baselines, run
    from optbench.suite.settings import composed_workloads, parse_settings, split_settings
    from optbench.tracking import MlflowWriter, resolve_uri
    from optbench.tracking.env import OpenSweep, export, withdraw
    from optbench.tracking.sweep import close_sweep

    ours, overrides = split_settings(argv)
    overrides = ["tracking.artifacts=false", *overrides]  # the table needs metrics, not plots
    settings = parse_settings(ours)
    register_configs()
    workloads = composed_workloads(settings.names, overrides, config_dir)
    uri = resolve_uri(workloads[settings.names[0]][0].tracking.uri)
    tags = {"optbench.role": "suite-baselines", "mlflow.note.content": "optbench suite "
            "--rebuild-baselines " + " ".join(argv)}  # fmt: skip
    parent, _ = MlflowWriter(uri).start("suite", "suite baselines", tags, params={})
    sweep = OpenSweep(uri, parent, "baselines")
    export(sweep)
    status = "FAILED"
    try:
        for name in settings.names:
            workload = workloads[name][1]
            runs: dict[str, tuple[str, list[Any]]] = {}
            for baseline, extra in baselines.BASELINES.items():
                tuned = _tuned(workload, [*overrides, *extra], config_dir, settings, uri, baseline)
                console.console.print(f"  {name} {baseline}: tuned {tuned}", highlight=False)
                done = [
                    run.one_run(
                        name,
                        [
                            *overrides,
                            *extra,
                            *tuned.split(),
                            f"seed={seed}",
                            *_whole_budget(workload),
                        ],
                        config_dir,
                    )
                    for seed in range(settings.seeds)
                ]
                runs[baseline] = (tuned, done)
            rows: dict[str, list[Any]] = {b: [] for b in baselines.BASELINES}
            target, budget = _set(workload, runs, rows)
            write_workload(workload_path(name), target, budget)
            baselines.save(rows)  # workload by workload: an interrupted rebuild keeps those done
            console.console.print(
                f"{name}: target {workload.target if target is None else f'{target:.4g}'} · budget "
                + (f"{budget} {workload.unit}" if budget else "kept: no baseline reached it"),
                highlight=False,
            )
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        close_sweep(sweep, status)
        withdraw()
    console.console.print(f"baselines written to {baselines.table_path()}", highlight=False)


def _whole_budget(workload: wl.Workload) -> list[str]:
    """Keras workloads run the whole budget (the best value needs it); a 2-D function stops
    at its tolerance as always."""
    return [] if workload.fixed_target else ["trainer.stop_at_target=false"]


def _tuned(
    workload: wl.Workload, overrides: list[str], config_dir: str | None, settings: Any,
    uri: str, baseline: str,
) -> str:  # fmt: skip
    """The baseline's best settings from one study of suite.trials trials."""
    from optbench.suite import tuning

    objective = None if workload.fixed_target else workload.metric
    folder = Path("runs/suite/baselines") / workload.name / baseline
    ((_, params),) = tuning.tune(
        workload, [*overrides, *_whole_budget(workload)], config_dir, 1, settings.tuning, uri,
        folder, objective,
    )  # fmt: skip
    return tuning.tuned_settings(params, tuning.search_keys(folder))


def _set(
    workload: wl.Workload, runs: dict[str, tuple[str, list[Any]]], rows: dict[str, list]
) -> tuple[float | None, int | None]:
    """The target and budget from the baselines' runs; their results go into ``rows``."""
    from optbench.suite.result import WorkloadResult, final_metrics
    from optbench.suite.score import median_over_seeds

    metric = workload.metric
    if workload.fixed_target:
        target, best = None, ""
    else:
        values = {
            b: [best_value(r.history, metric) for r in done if r is not None]
            for b, (_, done) in runs.items()
        }
        best, target = target_of(values, metric)
    steps: dict[str, float] = {}
    per_unit = 1.0
    for baseline, (tuned, done) in runs.items():
        result = WorkloadResult(workload)
        for r in done:
            if r is None:
                result.failed += 1
                result.add({}, tuned)
                continue
            final = final_metrics(r)
            if target is not None:
                final = {k: v for k, v in final.items() if k not in ("steps_to_target",
                         "time_to_target_s")}  # fmt: skip
                final.update(first_reach(r.history, metric, target))
                per_unit = r.history[0].get("optimizer_steps", 1.0) if r.history else per_unit
            result.add(final, tuned)
        rows[baseline].append(result)
        steps[baseline] = median_over_seeds(result.steps)
    best = best or min(steps, key=lambda b: steps[b])  # a 2-D function: the fastest baseline
    return target, budget_of(steps[best], per_unit)
