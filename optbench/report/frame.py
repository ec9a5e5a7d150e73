"""Runs from the MLflow store as pandas DataFrames: one row per run (config choices from the
optbench.* tags, every final metric as a column), and learning curves in long form."""

from __future__ import annotations

from typing import Any

import pandas as pd

from optbench import tags as tag

CHOICES = ("framework", "model", "dataset", "optimizer", "schedule", "seed")


def search(
    client: Any,
    experiments: list[str] | None = None,
    sweep: str | None = None,
    filter_string: str | None = None,
) -> list[Any]:
    """Finished-or-not runs of the named experiments (all when None), of one sweep (its
    ``optbench.sweep_id`` tag or parent run id), matching an MLflow ``filter_string``.
    Sweep parent runs themselves are left out."""
    all_experiments = client.search_experiments()
    if experiments:
        by_name = {e.name: e.experiment_id for e in all_experiments}
        missing = [n for n in experiments if n not in by_name]
        if missing:
            from optbench.errors import OptbenchError

            raise OptbenchError(
                f"no experiment {', '.join(missing)} in the store; it has: "
                f"{', '.join(sorted(by_name)) or 'none'}."
            )
        ids = [by_name[n] for n in experiments]
    else:
        ids = [e.experiment_id for e in all_experiments]
    clauses = [tag.where(tag.CONFIG_HASH, "", "!=")]
    if sweep:
        key = tag.PARENT_RUN_ID if _is_run_id(sweep) else tag.SWEEP_ID
        clauses.append(tag.where(key, sweep))
    if filter_string:
        clauses.append(filter_string)
    return client.search_runs(ids, filter_string=" and ".join(clauses), max_results=50000)


def _is_run_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def runs_frame(runs: list[Any], experiment_names: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    for run in runs:
        tags = run.data.tags
        rows.append(
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                "experiment": (experiment_names or {}).get(
                    run.info.experiment_id, run.info.experiment_id
                ),
                "sweep_id": tags.get(tag.SWEEP_ID, ""),
                **{c: tags.get(tag.choice(c), "") for c in CHOICES},
                "diverged": tags.get(tag.DIVERGED) == "true",
                "start_time": run.info.start_time,
                **run.data.metrics,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce")
        frame = frame.sort_values("start_time").reset_index(drop=True)
    return frame


def curves_frame(client: Any, run_ids: list[str], keys: tuple[str, ...]) -> pd.DataFrame:
    """Long form: run_id, key, step, value (plus elapsed_s at that step), one row per logged
    point of each key in ``keys`` and run that has it."""
    rows = []
    for run_id in run_ids:
        elapsed = {m.step: m.value for m in client.get_metric_history(run_id, "elapsed_s")}
        for key in keys:
            for m in client.get_metric_history(run_id, key):
                rows.append((run_id, key, m.step, m.value, elapsed.get(m.step)))
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "elapsed_s"])
