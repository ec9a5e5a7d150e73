"""Runs written straight into a real MLflow store, as optbench's jobs leave them: the
optbench.* tags of the config's choices, metric histories by step, params, artifacts and a
status, with no training. For the report's and the suite's readers, which only read stores."""

from __future__ import annotations

from typing import Any

from mlflow.entities import Metric, Param

from optbench import tags as tag
from optbench.tracking.store import experiment_id


def experiment(mlflow: Any, name: str) -> str:
    """The id of experiment ``name``, created where it is missing, its artifacts beside the
    store (as optbench's own runs: never ./mlruns in the working directory)."""
    return experiment_id(mlflow, name, mlflow.tracking_uri)


def add_run(
    mlflow: Any,
    experiment_id: str,
    *,
    start: int,
    choices: dict[str, str] | None = None,
    histories: dict[str, list[tuple[int, float]]] | None = None,
    final: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    status: str = "FINISHED",
    name: str | None = None,
) -> str:
    """One job run: ``choices`` as optbench.<choice> tags (and a config hash, as every job has),
    ``histories`` (key -> [(step, value)]), ``final`` metrics at step 0, then ``status``.
    ``start``: its start time in ms, which orders runs."""
    all_tags = {tag.CONFIG_HASH: f"hash{start}", **(tags or {})}
    all_tags.update({tag.choice(k): v for k, v in (choices or {}).items()})
    run = mlflow.create_run(experiment_id, start_time=start, tags=all_tags, run_name=name)
    metrics = [
        Metric(key, value, start + step, step)
        for key, points in (histories or {}).items()
        for step, value in points
    ]
    metrics += [Metric(key, value, start, 0) for key, value in (final or {}).items()]
    mlflow.log_batch(
        run.info.run_id,
        metrics=metrics,
        params=[Param(k, v) for k, v in (params or {}).items()],
    )
    mlflow.set_terminated(run.info.run_id, status=status)
    return run.info.run_id


def training_run(
    mlflow: Any,
    experiment_id: str,
    start: int,
    optimizer: str,
    seed: int,
    accuracy: list[float],
    tags: dict[str, str] | None = None,
) -> str:
    """A Keras run of digits/mlp: val_accuracy per epoch as given, train_loss 1/epoch, lr 0.01,
    2 s an epoch; fit_time_s 6 + seed and params_total 101,770 at the end."""
    steps = range(1, len(accuracy) + 1)
    histories = {
        "val_accuracy": list(zip(steps, accuracy, strict=True)),
        "train_loss": [(s, 1.0 / s) for s in steps],
        "lr": [(s, 0.01) for s in steps],
        "elapsed_s": [(s, 2.0 * s) for s in steps],
    }
    choices = {"framework": "keras", "dataset": "digits", "model": "mlp", "optimizer": optimizer,
               "schedule": "constant", "seed": str(seed)}  # fmt: skip
    final = {"fit_time_s": 6.0 + seed, "params_total": 101770.0}
    return add_run(mlflow, experiment_id, start=start, choices=choices, histories=histories,
                   final=final, tags=tags)  # fmt: skip
