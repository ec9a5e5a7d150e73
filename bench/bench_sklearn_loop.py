"""How much does optbench cost on top of bare scikit-learn? Prints two ratios:

(a) in-process: optbench's warm-start training loop (callbacks + batched MLflow writes to a
    real SQLite store) vs a bare loop doing the same iterations and the same per-iteration
    log-loss/accuracy evaluation on the same data (target <= 1.10x);
(b) whole command: `optbench` (the default run) vs a bare script that imports scikit-learn,
    loads the same data and fits the same model the same way (target <= 2.0x).

Usage: python bench/bench_sklearn_loop.py [--iters 300] [--repeats 15]
Writes bench/results/sklearn_loop.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from results import Result, spread

BARE_SCRIPT = """
import warnings, numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
x, y = load_digits(return_X_y=True)
x_pool, x_test, y_pool, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=0)
x_tr, x_val, y_tr, y_val = train_test_split(x_pool, y_pool, test_size=0.2, stratify=y_pool, random_state=0)
scaler = StandardScaler().fit(x_tr)
x_tr, x_val, x_test = (scaler.transform(a) for a in (x_tr, x_val, x_test))
def loss(m, a, b):
    p = m.predict_proba(a)[np.arange(len(b)), b]
    return -np.mean(np.log(np.clip(p, 1e-15, 1))), np.mean(m.predict(a) == b)
m = LogisticRegression(solver="saga", warm_start=True, max_iter=1, tol=0, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for _ in range({iters}):
        m.fit(x_tr, y_tr); loss(m, x_tr, y_tr); loss(m, x_val, y_val)
    one = LogisticRegression(solver="saga", max_iter={iters}, tol=0, random_state=0).fit(x_tr, y_tr)
print("test accuracy", loss(m, x_test, y_test)[1])
"""


def bare_loop(splits, iters: int) -> float:
    """The loop a notebook would write: fit one epoch, evaluate, repeat."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from optbench.trainers.sklearn import cross_entropy

    model = LogisticRegression(solver="saga", warm_start=True, max_iter=1, tol=0.0, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(iters):
            model.fit(splits.x_train, splits.y_train)
            cross_entropy(model, splits.x_train, splits.y_train)
            cross_entropy(model, splits.x_val, splits.y_val)
    return time.perf_counter() - start


def optbench_loop(splits, iters: int, store: str, tracking: str) -> float:
    """optbench's loop with its callbacks; ``tracking``: 'none', 'helper' (the default: writes
    queued to the MLflow helper process) or 'inprocess' (tracking.helper_process=false)."""
    from hydra import compose, initialize_config_module

    from optbench.callbacks import CallbackList, DivergenceGuard
    from optbench.runner import prepare, tracked_run
    from optbench.schema import register_configs

    register_configs()
    overrides = [
        f"trainer.max_iter={iters}",
        "trainer.early_stop.enabled=false",
        "trainer.oneshot_baseline=false",
        "trainer.progress=false",
        f"tracking.uri={store}",
        f"tracking.helper_process={tracking == 'helper'}",
    ]
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    plan = prepare(cfg)
    with tracked_run(cfg) as run:
        run.writer.drain()  # the helper has imported MLflow and created the run
        callbacks = [DivergenceGuard()]
        if tracking != "none":
            callbacks.append(run.metrics_logger(plan.log_every))
        start = time.perf_counter()
        plan.trainer.fit(splits, CallbackList(callbacks))
        return time.perf_counter() - start


def command_time(args: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    result = Result("sklearn_loop")

    from optbench.data import load_dataset
    from optbench.data.splits import scale
    from optbench.runner import prepare
    from optbench.schema import register_configs

    register_configs()
    from hydra import compose, initialize_config_module

    with initialize_config_module("optbench.conf", version_base="1.3"):
        settings = prepare(compose("config")).settings
    splits = scale(load_dataset(settings.dataset, 0), "standard")

    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{tmp}/bench.db"
        optbench_loop(splits, 2, store, "inprocess")  # create the store outside the timing
        variants = ("bare", "none", "helper", "inprocess")
        times: dict[str, list[float]] = {v: [] for v in variants}
        shuffle = random.Random(0)
        for _ in range(args.repeats):  # each repeat runs all four in a random order
            for variant in shuffle.sample(variants, len(variants)):
                if variant == "bare":
                    times[variant].append(bare_loop(splits, args.iters))
                else:
                    times[variant].append(optbench_loop(splits, args.iters, store, variant))
        # ratios within a repeat, then their median: slow spells of a shared machine hit both
        ratio = {v: [a / b for a, b in zip(times[v], times["bare"], strict=True)] for v in variants}
        result.print(
            f"(a) training loop, {args.iters} SAGA iterations on digits, {args.repeats} repeats: "
            "median time, median of the per-repeat ratios"
        )
        rows = [
            ("bare scikit-learn loop", "bare", ""),
            ("optbench loop, no tracking", "none", "target <= 1.10x"),
            ("optbench loop + MLflow (default)", "helper", "target <= 1.10x"),
            ("optbench loop + MLflow in-process", "inprocess", "tracking.helper_process=false"),
        ]
        for label, key, note in rows:
            result.print(
                f"    {label:34s} {statistics.median(times[key]):6.3f} s  {spread(ratio[key])}"
                f"  {note}"
            )
        overhead = [a / b for a, b in zip(times["helper"], times["none"], strict=True)]
        result.print(f"    tracking overhead (default / none) {spread(overhead)}  (target < 1.02x)")

        bare_cmd = [sys.executable, "-c", BARE_SCRIPT.replace("{iters}", str(args.iters))]
        ours_cmd = [
            sys.executable,
            "-m",
            "optbench",
            "trainer.progress=false",
            f"trainer.max_iter={args.iters}",
            "trainer.early_stop.enabled=false",
        ]
        command_time(ours_cmd, tmp)  # first run creates runs/mlflow.db; users pay that once
        commands = []
        for _ in range(max(3, args.repeats // 3)):
            commands.append((command_time(bare_cmd, tmp), command_time(ours_cmd, tmp)))
        bare_total = statistics.median(b for b, _ in commands)
        ours_total = statistics.median(o for _, o in commands)
        result.print(
            f"(b) whole command (start-up, data, {args.iters} iterations, test, logging), "
            f"{len(commands)} repeats"
        )
        result.print(f"    bare python script                 {bare_total:6.3f} s")
        result.print(
            f"    optbench (default run)             {ours_total:6.3f} s  "
            f"{spread([o / b for b, o in commands])}  (target <= 2.0x)"
        )
    result.save()


if __name__ == "__main__":
    main()
