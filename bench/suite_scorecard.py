"""The scorecard of optbench's shipped optimizers on the workload suite (self-tuning: each at
its defaults, N seeds), scored together with the shipped baselines: per optimizer the
workloads reached, the AlgoPerf score (tau in [1, 4]) and the geometric-mean speedup over
NAdamW on median steps to target, and per workload the median steps. README quotes the file
this writes, bench/results/suite_scorecard.md.

Real pieces: `optbench suite` itself (optbench.suite.run.run, in this process), every shipped
workload on the real data under $OPTBENCH_DATA_DIR, a fresh SQLite store, the baselines
table optbench/suite/baselines.csv.

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/suite_scorecard.py [--seeds 3]
       [--optimizers sgd,momentum,adam,...]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from results import Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHIPPED = "sgd,momentum,nesterov,adam,adamw,nadam,rmsprop,lion,sam,schedule_free_adamw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--optimizers", default=SHIPPED)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="optbench-scorecard-"))
    os.chdir(folder)  # runs/ (reports, feature cache) of its own
    store = f"sqlite:///{folder / 'mlflow.db'}"

    from optbench.suite.baselines import shipped_medians
    from optbench.suite.run import run
    from optbench.suite.score import (
        algoperf_score,
        geometric_mean_speedup,
        median_over_seeds,
        performance_ratios,
    )

    mine: dict[str, dict[str, float]] = {}
    for name in args.optimizers.split(","):
        results = run(
            [f"optimizer={name}", f"suite.seeds={args.seeds}", f"tracking.uri={store}"],
            None,
            scored=False,
        )
        mine[name] = {r.workload.name: median_over_seeds(r.steps) for r in results}
    workloads = sorted(next(iter(mine.values())))
    baselines = {b: per for b, per in shipped_medians().items() if all(w in per for w in workloads)}
    out = Result("suite_scorecard")
    out.print(
        f"optbench suite, self-tuning (defaults), {args.seeds} seeds; baselines: the shipped "
        "table (tuned); scored on median steps to target, each optimizer with the baselines"
    )
    out.print(f"{'optimizer':<22}{'reached':>8}{'score':>8}{'vs nadamw':>11}")
    for name, steps in mine.items():
        times = {name: steps, **{b: {w: per[w] for w in workloads} for b, per in baselines.items()}}
        ratios = performance_ratios(times)[name]
        speedup = geometric_mean_speedup(times, name, "nadamw") if "nadamw" in times else math.nan
        reached = sum(math.isfinite(s) for s in steps.values())
        out.print(
            f"{name:<22}{reached:>5}/{len(workloads)}{algoperf_score(ratios):>8.3f}"
            f"{speedup:>10.2f}x"
        )
    out.print("")
    out.print("median steps to target per workload (- : not reached on most seeds)")
    columns = [*mine, *(f"{b} (baseline)" for b in baselines)]
    rows = {**mine, **{f"{b} (baseline)": per for b, per in baselines.items()}}
    out.print(f"{'workload':<28}" + "".join(f"{c[:12]:>13}" for c in columns))
    for w in workloads:
        cells = [rows[c][w] for c in columns]
        out.print(
            f"{w:<28}" + "".join(f"{'-' if math.isinf(v) else f'{v:,.0f}':>13}" for v in cells)
        )
    out.save()


if __name__ == "__main__":
    main()
