"""Targets, budgets and baselines set the AlgoPerf way, by one command anyone can re-run:

    optbench suite --rebuild-baselines suite.trials=10 suite.seeds=5

For each scored workload, each baseline (AdamW, NAdamW, Nesterov, heavy-ball momentum) runs
with linear warm-up (5 % of the run) and cosine decay over the workload's schedule length
(the ``schedule`` column of the targets table, in the budget's unit), as AlgoPerf's baselines:
1. tuned: ``suite.trials`` trials from its ``suite.search`` space in one study of its own
   (each baseline's study draws from its own sampler seed), ranked by the workload's metric
   at the end;
2. re-run with its best settings on ``suite.seeds`` seeds (the data fixed by the workload's
   ``dataset.data_seed``; a seed moves initialisation and batch order).
Each baseline's *sure value* is the best value that ``REACHED_BY`` of its seeds reached (4 of
5); the target is the best baseline's sure value, so the baseline that set it reaches it on at
least that many seeds. The budget is ``BUDGET_MULTIPLE`` times that baseline's median steps to
the target, and never shorter than the schedule, so every baseline run fits within it. The
target and budget go into optbench/suite/targets.csv (the data the workloads read), the
per-seed rows into optbench/suite/baselines.csv. The toy group (2-D functions) keeps its
fixed tolerance and budget and is not rebuilt."""

from __future__ import annotations

import csv
import datetime
import math
from pathlib import Path
from typing import Any

from optbench import paths
from optbench import tags as tag
from optbench.errors import OptbenchError
from optbench.metrics import first_crossing, higher_is_better
from optbench.schema.suite import TABLE_FIELDS, table_path, targets_table
from optbench.suite import workloads as wl

BUDGET_MULTIPLE = 3  # the budget is this many times the target setter's median steps
REACHED_BY = 0.8  # the target is a value this fraction of the setter's seeds reached
STUDY_SEED_STRIDE = 1000  # baseline i's study draws its trials with sampler seed i * this


def best_value(history: list[dict[str, float]], metric: str) -> float:
    """The best value of ``metric`` a run reached (NaN if never logged)."""
    values = [h[metric] for h in history if math.isfinite(h.get(metric, math.nan))]
    if not values:
        return math.nan
    return max(values) if higher_is_better(metric) else min(values)


def sure_value(bests: list[float], metric: str, fraction: float = REACHED_BY) -> float:
    """The best value that at least ``fraction`` of the seeds reached (their best values
    ``bests``; a failed seed is NaN and reaches nothing): of 5 seeds, the 4th best."""
    k = max(1, math.ceil(fraction * len(bests)))
    ok = sorted((b for b in bests if math.isfinite(b)), reverse=higher_is_better(metric))
    return ok[k - 1] if len(ok) >= k else math.nan


def first_reach(history: list[dict[str, float]], metric: str, value: float) -> dict[str, float]:
    """The optimizer steps and seconds at the first logged step that reached ``value``, as
    the runner's own TargetTracker logs them; {} when no step did."""
    i = first_crossing((h.get(metric) for h in history), value, higher_is_better(metric))
    if i is None:
        return {}
    return {
        "steps_to_target": history[i].get("optimizer_steps", history[i]["step"]),
        "time_to_target_s": history[i].get("elapsed_s", math.inf),
    }


def target_of(sure: dict[str, float], metric: str) -> tuple[str, float]:
    """The baseline with the best sure value, and that value: the workload's target."""
    found = {b: v for b, v in sure.items() if math.isfinite(v)}
    if not found:
        raise OptbenchError("no baseline reached any value on enough seeds to set a target")
    sign = -1.0 if higher_is_better(metric) else 1.0
    best = min(found, key=lambda b: sign * found[b])
    return best, found[best]


def budget_of(median_steps: float, steps_per_unit: float, schedule: int) -> int:
    """BUDGET_MULTIPLE x the setter's median steps to the target, in the budget's unit,
    rounded up, and at least the schedule length."""
    return max(schedule, math.ceil(BUDGET_MULTIPLE * median_steps / steps_per_unit))


def save_row(row: dict[str, Any], path: Path | None = None) -> Path:
    """Put one workload's row into the targets table, keeping the others."""
    path = path or table_path()
    return write_table({**targets_table(path), row["workload"]: row}, path)


def write_table(rows: dict[str, dict[str, Any]], path: Path) -> Path:
    """A whole targets table (workload -> row), sorted by workload."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, TABLE_FIELDS)
        writer.writeheader()
        writer.writerows({k: rows[name].get(k, "") for k in TABLE_FIELDS} for name in sorted(rows))
    return path


def rebuild(argv: list[str], config_dir: str | None) -> None:
    """Tune and re-run every baseline on every scored workload; write targets, budgets and
    the baselines table."""
    from optbench import console
    from optbench.schema import register_configs
    from optbench.suite import baselines, run
    from optbench.suite.settings import composed_workloads, parse_settings, split_settings
    from optbench.tracking import MlflowWriter, resolve_uri
    from optbench.tracking.env import OpenSweep, export, withdraw
    from optbench.tracking.sweep import close_sweep

    ours, overrides = split_settings(argv)
    overrides = ["tracking.artifacts=false", *overrides]  # the table needs metrics, not plots
    settings = parse_settings(ours, config_dir)
    register_configs()
    toys = [n for n in settings.names if wl.group_of(n) != "scored"]
    if toys:
        raise OptbenchError(
            f"suite.workloads: {', '.join(toys)} {'is' if len(toys) == 1 else 'are'} in the toy "
            "group, whose targets are fixed tolerances; rebuild scored workloads only."
        )
    first = next(iter(baselines.BASELINES.values()))  # each workload checked as it will run
    workloads = composed_workloads(settings.names, [*overrides, *first], config_dir)
    uri = resolve_uri(workloads[settings.names[0]][0].tracking.uri)
    tags = {tag.ROLE: tag.ROLE_BASELINES,
            tag.NOTE: "optbench suite --rebuild-baselines " + " ".join(argv)}  # fmt: skip
    parent, _ = MlflowWriter(uri).start("suite", "suite baselines", tags, params={})
    sweep = OpenSweep(uri, parent, "baselines")
    export(sweep)
    status = "FAILED"
    try:
        for name in settings.names:
            workload = workloads[name][1]
            schedule = workload.schedule
            whole = baselines.schedule_overrides(schedule)
            runs: dict[str, tuple[str, list[Any]]] = {}
            for index, (baseline, extra) in enumerate(baselines.BASELINES.items()):
                mine = [*overrides, *extra, *whole]
                tuned = _tuned(workload, mine, config_dir, settings, uri, baseline, index)
                console.console.print(f"  {name} {baseline}: tuned {tuned}", highlight=False)
                done = [
                    run.one_run(name, [*mine, *tuned.split(), f"seed={seed}"], config_dir)
                    for seed in settings.seeds
                ]
                runs[baseline] = (tuned, done)
            rows: dict[str, list[Any]] = {b: [] for b in baselines.BASELINES}
            row = _set(workload, runs, rows, schedule, settings)
            save_row(row)
            baselines.save(rows)  # workload by workload: an interrupted rebuild keeps those done
            console.console.print(
                f"{name}: target {workload.metric} {row['target']} · budget {row['budget']} "
                f"{workload.unit} · set by {row['set_by']} ({row['reached']} seeds)",
                highlight=False,
            )
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        close_sweep(sweep, status)
        withdraw()
    console.console.print(
        f"targets written to {table_path()}, baselines to {baselines.table_path()}",
        highlight=False,
    )


def _tuned(
    workload: wl.Workload, overrides: list[str], config_dir: str | None, settings: Any,
    uri: str, baseline: str, index: int,
) -> str:  # fmt: skip
    """The baseline's best settings from its own study of suite.trials trials."""
    from optbench.suite import tuning

    folder = paths.suite() / "baselines" / workload.name / baseline
    seed = STUDY_SEED_STRIDE * (index + 1)  # its sampler's seed and its trials' run seed
    ((_, params),) = tuning.tune(
        workload, [*overrides, f"hydra.sweeper.seed={seed}"], config_dir, [seed],
        settings.tuning, uri, folder, workload.metric,
    )  # fmt: skip
    return tuning.tuned_settings(params, tuning.search_keys(folder))


def _set(
    workload: wl.Workload, runs: dict[str, tuple[str, list[Any]]], rows: dict[str, list],
    schedule: int, settings: Any,
) -> dict[str, Any]:  # fmt: skip
    """The workload's row of the targets table from the baselines' runs; each baseline's
    per-seed results go into ``rows``."""
    from optbench.suite.result import WorkloadResult, final_metrics
    from optbench.suite.score import median_over_seeds

    metric = workload.metric
    bests = {
        b: [math.nan if r is None else best_value(r.history, metric) for r in done]
        for b, (_, done) in runs.items()
    }
    setter, target = target_of({b: sure_value(v, metric) for b, v in bests.items()}, metric)
    steps: dict[str, float] = {}
    per_unit = 1.0
    for baseline, (tuned, done) in runs.items():
        result = WorkloadResult(workload)
        for r in done:
            if r is None:
                result.failed += 1
                result.add({}, tuned)
                continue
            final = {k: v for k, v in final_metrics(r).items()
                     if k not in ("steps_to_target", "time_to_target_s")}  # fmt: skip
            final.update(first_reach(r.history, metric, target))
            if r.history and workload.unit == "epochs":
                per_unit = r.history[0].get("optimizer_steps", per_unit)
            result.add(final, tuned)
        rows[baseline].append(result)
        steps[baseline] = median_over_seeds(result.steps)
    reached = sum(math.isfinite(s) for s in rows[setter][-1].steps)
    tuned = runs[setter][0]
    return {
        "workload": workload.name,
        "group": "scored",
        "metric": metric,
        "target": written(target, metric),
        "budget": budget_of(steps[setter], per_unit, schedule),
        "unit": workload.unit,
        "schedule": schedule,
        "set_by": f"{setter}, {tuned.replace('optimizer.', '').replace('=', ' ')}".strip(", "),
        "settings": tuned,
        "reached": f"{reached}/{len(settings.seeds)}",
        "median_steps": f"{steps[setter]:.0f}",
        "trials": settings.tuning.trials,
        "seeds": len(settings.seeds),
        "date": datetime.date.today().isoformat(),
    }


def written(value: float, metric: str) -> str:
    """``value`` in 6 significant digits, rounded towards the easier side, so that every run
    whose best value was ``value`` still reaches the written target."""
    digits = 10 ** (5 - math.floor(math.log10(abs(value)))) if value else 1e6
    easier = math.floor if higher_is_better(metric) else math.ceil
    return f"{easier(value * digits) / digits:.6g}"
