"""Start-up of the `optbench` command, side by side with `python -c pass` in one run: --help
(read from conf/, optbench/help.py), Hydra's own help (what `optbench --help` was: reached now
with an override before --help), --version and --cfg job (a composition, no run), and a
whole Keras run on each installed backend (the MLP, one epoch on digits, into one SQLite
store made before the rounds): mostly start-up, so a backend's loading cost shows there.

Each command runs as a fresh process, the sides interleaved in random order per round;
medians and ranges over the rounds. The target (issue 24): --help <= 0.5 s.

    python bench/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import Result

OPTBENCH = str(Path(sys.executable).with_name("optbench"))
SIDES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "optbench --version": [OPTBENCH, "--version"],
    "optbench --help": [OPTBENCH, "--help"],
    "optbench seed=0 --help (Hydra's help)": [OPTBENCH, "seed=0", "--help"],
    "optbench --cfg job": [OPTBENCH, "--cfg", "job"],
}
STORE = Path(tempfile.mkdtemp(prefix="optbench-startup-")) / "mlflow.db"
RUN = ["model=mlp", "dataset=digits", "trainer.max_iter=1", "trainer.progress=false",
       f"tracking.uri=sqlite:///{STORE}"]  # fmt: skip
for backend in ("tensorflow", "jax", "torch"):
    if importlib.util.find_spec(backend) is not None:
        SIDES[f"a run on {backend} (mlp, 1 epoch)"] = [
            OPTBENCH, *RUN, f"hardware.backend={backend}"
        ]  # fmt: skip


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in SIDES}
    seconds([OPTBENCH, *RUN])  # the store's tables, once (MLflow's migrations: ~1 s)
    rng = random.Random(0)
    for _ in range(args.repeats):
        order = list(SIDES)
        rng.shuffle(order)
        for name in order:
            times[name].append(seconds(SIDES[name]))
    out = Result("startup")
    bare = statistics.median(times["python -c pass"])
    out.print(f"{args.repeats} rounds, each command a fresh process, sides in random order")
    out.print(f"{'command':42} {'median s':>9} {'min':>7} {'max':>7} {'x python':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        out.print(
            f"{name:42} {median:9.3f} {min(values):7.3f} {max(values):7.3f} {median / bare:9.1f}"
        )
    help_s = statistics.median(times["optbench --help"])
    hydra_s = statistics.median(times["optbench seed=0 --help (Hydra's help)"])
    out.print(
        f"--help: {help_s:.3f} s (target <= 0.5 s), {hydra_s / help_s:.1f}x faster than Hydra's"
    )
    out.save()


if __name__ == "__main__":
    main()
