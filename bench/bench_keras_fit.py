"""optbench's Keras run vs the reference notebook's bare ``model.fit`` on the same data,
epochs, batch size, ``steps_per_execution`` (each value given, on both sides: Keras's own
per-step overhead dominates this small model) and compilation (optbench's hardware.xla=null:
XLA on JAX, none on TensorFlow; bare Keras's "auto" would use XLA on both). Prints wall time per epoch and the ratio
(target <= 1.05x), and writes bench/results/keras_fit.md.
Per epoch means marginal: (wall of 2E epochs - wall of E epochs) / E, so one-off costs
(model build, final test pass, figures) do not count, on either side.

Both sides train the reference MLP (Flatten -> Dense(128, relu) -> Dropout(0.2) ->
Dense(10, softmax)) with Adam, batch 32, on the same MNIST training/validation arrays, with a
validation pass every epoch. optbench's side is the real thing: tf.data pipeline, its train
step (gradient norm), per-epoch metrics through its callbacks and one MLflow log_batch per
epoch into a real SQLite store. Each side runs in a fresh process (TensorFlow state).

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/bench_keras_fit.py [--epochs 3]
       [--subset 20000] [--repeats 2] [--steps-per-execution 1,32] [--backend tensorflow]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from results import Result

COMMON = """
import json, sys, time
from optbench.data import load_dataset
from optbench.data.splits import scale
from tests.conftest import compose_cfg
from optbench.schema import validate
args = json.loads(sys.argv[1])
overrides = ["model=mlp", "optimizer=adam", "dataset=mnist", "dataset.val_fraction=0.2",
             f"dataset.subset={args['subset']}", f"trainer.max_iter={args['epochs']}",
             "trainer.batch_size=32", "trainer.early_stop.enabled=false", "trainer.progress=false",
             f"tracking.uri=sqlite:///{args['tmp']}/mlflow.db", "dataset.target=null",
             f"trainer.steps_per_execution={args['spe']}", f"hardware.backend={args['backend']}"]
cfg = compose_cfg(*overrides)
settings = validate(cfg)
"""

BARE = (
    COMMON
    + """
import keras
splits = scale(load_dataset(settings.dataset, 0), "unit")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((784,)), keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=args["spe"], jit_compile=args["backend"] == "jax")
start = time.perf_counter()
model.fit(splits.x_train, splits.y_train, epochs=args["epochs"], batch_size=32,
          validation_data=(splits.x_val, splits.y_val), verbose=0)
print(json.dumps({"wall": time.perf_counter() - start}))
"""
)

OPTBENCH = (
    COMMON
    + """
from optbench.runner import execute, prepare, tracked_run
plan = prepare(cfg)
with tracked_run(cfg) as run:
    start = time.perf_counter()
    result = execute(cfg, plan, run)
    wall = time.perf_counter() - start - result.final["data_load_time_s"]
print(json.dumps({"wall": wall, "acc": result.final["test_accuracy"]}))
"""
)


def measure(script: str, args: dict) -> float:
    env = {**os.environ, "KERAS_BACKEND": args["backend"]}  # the bare side's backend
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["wall"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps-per-execution", default="1,32")
    parser.add_argument("--backend", default="tensorflow")
    opts = parser.parse_args()
    result = Result(f"keras_fit_{opts.backend}")
    result.print(
        f"MNIST subset {opts.subset}, {opts.epochs} vs {2 * opts.epochs} epochs, batch 32, "
        f"backend {opts.backend}; per-epoch wall time, median of {opts.repeats}:"
    )
    base = None
    for spe in (int(v) for v in opts.steps_per_execution.split(",")):
        bare, ours = [], []
        for _ in range(opts.repeats):
            for script, out in ((BARE, bare), (OPTBENCH, ours)):
                walls = []
                for epochs in (opts.epochs, 2 * opts.epochs):
                    with tempfile.TemporaryDirectory() as tmp:
                        args = {"epochs": epochs, "subset": opts.subset, "tmp": tmp, "spe": spe,
                                "backend": opts.backend}  # fmt: skip
                        walls.append(measure(script, args))
                out.append((walls[1] - walls[0]) / opts.epochs)
        b, o = statistics.median(bare), statistics.median(ours)
        base = base or b
        result.print(f"  steps_per_execution={spe}")
        result.print(
            f"    bare model.fit          {b:7.3f} s/epoch  ({base / b:.2f}x faster than the first)"
        )
        result.print(
            f"    optbench (tracking on)  {o:7.3f} s/epoch  ratio {o / b:.3f}x  (target <= 1.05x)"
        )
    result.save()


if __name__ == "__main__":
    main()
