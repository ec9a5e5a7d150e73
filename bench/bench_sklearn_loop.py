"""How much does optbench cost on top of bare scikit-learn? Prints two ratios:

(a) in-process: optbench's warm-start training loop (callbacks + batched MLflow writes to a
    real SQLite store) vs a bare loop doing the same iterations and the same per-iteration
    log-loss/accuracy evaluation on the same data (target <= 1.10x);
(b) whole command: `optbench` (the default run) vs a bare script that imports scikit-learn,
    loads the same data and fits the same model the same way (target <= 1.5x), the two
    commands alternating in a random order within each repeat.

Each repeat of (a) is a fresh process that runs every side in a few interleaved rounds. The
in-process writer comes last in it: in a process that has loaded MLflow, optbench writes from
the job's own process instead of starting its helper (optbench.tracking.run), so a side run
after it would time the in-process writer and never the default.

Usage: python bench/bench_sklearn_loop.py [--iters 300] [--repeats 9] [--rounds 3]
                                         [--part a|b|both] [--command-repeats 7]
Writes bench/results/sklearn_loop.md (--part b alone: bench/results/whole_command.md).
"""

from __future__ import annotations

import argparse
import collections
import json
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


class Timed:
    """A callback's own time: what tracking costs inside the loop."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def on_train_begin(self, state) -> None:
        self.inner.on_train_begin(state)

    def on_epoch_end(self, step: int, logs: dict[str, float]) -> None:
        start = time.perf_counter()
        self.inner.on_epoch_end(step, logs)
        self.seconds += time.perf_counter() - start

    def on_train_end(self, logs: dict[str, float]) -> None:
        start = time.perf_counter()
        self.inner.on_train_end(logs)
        self.seconds += time.perf_counter() - start


def optbench_loop(
    splits, iters: int, store: str, tracking: str
) -> tuple[float, float, float, float]:
    """optbench's loop with its callbacks; ``tracking``: 'none' (the run is opened by the helper
    but no metric is logged), 'helper' (the default: writes queued to the MLflow helper process)
    or 'inprocess' (tracking.helper_process=false). The time runs until every metric is stored:
    with the helper, until it has written the last one. Returns (that time, the time spent in
    the metrics logger during the loop, the helper's CPU time meanwhile, the wait for the
    helper after the loop)."""
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
        f"tracking.helper_process={tracking != 'inprocess'}",
    ]
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    plan = prepare(cfg)
    with tracked_run(cfg) as run:
        run.writer.drain()  # the helper has imported MLflow and created the run
        callbacks = [DivergenceGuard()]
        logger = Timed(run.metrics_logger(plan.log_every))
        if tracking != "none":
            callbacks.append(logger)
        helper = getattr(run.writer, "_process", None)
        helper_cpu = helper_cpu_clock(helper.pid) if helper else None
        cpu_before = time.clock_gettime(helper_cpu) if helper else 0.0
        start = time.perf_counter()
        plan.trainer.fit(splits, CallbackList(callbacks))
        fitted = time.perf_counter()
        run.writer.drain()
        end = time.perf_counter()
        helper_s = time.clock_gettime(helper_cpu) - cpu_before if helper else 0.0
        return end - start, logger.seconds, helper_s, end - fitted


def helper_cpu_clock(pid: int) -> int:
    """Linux's CPU-time clock of another process (as glibc's clock_getcpuclockid makes it):
    the helper's CPU time to the nanosecond, where /proc counts 10 ms ticks."""
    return ((~pid) << 3) | 2


def command_time(args: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


VARIANTS = ("bare", "none", "helper", "inprocess")
PARTS = ("logger", "helper_cpu", "drain")  # where the default's tracking time goes


def default_splits():
    """The default run's data (digits), split and scaled as optbench does."""
    from hydra import compose, initialize_config_module

    from optbench.data import load_dataset
    from optbench.data.splits import scale
    from optbench.runner import prepare
    from optbench.schema import register_configs

    register_configs()
    with initialize_config_module("optbench.conf", version_base="1.3"):
        settings = prepare(compose("config")).settings
    return scale(load_dataset(settings.dataset, 0), "standard")


def one_process(iters: int, store: str, rounds: int, order: random.Random) -> dict[str, float]:
    """One repeat, in this fresh process: ``rounds`` rounds of the bare loop and optbench's
    loop without and with tracking, in a random order within each round, then the in-process
    writer (it loads MLflow here, after which optbench would no longer start its helper).
    Returns each side's median time, and for the default where its tracking time went."""
    splits = default_splits()
    times: dict[str, list[float]] = {v: [] for v in (*VARIANTS, *PARTS)}
    for _ in range(rounds):
        for variant in order.sample(VARIANTS[:3], 3):
            if variant == "bare":
                times[variant].append(bare_loop(splits, iters))
                continue
            seconds, *parts = optbench_loop(splits, iters, store, variant)
            times[variant].append(seconds)
            if variant == "helper":
                for part, value in zip(PARTS, parts, strict=True):
                    times[part].append(value)
    times["inprocess"] = [
        optbench_loop(splits, iters, store, "inprocess")[0] for _ in range(rounds)
    ]
    return {v: statistics.median(t) for v, t in times.items()}


def process_times(iters: int, store: str, rounds: int, seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--process", str(seed), f"--iters={iters}",
         f"--store={store}", f"--rounds={rounds}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per process (median)")
    parser.add_argument("--process", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=("a", "b", "both"), default="both")
    parser.add_argument("--command-repeats", type=int, default=7, help="repeats of (b)")
    args = parser.parse_args()
    if args.process is not None:
        order = random.Random(args.process)
        print(json.dumps(one_process(args.iters, args.store, args.rounds, order)))
        return
    result = Result("whole_command" if args.part == "b" else "sklearn_loop")
    with tempfile.TemporaryDirectory() as tmp:
        if args.part != "b":
            loop_part(args, tmp, result)
        if args.part != "a":
            command_part(args, tmp, result)
    result.save()


def loop_part(args: argparse.Namespace, tmp: str, result: Result) -> None:
    """(a): the training loop in-process, each repeat a fresh process."""
    store = f"sqlite:///{tmp}/bench.db"
    process_times(2, store, 1, 0)  # create the store outside the timing
    times: dict[str, list[float]] = collections.defaultdict(list)
    for repeat in range(args.repeats):
        for variant, seconds in process_times(args.iters, store, args.rounds, repeat).items():
            times[variant].append(seconds)
    # ratios within a repeat, then their median: slow spells of a shared machine hit both
    ratio = {v: [a / b for a, b in zip(times[v], times["bare"], strict=True)] for v in VARIANTS}
    result.print(
        f"(a) training loop, {args.iters} SAGA iterations on digits, {args.repeats} repeats "
        f"(a fresh process each, {args.rounds} rounds of every side in it): median time, "
        "median of the per-repeat ratios"
    )
    rows = [
        ("bare scikit-learn loop", "bare", ""),
        ("optbench loop, no tracking", "none", "target <= 1.10x"),
        ("optbench loop + MLflow (default)", "helper", "target <= 1.10x"),
        ("optbench loop + MLflow in-process", "inprocess", "tracking.helper_process=false"),
    ]
    for label, key, note in rows:
        result.print(
            f"    {label:34s} {statistics.median(times[key]):6.3f} s  {spread(ratio[key])}  {note}"
        )
    overhead = [a / b for a, b in zip(times["helper"], times["none"], strict=True)]
    result.print(f"    tracking overhead (default / none) {spread(overhead)}  (target < 1.02x)")
    # the same overhead by accounting rather than by difference: the job's own time in the
    # metrics logger, plus the helper's CPU time from the loop's start to its last write as
    # if every millisecond of it had been taken from the loop, or the job's wait for the
    # helper after the loop where that was longer (an upper bound: the helper runs only on
    # a core the loop leaves idle, or after the loop)
    logger, helper, drain = (statistics.median(times[part]) for part in PARTS)
    parts = zip(times["logger"], times["helper_cpu"], times["drain"], times["none"], strict=True)
    accounted = [(log + max(cpu, wait)) / none for log, cpu, wait, none in parts]
    result.print(
        f"    where it goes: {1000 * logger:.1f} ms in the metrics logger during the loop, "
        f"{1000 * helper:.1f} ms of the helper's CPU; the job waited {1000 * drain:.1f} ms "
        "for the helper after the loop"
    )
    result.print(
        f"    accounted overhead (that / none)   {1 + statistics.median(accounted):5.3f}x"
        "  (an upper bound; target < 1.02x)"
    )


def command_part(args: argparse.Namespace, tmp: str, result: Result) -> None:
    """(b): the whole default command against the bare script, alternating in random order."""
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
    command_time(bare_cmd, tmp)  # both sides' files in the page cache
    commands, order = [], random.Random(0)
    for _ in range(args.command_repeats):
        sides = {"bare": bare_cmd, "ours": ours_cmd}
        times = {k: command_time(sides[k], tmp) for k in order.sample(list(sides), 2)}
        commands.append((times["bare"], times["ours"]))
    bare_total = statistics.median(b for b, _ in commands)
    ours_total = statistics.median(o for _, o in commands)
    result.print(
        f"(b) whole command (start-up, data, {args.iters} iterations, test, logging), "
        f"{len(commands)} repeats"
    )
    result.print(f"    bare python script                 {bare_total:6.3f} s")
    result.print(
        f"    optbench (default run)             {ours_total:6.3f} s  "
        f"{spread([o / b for b, o in commands])}  (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
