"""Whether one job's model, dataset, optimizer, schedule and backend go together, before any
data is loaded. Each owner keeps its own rules: the model's row (optbench/models/registry.py),
the datasets (optbench/data/checks.py), the optimizers per framework (optbench/optim/rules.py)
and the Keras backend; this module only calls them in turn, the order deciding which refusal a
job with several faults gets."""

from __future__ import annotations

from typing import Any

from optbench import backends
from optbench.data.checks import check_dataset
from optbench.models.registry import LANDSCAPE, MODELS, check_framework, framework_of, model_row
from optbench.optim.registry import optimizer_row
from optbench.optim.rules import FRAMEWORK_CHECKS


def check(cfg: Any) -> None:
    """Every rule for one job (a validated Config): OptbenchError at the first it breaks."""
    row = model_row(cfg.model.name)
    optimizer_row(cfg.optimizer.name)
    check_dataset(cfg, row.datasets, row.dataset_refusal, LANDSCAPE)
    framework = framework_of(cfg)
    check_framework(row, framework)
    FRAMEWORK_CHECKS[framework](cfg, MODELS)
    if framework != "sklearn":
        backends.check(cfg.hardware)
