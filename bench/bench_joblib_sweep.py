"""An 8-job scikit-learn sweep: Hydra's joblib launcher (2 workers) vs the basic (sequential)
launcher, whole command wall time, printed as a ratio (issue target: >= 1.7x on 2 cores).

Each job trains scikit-learn's MLP on digits for --epochs epochs with MLflow tracking into a
fresh SQLite store; both sides run the same 8 jobs (2 optimizers x 4 seeds).

Usage: python bench/bench_joblib_sweep.py [--epochs 1500] [--repeats 1]

Measured here (2 cores): at 1500 epochs (~12 s jobs) basic 104.0 s, joblib 60.8 s, 1.71x; at
400 epochs (~3.5 s jobs) 32.4 s vs 23.8 s, 1.36x; at 60 epochs (~1 s jobs) 0.96x. The serial
part is the same on both sides (start-up, the parent run, the end-of-sweep report) and each
worker first spends seconds importing the stack, which short jobs cannot amortise.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from results import Result


def sweep(epochs: int, parallel: bool) -> float:
    args = [
        sys.executable,
        "-m",
        "optbench",
        "-m",
        "model=mlp_sklearn",
        "optimizer=adam,sgd",
        "seed=0,1,2,3",
        f"trainer.max_iter={epochs}",
        "trainer.early_stop.enabled=false",
        "trainer.progress=false",
    ]
    if parallel:
        args += ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(args, cwd=tmp, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=1)
    opts = parser.parse_args()
    result = Result("joblib_sweep")
    basic, joblib = [], []
    for _ in range(opts.repeats):
        basic.append(sweep(opts.epochs, parallel=False))
        joblib.append(sweep(opts.epochs, parallel=True))
    b, j = statistics.median(basic), statistics.median(joblib)
    result.print(
        f"8 jobs, mlp_sklearn on digits, {opts.epochs} epochs each, median of {opts.repeats}:"
    )
    result.print(f"  basic launcher      {b:7.2f} s")
    result.print(f"  joblib, 2 workers   {j:7.2f} s   speed-up {b / j:.2f}x  (target >= 1.7x)")
    result.save()


if __name__ == "__main__":
    main()
