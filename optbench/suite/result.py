"""One workload's outcome in the suite: per seed (or per study, under external tuning) the
steps, gradient evaluations and seconds to its target and the final metric, and its row in
the scorecard. Plain data, shared by the runner, the baselines table and the scorecard."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from optbench.suite import workloads as wl
from optbench.suite.score import median_over_seeds


@dataclass
class WorkloadResult:
    workload: wl.Workload
    steps: list[float] = field(default_factory=list)  # to target per seed, inf if not reached
    gradients: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)  # the target metric at the end, per seed
    settings: list[str] = field(default_factory=list)  # tuned values per seed ("": defaults)
    failed: int = 0  # seeds whose run failed (counted as not reached)
    gradients_per_step: float = 1.0  # SAM: 2

    def add(self, final: dict[str, float], settings: str = "") -> None:
        """One seed's (or study's) outcome from its run's final metrics."""
        self.steps.append(wl.steps_to_target(final))
        self.gradients.append(wl.gradients_to_target(final))
        reached = math.isfinite(self.steps[-1])
        seconds = final.get("time_to_target_s", final.get("time_to_tolerance_s", math.inf))
        self.seconds.append(seconds if reached else math.inf)
        self.final.append(final.get(self.workload.metric, math.nan))
        self.settings.append(settings)
        if final.get("optimizer_steps") and "gradient_evaluations" in final:
            self.gradients_per_step = final["gradient_evaluations"] / final["optimizer_steps"]

    def row(self) -> list[str]:
        w, n = self.workload, len(self.steps)
        reached = sum(math.isfinite(s) for s in self.steps)
        steps, seconds = median_over_seeds(self.steps), median_over_seeds(self.seconds)
        finals = [v for v in self.final if math.isfinite(v)]
        spread = (
            f"{statistics.median(finals):.4g} [{min(finals):.4g}, {max(finals):.4g}]"
            if finals
            else "-"
        )
        return [
            w.name,
            w.target,
            f"{w.budget} {w.unit}",
            f"{reached}/{n}",
            "not reached" if math.isinf(steps) else f"{steps:,.0f}",
            "-" if math.isinf(seconds) else f"{seconds:.2f}",
            spread,
        ]


HEADER = ["workload", "target", "budget", "reached", "steps to target (median)",
          "seconds to target", "final metric, median [min, max]"]  # fmt: skip


def final_metrics(run: Any) -> dict[str, float]:
    """A run's metrics at its end, as MLflow keeps them: the last step's, then the final ones
    (what WorkloadResult.add reads); {} for a run that failed (None)."""
    if run is None:
        return {}
    return {**(run.history[-1] if run.history else {}), **run.final}
