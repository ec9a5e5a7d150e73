"""Feature cache: head-training epoch time on cached backbone features vs the same head trained
through the frozen backbone (target >= 20x faster), the one-off cache build time, and backbone
inference throughput at batch 1 and 64 for each backbone, as ratios.

Real pieces: CIFAR-10's exact data_batch_4 slice (../shared/data/cifar10) resized on the fly,
keras.applications backbones, the optbench Keras trainer. Random-init weights unless the
ImageNet file is in Keras's cache (the timing does not depend on the weights' values).
Epoch times are medians over epochs 2..E (epoch 1 includes tracing).

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/bench_feature_cache.py
       [--model mobilenet_v2] [--size 96] [--subset 600] [--epochs 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from results import Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fit(*overrides: str):
    from optbench.callbacks import CallbackList
    from optbench.data import load_dataset
    from optbench.runner import prepare
    from tests.conftest import compose_cfg

    plan = prepare(compose_cfg("trainer.progress=false", *overrides))
    splits = load_dataset(plan.settings.dataset, plan.settings.seed)
    return plan.trainer.fit(splits, CallbackList([]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--subset", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    out = Result("feature_cache")
    os.environ.setdefault("OPTBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="optbench-bench-"))

    from optbench.models.backbones import BACKBONES, keras_models_dir

    def weights(model: str, size: int) -> str:
        cached = keras_models_dir() / BACKBONES[model].weights_file(size)
        return "imagenet" if cached.is_file() else "null"

    common = (
        "dataset=cifar10_sample",
        f"dataset.subset={args.subset}",
        "dataset.test_subset=200",
        "optimizer=adam",
        "trainer.batch_size=32",
        f"trainer.max_iter={args.epochs}",
        "trainer.early_stop.enabled=false",
        "dataset.target=null",
        "trainer.diverge_above=null",
    )
    model = (
        f"model={args.model}",
        f"model.input_size={args.size}",
        f"model.weights={weights(args.model, args.size)}",
    )

    def epoch_time(result) -> float:
        return statistics.median(h["epoch_time_s"] for h in result.history[1:])

    cached = fit(*common, *model, "model.cache_features=true")
    direct = fit(*common, *model, "model.cache_features=false")
    t_cached, t_direct = epoch_time(cached), epoch_time(direct)
    build = cached.final["cache_build_time_s"]
    out.print(f"{args.model} at {args.size} px, {args.subset} CIFAR-10 images, batch 32")
    out.print(f"  head epoch, through the frozen backbone: {t_direct * 1000:9.1f} ms")
    out.print(f"  head epoch, on cached features:          {t_cached * 1000:9.1f} ms")
    out.print(f"  ratio: cached is {t_direct / t_cached:.0f}x faster (target >= 20x)")
    out.print(
        f"  cache build (train+val+test, once): {build:.2f} s = {build / t_direct:.1f} uncached epochs"
    )
    again = fit(*common, *model, "model.cache_features=true", "optimizer=sgd")
    out.print(
        f"  second run (another optimizer): cache hit {again.final['cache_hit_fraction']:.0%}, "
        f"load {again.final['cache_load_time_s'] * 1000:.0f} ms"
    )

    out.print("backbone inference (full model: resize + preprocess + backbone + head)")
    rows = []
    for name, size in (("mobilenet_v2", 96), ("resnet50", 224), ("resnet50", 96)):
        result = fit(
            *common[:-3],
            "trainer.max_iter=1",
            f"model={name}",
            f"model.input_size={size}",
            f"model.weights={weights(name, size)}",
            "dataset.subset=100",
        )
        rows.append(
            (
                name,
                size,
                result.final["inference_ms_per_image_b1"],
                result.final["inference_ms_per_image_b64"],
            )
        )
    base = rows[0][3]
    for name, size, b1, b64 in rows:
        out.print(
            f"  {name:>12} {size:>3} px: {1000 / b1:7.1f} img/s at batch 1, {1000 / b64:7.1f} "
            f"img/s at batch 64 ({b64 / base:.1f}x MobileNetV2-96's time per image)"
        )

    out.save()


if __name__ == "__main__":
    main()
