"""A sweep's learning curves on one figure: train_loss against the step and against training
time, one line per run, read back from the MLflow store."""

from __future__ import annotations

from typing import Any

MAX_RUNS = 60  # beyond this one figure stops being readable


def histories(client: Any, runs: list[Any], key: str = "train_loss") -> dict[str, dict]:
    """run name -> {"step": [...], key: [...], "elapsed_s": [...]} for runs that logged ``key``."""
    out: dict[str, dict] = {}
    for run in sorted(runs, key=lambda r: r.info.start_time):
        if key not in run.data.metrics:
            continue
        values = client.get_metric_history(run.info.run_id, key)
        elapsed = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "elapsed_s")}
        values = sorted(values, key=lambda m: m.step)
        out[run.info.run_name] = {
            "step": [m.step for m in values],
            key: [m.value for m in values],
            "elapsed_s": [elapsed.get(m.step) for m in values],
        }
    return out


def log_sweep_curves(writer: Any, parent_id: str, children: list[Any]) -> bool:
    """Log curves/train_loss.png on the sweep's parent run; False if there is nothing to draw."""
    runs = [c for c in children if c.info.status == "FINISHED"]
    if not runs or len(runs) > MAX_RUNS:
        return False
    curves = histories(writer.client, runs)
    if not curves:
        return False
    writer.figure(
        parent_id,
        "optbench.report.plots:sweep_curves",
        (curves, "train_loss"),
        "curves/train_loss.png",
    )
    return True
