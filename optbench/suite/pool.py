"""Pools: the optimizers scored together. An AlgoPerf score is relative to its pool (each time is
divided by the pool's best on the workload), so a score is printed with the pool it comes from
and two scores compare only within one pool.

Where a pool's members come from: ``optbench suite`` scores its submission with the shipped
baselines (``with_baselines``); ``optbench suite --score`` reads any set of finished suites back
from an MLflow store (optbench/suite/stored.py) and scores them all, with the baselines, in one
pool; the bench's scorecard scores its saved per-seed results the same way. Each workload's budget is converted
to optimizer steps here (``budget_steps``), so steps to target and budget are compared in one
unit (optbench.suite.score.within_budget)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optbench.suite import workloads as wl
from optbench.suite.score import Scored, score_pool

REFERENCE = "nadamw"  # the baseline the speed-ups are over, as AlgoPerf's NAdamW baseline
SUFFIX = " (baseline)"
PerSeed = dict[str, dict[str, list[float]]]  # optimizer -> workload -> per seed (or study)


def baseline_name(baseline: str) -> str:
    """A tuned baseline's row: always marked, so "adamw" (the optimizer at its defaults) and
    "adamw (baseline)" (tuned) are never confused in a pool that holds both."""
    return baseline + SUFFIX


@dataclass
class Pool:
    """Per-seed times of every optimizer scored together, each workload's budget in the same
    unit (None: no budget, e.g. seconds), and the reference of the speed-ups."""

    label: str  # what the pool is, printed with every score table: "adam + 4 tuned baselines"
    times: PerSeed
    budgets: dict[str, float] | None
    reference: str | None = baseline_name(REFERENCE)
    _scored: dict[str, Scored] | None = field(default=None, repr=False)

    @property
    def workloads(self) -> list[str]:
        return list(next(iter(self.times.values()), {}))

    def scored(self) -> dict[str, Scored]:
        """score.score_pool on this pool (computed once)."""
        if self._scored is None:
            reference = self.reference if self.reference in self.times else None
            self._scored = score_pool(self.times, self.budgets, reference)
        return self._scored


def with_baselines(
    submissions: PerSeed,
    baseline_times: PerSeed,
    budgets: dict[str, float] | None,
    label: str,
    cut_by: PerSeed | None = None,
) -> Pool | None:
    """The submissions and every baseline that ran all their workloads, in one pool; None when
    no baseline did (there is nothing to be relative to). ``cut_by``: per-seed steps of the same
    optimizers (baselines under baseline_name), where ``times`` are not steps (seconds): a
    seed past the steps budget is then not reached in ``times`` either."""
    workloads = list(next(iter(submissions.values())))
    times = {name: {w: list(row[w]) for w in workloads} for name, row in submissions.items()}
    for baseline, per in baseline_times.items():
        if all(w in per for w in workloads):
            times[baseline_name(baseline)] = {w: list(per[w]) for w in workloads}
    if len(times) == len(submissions):
        return None
    if cut_by is not None:
        times = mask_past_budget(times, cut_by, budgets or {})
        budgets = None
    n = len(times) - len(submissions)
    return Pool(f"{label} + {n} tuned baseline{'s' * (n != 1)}", times, budgets)


def mask_past_budget(times: PerSeed, steps: PerSeed, budgets: Mapping[str, float]) -> PerSeed:
    """``times`` (seconds, say) with inf wherever the same seed's steps to target were past the
    workload's step budget (or not reached)."""
    out: PerSeed = {}
    for name, row in times.items():
        out[name] = {}
        for w, values in row.items():
            limit = budgets.get(w, math.inf)
            out[name][w] = [
                t if math.isfinite(s) and s <= limit else math.inf
                for t, s in zip(values, steps[name][w], strict=True)
            ]
    return out


# Budgets -----------------------------------------------------------------------------------


def budget_steps(workload: wl.Workload, steps_per_unit: float) -> float:
    """The workload's budget in optimizer steps: trainer.max_iter times the steps one unit
    (an epoch of a Keras model, a step of a 2-D function) takes."""
    return float(workload.budget) * (1.0 if workload.unit == "steps" else steps_per_unit)


def steps_per_unit(cfg: Any) -> float:
    """Optimizer steps per unit of the budget, as a run takes them: 1 on a 2-D function; on a
    Keras model ceil(training samples / batch size), from the dataset split the run would load
    (cheap: the splits, no model). The same for every seed: a seed moves which samples are
    held out, not how many."""
    if cfg.model.name == "landscape":
        return 1.0
    from optbench.data import load_dataset
    from optbench.trainers.keras_trainer import batch_size

    n_train = len(load_dataset(cfg.dataset, cfg.seed).y_train)
    return float(math.ceil(n_train / batch_size(cfg.trainer.batch_size, n_train)))


def budgets_of(workloads: Mapping[str, tuple[Any, wl.Workload]]) -> dict[str, float]:
    """Budgets in steps of composed workloads (settings.composed_workloads' values)."""
    return {name: budget_steps(w, steps_per_unit(cfg)) for name, (cfg, w) in workloads.items()}


def as_json(pool: Pool) -> str:
    """The pool's scores as JSON (inf as null), for scripts."""
    out = {"pool": pool.label, "budgets_steps": pool.budgets, "scores": {}}
    for name, s in pool.scored().items():
        out["scores"][name] = {
            "reached": s.reached,
            "score": [s.score.point, s.score.low, s.score.high],
            "speedup": None
            if s.speedup is None
            else [s.speedup.point, s.speedup.low, s.speedup.high],
            "rests_on": s.rests_on,
            "median_steps": {w: (t if math.isfinite(t) else None) for w, t in s.times.items()},
        }
    return json.dumps(out, indent=1)
