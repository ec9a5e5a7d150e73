"""The suite's own settings (conf/suite/default.yaml, ``suite.*`` on ``optbench suite``'s
command line) and its targets table (optbench/suite/targets.csv), which the workloads read
through the ``suite`` resolver: ``trainer.max_iter: ${suite:budget,mnist_mlp}``. The table is
data written by ``optbench suite --rebuild-baselines``; nothing rewrites the workload YAMLs."""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from optbench.constraints import OneOf, constrained, non_negative, positive_int
from optbench.errors import OptbenchError

RULESETS = ("self_tuning", "external_tuning")
BASELINE_MODES = ("shipped", "rerun")
GROUPS = ("scored", "toy")  # toy: 2-D functions, run for their paths, never scored


@dataclass
class SuiteConfig:
    seeds: int = positive_int(3)  # self-tuning: seeds; external tuning: studies
    first_seed: int = non_negative(0)  # seeds first_seed, first_seed + 1, ...
    workloads: list[str] | None = None  # null: every scored workload
    ruleset: str = constrained("self_tuning", OneOf(RULESETS))
    trials: int = positive_int(5)  # external tuning: trials per study
    search: str = "lr"  # external tuning: the hparams_search option to draw trials from
    baselines: str = constrained("shipped", OneOf(BASELINE_MODES))


@dataclass
class SuiteSettingsConfig:
    """The root of conf/suite_settings.yaml: only the suite's settings."""

    suite: SuiteConfig


# the targets table: one row per workload
TABLE_FIELDS = ["workload", "group", "metric", "target", "budget", "unit", "schedule",
                "set_by", "settings", "reached", "median_steps", "trials", "seeds", "date"]  # fmt: skip


def table_path() -> Path:
    """The shipped table, or ``$OPTBENCH_SUITE_TARGETS`` (a rebuild of your own, a test's)."""
    own = os.environ.get("OPTBENCH_SUITE_TARGETS")
    return Path(own) if own else Path(str(resources.files("optbench.suite") / "targets.csv"))


@functools.cache
def _rows(path: str, mtime: float) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["workload"]: row for row in csv.DictReader(handle)}


def targets_table(path: Path | None = None) -> dict[str, dict[str, str]]:
    """workload -> its row of the targets table ({} where there is none yet)."""
    path = path or table_path()
    if not path.is_file():
        return {}
    return _rows(str(path), path.stat().st_mtime)


def suite_value(what: str, workload: str) -> float | int:
    """The ``suite`` resolver: a workload's ``target`` (float) or ``budget`` (int) from the
    targets table."""
    row = targets_table().get(workload)
    if row is None or what not in ("target", "budget") or not row.get(what):
        raise OptbenchError(
            f"${{suite:{what},{workload}}}: the targets table {table_path()} has no {what} for "
            f"workload {workload}; build it: optbench suite --rebuild-baselines "
            f"suite.workloads=[{workload}]"
        )
    return int(float(row["budget"])) if what == "budget" else float(row["target"])


def register_resolver() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("suite", suite_value, replace=True)
