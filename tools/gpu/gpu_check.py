"""The GPU check: optbench against bare Keras, both on the JAX backend, in one run.

For the lent GPU machine (one H200; Python 3.12, JAX, no TensorFlow, no network). Measures:

1. the MNIST reference MLP (Flatten -> Dense(128, relu) -> Dropout(0.2) -> Dense(10, softmax),
   Adam, 5 epochs) at batch 32 and 256: steady epoch time of optbench's run (the real runner:
   optbench.runner.run, MLflow SQLite store) over bare ``model.fit`` on the same
   splits (goal <= 1.05x), and test accuracy. Steady epoch = median of the wall time from one
   epoch's end to the next, epochs 2..E (epoch 1 compiles), each side's own clock (optbench:
   the timestamps of its per-epoch metrics in the store); median over repeats, sides
   alternating. Both sides validate every epoch (optbench its way, bare Keras's).
2. ``hardware.xla`` on the MLP (batch 256, part of MNIST): null and true jit the step on JAX
   (same time, tag true), false runs it eagerly (slower, tag false).
3. ``hardware=mixed`` on the MLP: compute dtype, loss scaling, epoch time and accuracy.
4. MobileNetV2 @160 and ResNet50 @224 feature extraction through optbench's cache build
   (TransferTrainer: image hashes, cache lookup, the extractor in 256-image batches, shard
   write), float32 and ``hardware=mixed``, against bare ``model.predict`` (batch 256) of the
   same keras.applications backbone (resize + preprocess_input + backbone + pooling) on the
   same arrays: images per second of the extraction inside the cache build (optbench's own
   backbone_images_per_s; goal >= 0.9x) and of the whole build (shown), and mixed over float32
   (goal >= 1.8x on ResNet50). The first build (which compiles) is timed apart; each timed
   build starts from an empty cache. Images are random uint8 32x32x3 pixels (12,288, through
   optbench's CIFAR-10 .npz loader) and the weights random: throughput depends on neither.

Prints the table and writes it to bench/results/gpu_check.md (bench/results.py), a copy and
the raw numbers (gpu_check.json) to --out, with the MLflow store of its runs.

Needs the carried wheels (tools/gpu/gpu_wheels.sh; docs/gpu.md). The device command, from the repo
root, with carry=["wheels"]:

  set -o pipefail; bash tools/gpu/gpu_wheels.sh --install && PYTHONUNBUFFERED=1 python3 tools/gpu/gpu_check.py --out $OUT 2>&1 | tee $OUT/gpu_check.log

MNIST comes from $OPTBENCH_DATA_DIR, shared/data, wheels/data or ../shared/data, first found.
``--quick``: a CPU dry run in a few minutes (tiny data, 32-48 px images, the GPU options with
hardware.fallback=cpu and mixed_bfloat16); its numbers mean nothing, it only proves the path.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "bench")]
os.environ["KERAS_BACKEND"] = "jax"  # before anything imports Keras (optbench checks it)
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import results  # noqa: E402  (bench/results.py)

from optbench import paths  # noqa: E402  (leaf modules: no Keras, no MLflow)
from optbench.data.mnist import IDX_SHA256, _find  # noqa: E402

# Measured on the H200 with Keras 3.15.1 on JAX 0.11.2, bare Keras, one run (the issue's).
ANCHORS = {
    "mlp_b32_s": 1.87,
    "mlp_b32_acc": 0.9753,
    "mlp_b256_s": 0.30,
    ("resnet50", "float32"): 5860,
    ("resnet50", "mixed"): 13162,
    ("mobilenet_v2", "float32"): 12198,
    ("mobilenet_v2", "mixed"): 24804,
}
TORCH_RESNET50 = (9378, 15547)  # PyTorch eager on the same machine, float32 / mixed
GOAL_MLP, GOAL_EXTRACT, GOAL_MIXED = 1.05, 0.9, 1.8
APPS = {"mobilenet_v2": ("MobileNetV2", "mobilenet_v2"), "resnet50": ("ResNet50", "resnet50")}
PACKAGES = ("keras", "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "numpy",
            "hydra-core", "omegaconf", "mlflow-skinny", "mlflow", "sqlalchemy")  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="folder for copies of the results (the device's $OUT)")
    p.add_argument("--quick", action="store_true", help="tiny CPU dry run")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--epochs", type=int, help="MLP epochs (5; quick 3)")
    p.add_argument("--repeats", type=int, help="MLP runs per side (2; quick 1)")
    p.add_argument("--extract-repeats", type=int, help="timed passes per side (3; quick 2)")
    p.add_argument("--batches", default="32,256", help="MLP batch sizes")
    p.add_argument("--backbones", help="name:size,... (resnet50:224,mobilenet_v2:160)")
    p.add_argument("--mixed-precision", help="hardware.precision for hardware=mixed "
                   "(its own mixed_float16; quick mixed_bfloat16)")  # fmt: skip
    p.add_argument("--helper", choices=("auto", "on", "off"), default="auto",
                   help="MLflow helper process (auto: on where matplotlib imports)")  # fmt: skip
    p.add_argument("--time-limit-s", type=float, default=480.0,
                   help="start no new section or backbone after this many seconds")  # fmt: skip
    p.add_argument("--sections", default="mlp,xla,mixed,extraction",
                   help="which to run, after the warm-up (mlp,xla,mixed,extraction)")  # fmt: skip
    a = p.parse_args()
    q = a.quick
    a.epochs = a.epochs or (3 if q else 5)
    a.repeats = a.repeats or (1 if q else 2)
    a.extract_repeats = a.extract_repeats or (1 if q else 3)
    a.backbones = a.backbones or ("resnet50:32,mobilenet_v2:48" if q else
                                  "resnet50:224,mobilenet_v2:160")  # fmt: skip
    a.mixed_precision = a.mixed_precision or ("mixed_bfloat16" if q else None)
    # MLP data (MNIST subset: None is all 60,000, 54,000 of them for training); the xla runs
    # use a part; the extraction images: (train file, test file, val fraction): on the GPU
    # every part is a whole number of 256-image batches (one compiled shape); the quick run's
    # parts are smaller than a batch (64 / 16 / 16: two shapes)
    a.mlp_subset = 2000 if q else None
    a.xla_subset = 2000 if q else 20000
    a.images = (80, 16, 0.2) if q else (10240, 2048, 0.2)
    return a


# -- small helpers ---------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def steady(ends: list[float]) -> float:
    """Median time from one epoch's end to the next, epochs 2..E."""
    return median([b - a for a, b in itertools.pairwise(ends)])


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}" if len(values) > 1 else ""


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def find_data_dir() -> Path | None:
    """A folder with mnist/*.gz: $OPTBENCH_DATA_DIR, shared/data (carried), wheels/data
    (tools/gpu/gpu_wheels.sh), ../shared/data (a developer's checkout)."""
    env = os.environ.get("OPTBENCH_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates += [
        REPO / "shared" / "data",
        REPO / "wheels" / "data",
        REPO.parent / "shared" / "data",
    ]
    for folder in candidates:
        if all(_find([folder], name) for name in IDX_SHA256):  # as optbench's loader looks
            return folder.resolve()
    return None


@contextlib.contextmanager
def cache_dir(path: Path):
    """optbench's cache folder (parsed arrays, features) for the block."""
    before = os.environ.get(paths.CACHE_ENV)
    os.environ[paths.CACHE_ENV] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop(paths.CACHE_ENV, None)
        else:
            os.environ[paths.CACHE_ENV] = before


class Check:
    """Shared state: options, the composed-config helper, the result lines, raw numbers."""

    def __init__(self, args: argparse.Namespace, tmp: Path):
        self.args, self.tmp = args, tmp
        self.result = results.Result("gpu_check_quick" if args.quick else "gpu_check")
        self.raw: dict = {"sections": {}, "goals": []}
        self.goals: list[tuple[str, str, str]] = []  # (what, measured, verdict)
        self.failed: list[str] = []
        self.start = time.monotonic()
        self.store = f"sqlite:///{tmp / 'mlflow.db'}"
        helper = args.helper
        if helper == "auto":  # optbench's helper warms up matplotlib, absent on the GPU machine
            helper = "on" if importlib.util.find_spec("matplotlib") else "off"
        self.helper = helper == "on"

    def print(self, line: str = "") -> None:
        self.result.print(line)

    def compose(self, *overrides: str):
        from hydra import compose, initialize_config_module

        with initialize_config_module("optbench.conf", version_base="1.3"):
            return compose("config", overrides=list(overrides))

    def common(self) -> list[str]:
        return [
            f"seed={self.args.seed}",
            "hardware.backend=jax",
            f"tracking.uri={self.store}",
            "tracking.artifacts=false",
            f"tracking.helper_process={str(self.helper).lower()}",
            "trainer.progress=false",
        ]

    def hardware(self, mixed: bool) -> list[str]:
        out = ["hardware=mixed" if mixed else "hardware=gpu"]
        if self.args.quick:
            out.append("hardware.fallback=cpu")
        if mixed and self.args.mixed_precision:
            out.append(f"hardware.precision={self.args.mixed_precision}")
        return out

    def goal(self, what: str, measured: str, ok: bool | None) -> None:
        self.goals.append((what, measured, verdict(ok)))
        self.raw["goals"].append({"what": what, "measured": measured, "verdict": verdict(ok)})

    def out_of_time(self, name: str) -> bool:
        elapsed = time.monotonic() - self.start
        if elapsed <= self.args.time_limit_s:
            return False
        self.print(f"[{name}: skipped, {elapsed:.0f} s past the start > --time-limit-s]")
        self.failed.append(f"{name} (skipped)")
        return True

    def section(self, name: str, run) -> None:
        if self.out_of_time(name):
            return
        t0 = time.monotonic()
        try:
            run(self)
        except Exception as exc:
            traceback.print_exc()
            self.print(f"[{name}: FAILED: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}]")
            self.failed.append(name)
        self.raw["sections"].setdefault(name, {})["wall_s"] = time.monotonic() - t0
        self.print(f"  ({name}: {time.monotonic() - t0:.0f} s)")
        self.print()


# -- the MLP: optbench's runner and bare model.fit ---------------------------------------------


def mlp_overrides(
    check: Check, batch: int, epochs: int, subset: int | None, mixed: bool = False
) -> list[str]:
    return [
        "model=mlp",
        "optimizer=adam",
        "dataset=mnist",
        *([f"dataset.subset={subset}"] if subset else []),
        f"trainer.batch_size={batch}",
        f"trainer.max_iter={epochs}",
        "trainer.early_stop.enabled=false",
        *check.hardware(mixed),
        *check.common(),
    ]


def epoch_ends(uri: str, run_id: str) -> list[float]:
    """When each epoch's metrics were recorded (the job's clock at the epoch's end), read from
    the SQLite store without importing MLflow here (that would turn the helper off)."""
    with contextlib.closing(sqlite3.connect(uri.removeprefix("sqlite:///"))) as db:
        rows = db.execute(
            "SELECT step, timestamp FROM metrics WHERE run_uuid = ? AND key = 'train_loss' "
            "ORDER BY step",
            (run_id,),
        ).fetchall()
    return [t / 1000 for _, t in rows]


def optbench_mlp(
    check: Check, batch: int, epochs: int, subset: int | None, *extra: str, mixed: bool = False
) -> dict:
    """One optbench run in this process (optbench.runner.run, as the suite makes them)."""
    from optbench.callbacks import Callback, RunContext
    from optbench.runner import run as run_job

    class KeepRun(Callback):
        def on_run_begin(self, ctx: RunContext) -> None:
            self.run = ctx.run

    cfg = check.compose(*mlp_overrides(check, batch, epochs, subset, mixed), *extra)
    kept = KeepRun()
    result = run_job(cfg, [kept])
    run = kept.run
    return {
        "epoch_s": steady(epoch_ends(run.uri, run.run_id)),
        "acc": result.final["test_accuracy"],
        "tags": {k: v for k, v in result.tags.items() if k.startswith("optbench.")},
        "notes": result.notes,
        "run_id": run.run_id,
    }


def mnist_splits(check: Check, subset: int | None):
    from optbench.data import load_dataset
    from optbench.schema import validate

    settings = validate(check.compose(*mlp_overrides(check, 32, 1, subset)))
    return load_dataset(settings.dataset, settings.seed).scaled(settings.model.input_scaling)


def bare_mlp(splits, batch: int, epochs: int, seed: int) -> dict:
    """The reference notebook's model and fit, on the same splits."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((splits.x_train.shape[1],)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ends: list[float] = []
    mark = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: ends.append(time.perf_counter())
    )
    model.fit(
        splits.x_train,
        splits.y_train,
        batch_size=batch,
        epochs=epochs,
        validation_data=(splits.x_val, splits.y_val),
        callbacks=[mark],
        verbose=0,
    )
    proba = model.predict(splits.x_test, batch_size=4096, verbose=0)
    return {"epoch_s": steady(ends), "acc": float(np.mean(proba.argmax(1) == splits.y_test))}


def warm_up(check: Check) -> None:
    """One epoch each way on a little data: the GPU's libraries, the store's tables."""
    splits = mnist_splits(check, 1000)
    bare_mlp(splits, 256, 2, check.args.seed)
    optbench_mlp(check, 256, 2, 1000)


def section_mlp(check: Check) -> None:
    a = check.args
    splits = mnist_splits(check, a.mlp_subset)
    n_train, n_val, n_test = len(splits.y_train), len(splits.y_val), len(splits.y_test)
    check.print(
        f"1. MNIST reference MLP, Adam, seed {a.seed}, {a.epochs} epochs, {n_train:,} train / "
        f"{n_val:,} val / {n_test:,} test"
    )
    check.print(
        f"   steady epoch: median of epoch-end to epoch-end wall time over epochs 2..{a.epochs}; "
        f"median of {a.repeats} run(s) per side"
    )
    check.print(
        "   batch  bare model.fit  optbench   ratio   goal <=1.05x   test acc bare / optbench"
        "   anchor (bare)"
    )
    raw = check.raw["sections"].setdefault("mlp", {})
    for batch in (int(b) for b in a.batches.split(",")):
        bare, ours = [], []
        for r in range(a.repeats):
            order = ("bare", "optbench") if r % 2 == 0 else ("optbench", "bare")
            for side in order:
                if side == "bare":
                    bare.append(bare_mlp(splits, batch, a.epochs, a.seed))
                else:
                    ours.append(optbench_mlp(check, batch, a.epochs, a.mlp_subset))
        b = median([x["epoch_s"] for x in bare])
        o = median([x["epoch_s"] for x in ours])
        ratio = o / b
        anchor = ""
        if batch == 32:
            anchor = f"{ANCHORS['mlp_b32_s']:.2f} s, acc {ANCHORS['mlp_b32_acc']:.4f}"
        elif batch == 256:
            anchor = f"{ANCHORS['mlp_b256_s']:.2f} s"
        check.print(
            f"   {batch:5d}  {b:10.3f} s  {o:8.3f} s  {ratio:6.3f}x  {verdict(ratio <= GOAL_MLP):>12}"
            f"   {median([x['acc'] for x in bare]):.4f} / {median([x['acc'] for x in ours]):.4f}"
            f"   {anchor}"
        )
        if a.repeats > 1:
            check.print(
                f"          runs: bare {spread([x['epoch_s'] for x in bare])} s, "
                f"optbench {spread([x['epoch_s'] for x in ours])} s"
            )
        check.goal(f"MLP batch {batch}: optbench / bare epoch", f"{ratio:.3f}x", ratio <= GOAL_MLP)
        raw[f"batch_{batch}"] = {"bare": bare, "optbench": ours, "ratio": ratio}
    check.raw["mlp_b256_optbench"] = raw.get("batch_256", {}).get("optbench")
    check.print(
        f"   tracking: MLflow SQLite store, helper process {'on' if check.helper else 'off'}, "
        "artifacts off"
    )


def section_xla(check: Check) -> None:
    a = check.args
    epochs = 3 if a.quick else 4
    check.print(
        f"2. hardware.xla on the MLP (optbench, batch 256, MNIST subset {a.xla_subset:,}, "
        f"{epochs} epochs; steady epoch = epoch 2..{epochs})"
    )
    check.print("   hardware.xla  tag optbench.xla  s/epoch   vs null   expected")
    runs = {}
    for setting in ("null", "true", "false"):
        runs[setting] = optbench_mlp(check, 256, epochs, a.xla_subset, f"hardware.xla={setting}")
    base = runs["null"]["epoch_s"]
    expect = {"null": ("true", "jax.jit"), "true": ("true", "same as null"),
              "false": ("false", "eager: slower")}  # fmt: skip
    for setting, r in runs.items():
        check.print(
            f"   {setting:12}  {r['tags'].get('optbench.xla', '?'):>15}  {r['epoch_s']:7.3f}  "
            f"{r['epoch_s'] / base:6.2f}x   {expect[setting][1]}"
        )
    tags_ok = all(runs[s]["tags"].get("optbench.xla") == expect[s][0] for s in runs)
    # null and true compile the same step: their times differ by noise only (shown, not judged)
    false_slower = runs["false"]["epoch_s"] > 1.5 * runs["true"]["epoch_s"]
    check.goal(
        "hardware.xla: tags (null, true: jit; false: eager), false slower",
        f"true {runs['true']['epoch_s'] / base:.2f}x, false {runs['false']['epoch_s'] / base:.1f}x "
        "of null",
        tags_ok and false_slower,
    )
    check.raw["sections"].setdefault("xla", {})["runs"] = runs


def section_mixed_mlp(check: Check) -> None:
    a = check.args
    check.print(
        f"3. hardware=mixed on the MLP (optbench, batch 256, {a.epochs} epochs) against float32"
    )
    f32 = check.raw.get("mlp_b256_optbench")
    f32 = median([x["epoch_s"] for x in f32]) if f32 else None
    r = optbench_mlp(check, 256, a.epochs, a.mlp_subset, mixed=True)
    tags = r["tags"]
    check.print(
        f"   precision {tags.get('optbench.precision')}, compute dtype "
        f"{tags.get('optbench.compute_dtype')}, loss scaling {tags.get('optbench.loss_scaling')},"
        f" devices {tags.get('optbench.devices')}"
        + (" (fallback: cpu)" if tags.get("optbench.hardware_fallback") else "")
    )
    vs = f" ({r['epoch_s'] / f32:.2f}x float32's {f32:.3f} s)" if f32 else ""
    check.print(f"   steady epoch {r['epoch_s']:.3f} s{vs}, test accuracy {r['acc']:.4f}")
    precision = tags.get("optbench.precision", "")
    want_dtype = "bfloat16" if "bfloat16" in precision else "float16"
    want_scaling = "false" if "bfloat16" in precision else "true"
    ok = tags.get("optbench.compute_dtype") == want_dtype
    ok = ok and tags.get("optbench.loss_scaling") == want_scaling and r["acc"] > 0.8
    check.goal(
        "hardware=mixed on the MLP: dtype, loss scaling, accuracy",
        f"{tags.get('optbench.compute_dtype')}, scaling {tags.get('optbench.loss_scaling')}, "
        f"acc {r['acc']:.4f}",
        ok,
    )
    check.raw["sections"].setdefault("mixed_mlp", {})["run"] = r


# -- feature extraction: optbench's cache build and bare model.predict ------------------------


def image_files(check: Check) -> tuple[Path, Path]:
    """Random 32x32x3 uint8 images with labels, as the .npz files optbench's CIFAR-10 loader
    reads (dataset.train_npz / test_npz)."""
    n_train, n_test, _ = check.args.images
    rng = np.random.default_rng(check.args.seed)
    paths = []
    for name, n in (("train", n_train), ("test", n_test)):
        path = check.tmp / f"images_{name}.npz"
        if not path.exists():
            x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
            np.savez(path, x=x, y=np.arange(n) % 10)
        paths.append(path)
    return paths[0], paths[1]


def bare_extractor(name: str, size: int, seed: int, precision: str):
    """The same computation written with Keras alone: resize, the backbone's own
    preprocess_input, keras.applications backbone (random weights), global average pooling."""
    import keras

    constructor, module = APPS[name]
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Resizing(size, size)(inputs) if size != 32 else inputs
    x = getattr(keras.applications, module).preprocess_input(x)
    base = getattr(keras.applications, constructor)(
        include_top=False, weights=None, input_shape=(size, size, 3), pooling="avg"
    )
    return keras.Model(inputs, base(x))


def extraction(check: Check, name: str, size: int, mixed: bool) -> dict:
    from optbench.data import load_dataset
    from optbench.data.splits import Splits
    from optbench.hardware import reset
    from optbench.runner import prepare

    train, test = image_files(check)
    cfg = check.compose(
        f"model={name}",
        f"model.input_size={size}",
        "model.weights=null",
        "dataset=cifar10",
        f"dataset.train_npz={train}",
        f"dataset.test_npz={test}",
        f"dataset.val_fraction={check.args.images[2]}",
        *check.hardware(mixed),
        *check.common(),
    )
    plan = prepare(cfg)  # configures JAX and the precision policy, as a run does
    trainer, settings = plan.trainer, plan.settings
    splits = load_dataset(settings.dataset, settings.seed).scaled(settings.model.input_scaling)
    assert isinstance(splits, Splits)
    x_all = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    n = len(x_all)
    precision = settings.hardware.precision

    def ours() -> tuple[float, float]:
        with cache_dir(Path(tempfile.mkdtemp(dir=check.tmp))) as folder:
            t0 = time.perf_counter()
            trainer._cached_features(splits)  # the cache build, on the compiled extractor
            wall = time.perf_counter() - t0
        shutil.rmtree(folder)
        hits = trainer.cache_info["cache_hit_fraction"]
        assert hits == 0, f"expected an empty cache, found {hits:.0%}"
        return n / wall, trainer.cache_info["backbone_images_per_s"]

    with cache_dir(Path(tempfile.mkdtemp(dir=check.tmp))) as folder:
        t0 = time.perf_counter()
        features = trainer.model_inputs(splits)  # the first build: builds and compiles
        first_ours = time.perf_counter() - t0
    shutil.rmtree(folder)
    dims = features.x_train.shape[1]
    model = bare_extractor(name, size, settings.seed, precision)
    t0 = time.perf_counter()
    model.predict(x_all, batch_size=256, verbose=0)
    first_bare = time.perf_counter() - t0
    bare, ours_wall, ours_predict = [], [], []
    for r in range(check.args.extract_repeats):
        for side in ("bare", "ours") if r % 2 == 0 else ("ours", "bare"):
            if side == "bare":
                t0 = time.perf_counter()
                out = model.predict(x_all, batch_size=256, verbose=0)
                bare.append(n / (time.perf_counter() - t0))
                assert out.shape == (n, dims), out.shape
            else:
                wall, predict_only = ours()
                ours_wall.append(wall)
                ours_predict.append(predict_only)
    tags = {
        "devices": trainer.hardware.tags.get("optbench.devices"),
        "precision": precision,
        "features_dtype": str(features.x_train.dtype),
        "extractor_dtype": trainer.extractor.compute_dtype,
    }
    reset()  # float32 again for what comes next (the caller collects the models)
    return {
        "images": n,
        "features": dims,
        "bare": bare,
        "optbench": ours_wall,
        "optbench_predict_only": ours_predict,
        "first_build_s": first_ours,
        "first_bare_predict_s": first_bare,
        **tags,
    }


def section_extraction(check: Check) -> None:
    a = check.args
    n_train, n_test, val = a.images
    check.print(
        f"4. Feature extraction, images/s: {n_train + n_test:,} random 32x32 uint8 images "
        f"(train {1 - val:.0%} / val {val:.0%} of {n_train:,}, test {n_test:,}), batch 256, "
        f"random weights; median of {a.extract_repeats} passes per side, alternating"
    )
    check.print(
        "   extract = optbench's extraction inside its cache build (its backbone_images_per_s);"
        " build = the whole cache build"
    )
    check.print(
        "   (hash, look up, extract, write the shard) from an empty cache; first = the first "
        "build / bare predict, compiling"
    )
    check.print(
        "   backbone      px  precision        bare  extract   ratio  >=0.9x    build   ratio"
        "      first (s)   anchor"
    )
    raw = check.raw["sections"].setdefault("extraction", {})
    for spec in a.backbones.split(","):
        name, size = spec.split(":")
        size = int(size)
        per = {}
        for mixed in (False, True):
            key = "mixed" if mixed else "float32"
            if check.out_of_time(f"extraction {name} {key}"):
                continue
            try:
                r = extraction(check, name, size, mixed)
            except Exception as exc:
                traceback.print_exc()
                check.print(
                    f"   {name:12} {size:4d}  {key}: FAILED: {type(exc).__name__}: {exc}"[:300]
                )
                check.failed.append(f"extraction {name} {key}")
                continue
            gc.collect()
            per[key] = r
            b, w = median(r["bare"]), median(r["optbench"])
            e = median(r["optbench_predict_only"])
            ratio = e / b
            anchor = f"{ANCHORS[(name, key)]:,}" + (" bf16" if mixed else "")
            check.print(
                f"   {name:12} {size:4d}  {r['precision']:15} {b:6,.0f}  {e:7,.0f}  {ratio:6.3f}x"
                f"  {verdict(ratio >= GOAL_EXTRACT):>6}  {w:7,.0f}  {w / b:6.3f}x"
                f"  {r['first_build_s']:5.1f} / {r['first_bare_predict_s']:4.1f}  {anchor}"
            )
            check.goal(
                f"{name} @{size} {key}: optbench extraction / bare predict",
                f"{ratio:.3f}x (whole cache build {w / b:.3f}x)",
                ratio >= GOAL_EXTRACT,
            )
        if len(per) == 2:

            def gain(side: str, per: dict = per) -> float:
                return median(per["mixed"][side]) / median(per["float32"][side])

            o, w, b = gain("optbench_predict_only"), gain("optbench"), gain("bare")
            goal = o >= GOAL_MIXED if name == "resnet50" else None
            anchor = ANCHORS[(name, "mixed")] / ANCHORS[(name, "float32")]
            check.print(
                f"   {name}: mixed / float32 = {o:.2f}x optbench extraction ({w:.2f}x build), "
                f"{b:.2f}x bare (anchor {anchor:.2f}x, bf16)"
                + (f"  goal >= {GOAL_MIXED}x: {verdict(goal)}" if goal is not None else "")
            )
            check.goal(f"{name}: mixed / float32 img/s (optbench extraction)", f"{o:.2f}x", goal)
            dtypes = (per["mixed"]["extractor_dtype"], per["float32"]["extractor_dtype"])
            check.print(
                f"   {name}: extractor compute dtype {dtypes[0]} (mixed), {dtypes[1]} (float32)"
            )
        raw[name] = per
    check.print(
        f"   PyTorch eager on the same machine (issue): ResNet50 {TORCH_RESNET50[0]:,} / "
        f"{TORCH_RESNET50[1]:,} img/s"
    )


# -- the run -------------------------------------------------------------------------------------


def describe(check: Check, data_dir: Path) -> None:
    import jax

    devices = jax.devices()
    device = f"{devices[0].device_kind} ({devices[0].platform})" if devices else "none"
    a = check.args
    title = "gpu_check" + (" --quick (CPU dry run: the numbers mean nothing)" if a.quick else "")
    check.print(f"{title}: optbench vs bare Keras, both on the JAX backend, one process")
    check.print(f"device: {device}, {len(devices)} device(s)")
    check.print(
        "versions: "
        + ", ".join(f"{n} {v}" for n in PACKAGES if (v := version(n)) is not None)
        + f"; tensorflow {'present' if importlib.util.find_spec('tensorflow') else 'absent'}"
        + f", matplotlib {'present' if importlib.util.find_spec('matplotlib') else 'absent'}"
    )
    check.print(f"MNIST from {data_dir}; seed {a.seed}")
    check.print()
    check.raw["device"] = device
    check.raw["versions"] = {n: version(n) for n in PACKAGES}


def main() -> int:
    args = parse_args()
    out = Path(args.out) if args.out else None
    if args.quick and out is None:
        out = Path(tempfile.gettempdir()) / "gpu_check_quick"
    if out:
        out.mkdir(parents=True, exist_ok=True)
    data_dir = find_data_dir()
    if data_dir is None:
        print("gpu_check: no MNIST (mnist/*.gz) in $OPTBENCH_DATA_DIR, shared/data, "
              "wheels/data or ../shared/data; see docs/gpu.md", file=sys.stderr)  # fmt: skip
        return 2
    os.environ["OPTBENCH_DATA_DIR"] = str(data_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    os.chdir(REPO)  # the MLflow helper is `python -m optbench.tracking.helper`
    tmp = Path(tempfile.mkdtemp(prefix="optbench-gpu-check-"))
    check = Check(args, tmp)
    from optbench.schema import register_configs

    register_configs()
    with cache_dir(tmp / "cache"):
        describe(check, data_dir)
        if not args.quick and not any(d.platform == "gpu" for d in __import__("jax").devices()):
            check.print("no GPU visible to JAX: stopping (--quick runs on the CPU)")
            return 3
        wanted = set(args.sections.split(","))
        check.section("warm-up", warm_up)
        for key, name, run in (
            ("mlp", "MLP", section_mlp),
            ("xla", "hardware.xla", section_xla),
            ("mixed", "hardware=mixed MLP", section_mixed_mlp),
            ("extraction", "feature extraction", section_extraction),
        ):
            if key in wanted:
                check.section(name, run)
        check.print("Goals")
        for what, measured, ok in check.goals:
            check.print(f"   {ok:5} {what}: {measured}")
        if check.failed:
            check.print(f"   not measured: {', '.join(check.failed)}")
        check.print(f"total {time.monotonic() - check.start:.0f} s")
    if args.quick:
        results.RESULTS = out  # a dry run's numbers stay out of bench/results/
    path = check.result.save()
    if out:
        if path.parent != out:
            shutil.copy(path, out / path.name)
        (out / f"{path.stem}.json").write_text(json.dumps(check.raw, indent=1, default=str))
        db = tmp / "mlflow.db"
        if db.exists():
            shutil.copy(db, out / f"{path.stem}_mlflow.db")
    shutil.rmtree(tmp, ignore_errors=True)
    missed = any(v == "FAIL" for _, _, v in check.goals) and not args.quick
    return 1 if check.failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
