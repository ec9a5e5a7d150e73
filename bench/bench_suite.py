"""The workload suite's cost: the default `optbench suite` for one optimizer (3 seeds, every
scored workload), the whole command and each workload's runs (MLflow start to end, the
slowest of its seeds), against the targets of at most ~30 s a run and 10 minutes for the
suite on 2 CPU cores.

Real pieces: the CLI in a child process, every shipped workload (the real data under
$OPTBENCH_DATA_DIR), a fresh SQLite store. Runs stop at their target, as the suite's do, so a
workload's time is the optimizer's time to target plus its fixed costs (loading, compiling,
tracking); a workload not reached runs its whole budget. A fresh folder has no feature cache:
the first MobileNetV2 run builds it (shown apart; later runs load it), as a new user's would.

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/bench_suite.py [--optimizer adam] [--seeds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import Result

WORKLOAD_TARGET_S = 30.0
SUITE_TARGET_S = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--seeds", type=int, default=3, help="the suite's default: 3")
    args = parser.parse_args()
    out = Result("suite")
    folder = Path(tempfile.mkdtemp(prefix="optbench-bench-suite-"))
    store = f"sqlite:///{folder / 'mlflow.db'}"
    command = [sys.executable, "-m", "optbench", "suite", f"optimizer={args.optimizer}",
               f"suite.seeds={args.seeds}", f"tracking.uri={store}"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=dict(os.environ), capture_output=True, text=True)
    total = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"optbench suite failed ({done.returncode}):\n{done.stderr[-3000:]}")

    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "suite"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    out.print(f"optbench suite optimizer={args.optimizer} suite.seeds={args.seeds}, every "
              "scored workload")  # fmt: skip
    out.print(
        f"{'workload':<28}{'slowest run s':>14}{'reached':>9}{'one-off cache s':>17}"
        f"   (target <= {WORKLOAD_TARGET_S:.0f} s a run)"
    )
    over = []
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from optbench.suite.workloads import scored

    ordered = sorted(children, key=lambda r: r.info.start_time)  # by name, then seed
    for i, workload in enumerate(scored()):
        runs = ordered[i * args.seeds : (i + 1) * args.seeds]
        caches = [r.data.metrics.get("cache_build_time_s", 0.0) for r in runs]  # once a machine
        seconds = [
            (r.info.end_time - r.info.start_time) / 1000 - c
            for r, c in zip(runs, caches, strict=True)
        ]
        reached = sum("steps_to_target" in r.data.metrics for r in runs)
        out.print(f"{workload:<28}{max(seconds):>14.1f}{f'{reached}/{len(runs)}':>9}"
                  f"{sum(caches):>17.1f}")  # fmt: skip
        if max(seconds) > WORKLOAD_TARGET_S:
            over.append(workload)
    out.print(f"{'whole command':<28}{total:>8.1f}   (target <= {SUITE_TARGET_S:.0f} s)")
    out.print(
        f"workloads over {WORKLOAD_TARGET_S:.0f} s (without the one-off cache): "
        f"{', '.join(over) if over else 'none'}; "
        f"suite {'within' if total <= SUITE_TARGET_S else 'over'} {SUITE_TARGET_S / 60:.0f} min"
    )
    out.save()


if __name__ == "__main__":
    main()
