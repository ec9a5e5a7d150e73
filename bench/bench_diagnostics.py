"""What training diagnostics cost (trainer.diagnostics): the reference MLP (Flatten ->
Dense(128, relu) -> Dropout(0.2) -> Dense(10, softmax), Adam, batch 32) on MNIST, each level
against ``off`` side by side in one process per backend, and each probe's own time.

- Epoch ratio: the median wall-clock time from one epoch's end to the next (epochs 2..E:
  training, probes and the epoch's evaluation; the trainer's own epoch_time_s leaves the
  probes out, as it does evaluation) with the level on, over the same with ``off``; each repeat runs every
  level once in a random order, the ratio is the median of per-repeat ratios (IQR). At the
  default interval (trainer.diagnostics_every=null: diagnostics.default_every, 400 steps at
  batch 32) the goal for ``basic`` is <= 1.05x.
- Probe time: the median time of one probe (``KerasProbe.measure``) per level, in ms and in
  training steps of the same run: what a user pays per probe at any interval. curvature's
  probe includes trainer.diagnostics_power_iters (20) Hessian-vector products and
  trainer.diagnostics_trace_probes (10).

No MLflow: the trainer runs with the callbacks the tests use. Each backend in a fresh process.

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/bench_diagnostics.py [--epochs 3]
       [--repeats 5] [--backend tensorflow,jax] [--subset 0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from results import Result, spread

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from optbench.diagnostics import default_every

LEVELS = ("off", "basic", "noise", "curvature")

WORKER = """
import json, random, statistics, sys, time
from optbench.callbacks import Callback, CallbackList, DivergenceGuard
from optbench.data import load_dataset
from optbench.data.splits import scale
from optbench.runner import prepare
from tests.conftest import compose_cfg

backend, epochs, repeats, subset, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], 0
levels = %(levels)r
common = ["model=mlp", "dataset=mnist", f"hardware.backend={backend}", "trainer.progress=false",
          f"trainer.max_iter={epochs}", "trainer.early_stop.enabled=false"]
if subset != "0":
    common.append(f"dataset.subset={subset}")
plan = prepare(compose_cfg(*common))
splits = scale(load_dataset(plan.settings.dataset, seed), plan.settings.model.input_scaling)
class EpochEnds(Callback):
    # wall-clock at each epoch's end: the trainer leaves probe time off epoch_time_s, so the
    # cost is measured from outside, between epoch ends (evaluation alike on both sides)
    def __init__(self):
        self.ends = []
    def on_epoch_end(self, step, logs):
        self.ends.append(time.perf_counter())

order = random.Random(1)
epoch_s = {level: [] for level in levels}
for repeat in range(repeats):
    for level in order.sample(levels, len(levels)):
        plan = prepare(compose_cfg(*common, f"trainer.diagnostics={level}"))
        ends = EpochEnds()
        result = plan.trainer.fit(splits, CallbackList([DivergenceGuard(), ends]))
        epoch_s[level].append(statistics.median(b - a for a, b in zip(ends.ends, ends.ends[1:])))
# one probe per level on a trained model, timed alone
from optbench.diagnostics.keras_probe import KerasProbe
import keras, math
plan = prepare(compose_cfg(*common, "trainer.diagnostics=curvature"))
model = plan.trainer.build(splits, {})
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
probe_ms = {}
for level in levels[1:]:
    cfg = compose_cfg(*common, f"trainer.diagnostics={level}")
    from optbench.schema import validate
    trainer = validate(cfg).trainer
    n = trainer.diagnostics_sample
    probe = KerasProbe(model, splits.x_train[:n], splits.y_train[:n], trainer)
    times = []
    for i in range(6):
        start = time.perf_counter()
        probe.measure(i, 0.001, curvature=level == "curvature")
        times.append(time.perf_counter() - start)
    probe_ms[level] = 1000 * statistics.median(times[1:])  # the first traces
steps = math.ceil(len(splits.y_train) / 32)
print(json.dumps({"epoch_s": epoch_s, "probe_ms": probe_ms, "steps_per_epoch": steps,
                  "n_train": len(splits.y_train)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backend", default="tensorflow,jax")
    parser.add_argument("--subset", default="0", help="training examples (0: all of MNIST)")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = Result("diagnostics_cost")
    out.print(
        f"reference MLP on MNIST ({'all' if args.subset == '0' else args.subset} training "
        f"examples), batch 32, Adam; {args.epochs} epochs, median epoch of 2..{args.epochs}; "
        f"{args.repeats} repeats, levels in random order; ratio to off: median of per-repeat "
        "ratios (IQR); default interval (diagnostics_every=null): every "
        f"{default_every(32, 512)} steps"
    )
    for backend in args.backend.split(","):
        done = subprocess.run(
            [sys.executable, "-c", WORKER % {"levels": LEVELS}, backend, str(args.epochs),
             str(args.repeats), args.subset],
            cwd=root, capture_output=True, text=True, check=False,
            env={**os.environ, "KERAS_BACKEND": backend},
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        data = json.loads(done.stdout.strip().splitlines()[-1])
        epoch_s, steps = data["epoch_s"], data["steps_per_epoch"]
        step_ms = 1000 * statistics.median(epoch_s["off"]) / steps
        out.print(f"  backend {backend}: {data['n_train']} examples, {steps} steps per epoch")
        for level in LEVELS:
            ratios = [a / b for a, b in zip(epoch_s[level], epoch_s["off"], strict=True)]
            probe = data["probe_ms"].get(level)
            per_probe = (
                f"   one probe {probe:7.1f} ms = {probe / step_ms:6.1f} steps" if probe else ""
            )
            out.print(
                f"    {level:<10} {statistics.median(epoch_s[level]):6.3f} s/epoch   "
                f"{spread(ratios)}{per_probe}"
            )
    out.print("  (goal: basic <= 1.05x at the default interval)")
    print(f"wrote {out.save()}")


if __name__ == "__main__":
    main()
