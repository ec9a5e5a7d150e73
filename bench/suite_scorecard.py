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
Optimizers scored earlier with the same seeds and baselines table stay in the scorecard
(bench/results/suite_scorecard.json), so it can be built in batches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from results import Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHIPPED = ("sgd,adam,lion,schedule_free_adamw,momentum,nadam,rmsprop,sam,muon,adamw,nesterov,"
           "adagrad,adamax,adafactor,lamb")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--optimizers", default=SHIPPED)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="optbench-scorecard-"))
    os.chdir(folder)  # runs/ (reports, feature cache) of its own
    store = f"sqlite:///{folder / 'mlflow.db'}"

    from optbench.suite.run import run
    from optbench.suite.score import median_over_seeds

    # optimizers scored before (same seeds, same baselines table) are kept: the scorecard can
    # be built in batches, each run adding its optimizers to bench/results/suite_scorecard.json
    store_json = Path(__file__).parent / "results" / "suite_scorecard.json"
    kept = json.loads(store_json.read_text()) if store_json.is_file() else {}
    same = kept.get("seeds") == args.seeds and kept.get("baselines") == _table_digest()
    mine: dict[str, dict[str, float]] = dict(kept.get("steps", {})) if same else {}
    for name in args.optimizers.split(","):
        if name in mine:
            continue
        results = run(
            [f"optimizer={name}", f"suite.seeds={args.seeds}", f"tracking.uri={store}"],
            None,
            scored=False,
        )
        mine[name] = {r.workload.name: median_over_seeds(r.steps) for r in results}
        store_json.write_text(
            json.dumps({"seeds": args.seeds, "baselines": _table_digest(), "steps": mine})
        )
        write(mine, args.seeds)  # after each optimizer: a stopped run keeps those done
    write(mine, args.seeds)


def write(mine: dict[str, dict[str, float]], seeds: int) -> None:
    """Score each optimizer with the shipped baselines; print and save the scorecard."""
    from optbench.suite.baselines import score_rows, shipped_medians

    workloads = sorted(next(iter(mine.values())))
    baselines = {b: per for b, per in shipped_medians().items() if all(w in per for w in workloads)}
    out = Result("suite_scorecard")
    out.print(
        f"optbench suite, self-tuning (defaults), {seeds} seeds; baselines: the shipped "
        "table (tuned); scored on median steps to target, each optimizer with the baselines"
    )
    out.print(f"{'optimizer':<22}{'reached':>8}{'score':>8}{'vs nadamw':>11}")
    for name, steps in mine.items():  # optbench suite's own score table, the submission's row
        _, score, vs, reached = next(r for r in score_rows(steps, name, baselines) if r[0] == name)
        out.print(f"{name:<22}{reached:>8}{score:>8}{vs:>11}")
    out.print("")
    out.print("median steps to target per workload (- : not reached on most seeds)")
    rows = {**mine, **{f"{b} (baseline)": per for b, per in baselines.items()}}
    short = [w.replace("ill_conditioned_", "ill_").replace("_mlp", "") for w in workloads]
    out.print(f"{'':<22}" + "".join(f"{c[:12]:>13}" for c in short))
    for name, per in rows.items():
        cells = "".join(f"{'-' if math.isinf(per[w]) else f'{per[w]:,.0f}':>13}" for w in workloads)
        out.print(f"{name[:22]:<22}{cells}")
    out.save()


def _table_digest() -> str:
    from optbench.data.files import sha256
    from optbench.suite.baselines import table_path

    return sha256(table_path())[:16]


if __name__ == "__main__":
    main()
