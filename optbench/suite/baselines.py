"""The suite's baselines: AdamW, NAdamW, Nesterov and heavy-ball momentum, each run on every
workload and seed the same way a submission is, and shipped as a small table
(optbench/suite/baselines.csv: per workload, baseline and seed, the steps, gradient
evaluations and seconds to target, the final metric, and where and when it was measured).
Scores use steps, which hold across machines; seconds are this machine's.

    optbench suite --rebuild-baselines suite.seeds=3      # rewrites baselines.csv here

Each baseline runs at its defaults (the self-tuning ruleset); baselines tuned with an equal
trial budget, the AlgoPerf way, are still to come."""

from __future__ import annotations

import csv
import datetime
import math
import platform
from importlib import metadata, resources
from pathlib import Path

BASELINES = {  # name in the table -> the overrides that make it
    "adamw": ["optimizer=adamw"],
    "nadamw": ["optimizer=nadam", "optimizer.weight_decay=0.004"],
    "nesterov": ["optimizer=nesterov"],
    "momentum": ["optimizer=momentum"],
}
FIELDS = ["workload", "baseline", "seed", "steps_to_target", "gradients_to_target",
          "seconds_to_target", "final_metric", "machine", "versions", "date"]  # fmt: skip


def table_path() -> Path:
    return Path(str(resources.files("optbench.suite") / "baselines.csv"))


def load() -> list[dict[str, str]]:
    """The shipped rows; [] where none were built yet."""
    path = table_path()
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def steps_by_baseline(rows: list[dict[str, str]]) -> dict[str, dict[str, list[float]]]:
    """rows -> steps[baseline][workload] = per-seed steps to target (inf: not reached)."""
    steps: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        value = float(row["steps_to_target"])
        steps.setdefault(row["baseline"], {}).setdefault(row["workload"], []).append(value)
    return steps


def save(results_by_baseline: dict[str, list], path: Path | None = None) -> Path:
    """Write the table from suite results (optbench.suite.run.WorkloadResult lists)."""
    path = path or table_path()
    machine = f"{platform.processor() or platform.machine()}, {platform.platform()}"
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("keras", "tensorflow", "numpy"))
    date = datetime.date.today().isoformat()
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for baseline, results in results_by_baseline.items():
            for result in results:
                for seed, steps in enumerate(result.steps):
                    writer.writerow(
                        {
                            "workload": result.workload.name,
                            "baseline": baseline,
                            "seed": seed,
                            "steps_to_target": steps,
                            "gradients_to_target": result.gradients[seed],
                            "seconds_to_target": result.seconds[seed],
                            "final_metric": result.final[seed],
                            "machine": machine,
                            "versions": versions,
                            "date": date,
                        }
                    )
    return path


def score_rows(steps: dict[str, float], label: str) -> list[list[str]]:
    """The submission (``steps``: median steps to target per workload) and every baseline that
    ran all those workloads, scored together: AlgoPerf score, geometric-mean speedup over
    NAdamW, workloads reached."""
    from optbench.suite.score import (
        algoperf_score,
        geometric_mean_speedup,
        median_over_seeds,
        performance_ratios,
    )

    times = {label: steps}
    for baseline, per in steps_by_baseline(load()).items():
        if baseline != label and all(name in per for name in steps):
            times[baseline] = {name: median_over_seeds(per[name]) for name in steps}
    if len(times) == 1:
        return []
    rows = []
    for name, ratios in performance_ratios(times).items():
        speedup = geometric_mean_speedup(times, name, "nadamw") if "nadamw" in times else math.nan
        reached = sum(math.isfinite(t) for t in times[name].values())
        rows.append(
            [name, f"{algoperf_score(ratios):.3f}", f"{speedup:.2f}x", f"{reached}/{len(steps)}"]
        )
    return rows
