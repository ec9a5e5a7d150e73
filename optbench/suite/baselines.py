"""The suite's baselines: AdamW, NAdamW, Nesterov and heavy-ball momentum, each run on every
workload and seed the same way a submission is, and shipped as a small table
(optbench/suite/baselines.csv: per workload, baseline and seed, the steps, gradient
evaluations and seconds to target, the final metric, and where and when it was measured).
Scores use steps, which hold across machines; seconds are this machine's.

    optbench suite --rebuild-baselines suite.trials=5 suite.seeds=5   # rewrites it here

The table is built by optbench/suite/targets.py (``--rebuild-baselines``), which tunes each
baseline with the same trial budget and sets the workloads' targets and budgets from them.
Its per-seed rows enter every pool (optbench/suite/pool.py): the baselines were run over the
budget before the rebuild, so a seed past today's budget counts there as not reached."""

from __future__ import annotations

import csv
import datetime
import platform
from importlib import metadata, resources
from pathlib import Path

BASELINES = {  # name in the table -> the overrides that make it
    "adamw": ["optimizer=adamw"],
    "nadamw": ["optimizer=nadam", "optimizer.weight_decay=0.004"],
    "nesterov": ["optimizer=nesterov"],
    "momentum": ["optimizer=momentum"],
}
WARMUP_FRACTION = 0.05  # of the schedule: linear warm-up, then cosine decay to zero


def schedule_overrides(schedule: int) -> list[str]:
    """How a baseline runs, in the rebuild and when re-run: the workload's whole schedule
    (in its budget's unit), linear warm-up over its first 5 %, then cosine decay to zero, as
    AlgoPerf's baselines."""
    return [
        f"trainer.max_iter={schedule}",
        "trainer.stop_at_target=false",
        "schedule=warmup_cosine",
        f"schedule.warmup_epochs={WARMUP_FRACTION * schedule:g}",
    ]


FIELDS = ["workload", "baseline", "seed", "settings", "steps_to_target", "gradients_to_target",
          "seconds_to_target", "final_metric", "machine", "versions", "date"]  # fmt: skip


def table_path() -> Path:
    return Path(str(resources.files("optbench.suite") / "baselines.csv"))


def load(path: Path | None = None) -> list[dict[str, str]]:
    """The shipped rows; [] where none were built yet."""
    path = path or table_path()
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def steps_by_baseline(
    rows: list[dict[str, str]], column: str = "steps_to_target"
) -> dict[str, dict[str, list[float]]]:
    """rows -> steps[baseline][workload] = per-seed ``column`` (inf: not reached)."""
    steps: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        value = float(row.get(column) or row["steps_to_target"])
        steps.setdefault(row["baseline"], {}).setdefault(row["workload"], []).append(value)
    return steps


def save(results_by_baseline: dict[str, list], path: Path | None = None) -> Path:
    """Write the table from suite results (optbench.suite.run.WorkloadResult lists); rows of
    workloads not in them are kept."""
    path = path or table_path()
    rebuilt = {r.workload.name for results in results_by_baseline.values() for r in results}
    kept = [row for row in load(path) if row["workload"] not in rebuilt]
    machine = f"{platform.processor() or platform.machine()}, {platform.platform()}"
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("keras", "tensorflow", "numpy"))
    date = datetime.date.today().isoformat()
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in FIELDS} for row in kept)
        for baseline, results in results_by_baseline.items():
            for result in results:
                for seed, steps in enumerate(result.steps):
                    writer.writerow(
                        {
                            "workload": result.workload.name,
                            "baseline": baseline,
                            "seed": seed,
                            "settings": result.settings[seed] if result.settings else "",
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


def settings_of(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """settings[baseline][workload]: the tuned overrides the table was built with ("" for
    defaults, and in a table from before tuning)."""
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["baseline"], {}).setdefault(row["workload"], row.get("settings") or "")
    return found
