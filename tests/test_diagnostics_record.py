"""optbench/diagnostics/record.py, a run's diagnostics as MLflow gets them: the gradient ratio
of the lowest to the top layer, one step's diag_* scalars from the ALL row of its last probe
(handed out once), the CSV table with its NaN, infinity and empty cells, and what ``finish``
returns: artifacts only when something was probed, the level, the flags this trainer's rules
raise as tags and notes, and what it cannot measure. The table read back and drawn:
tests/test_report_diagnostics.py."""

from __future__ import annotations

import math

import pytest

from optbench import tags as tag
from optbench.diagnostics.record import COLUMNS, Recorder, with_grad_ratio


def probe(step: int, low: float = 0.5, top: float = 2.0, **whole) -> list[dict]:
    """One probe: two layers with gradient norms and the ALL row."""
    return [
        {"step": step, "layer": "hidden_0", "grad_norm": low},
        {"step": step, "layer": "softmax", "grad_norm": top},
        {"step": step, "layer": "all", "grad_norm": math.hypot(low, top), **whole},
    ]


def test_the_gradient_ratio_is_the_lowest_layers_norm_over_the_top_ones():
    (_, _, whole) = with_grad_ratio(probe(0, low=0.5, top=2.0))
    assert whole["grad_ratio"] == 0.25


@pytest.mark.parametrize(
    "rows",
    [
        probe(0, top=0.0),  # no ratio over a zero top gradient
        [
            {"step": 0, "layer": "w", "grad_norm": 1.0},
            {"step": 0, "layer": "all", "grad_norm": 1.0},
        ],
        [{"step": 0, "layer": "a"}, {"step": 0, "layer": "b"}, {"step": 0, "layer": "all"}],
    ],
    ids=["zero top", "one layer", "no gradients"],
)
def test_there_is_no_gradient_ratio_without_two_layers_and_a_top_gradient(rows):
    assert "grad_ratio" not in with_grad_ratio(rows)[-1]


def test_a_steps_scalars_are_the_last_probes_whole_model_row_given_once():
    recorder = Recorder("basic")
    assert recorder.scalars() == {}
    recorder.add(probe(0, update_ratio=1e-3, loss=2.0))
    recorder.add(probe(5, low=1.0, update_ratio=2e-3, sharpness=None, lr=0.1))
    assert recorder.scalars() == {
        "diag_grad_norm": pytest.approx(math.hypot(1.0, 2.0)),
        "diag_update_ratio": 2e-3,
        "diag_grad_ratio": 0.5,
    }  # the loss, the lr and a quantity not measured (None) are no diag_ scalars
    assert recorder.scalars() == {}  # logged once


def test_the_table_has_every_column_in_order_and_spells_out_nan_and_infinity():
    recorder = Recorder("basic")
    recorder.add(
        [
            {"step": 3, "layer": "w", "grad_norm": math.inf, "weight_norm": -math.inf},
            {"step": 3, "layer": "all", "loss": math.nan, "lr": 0.1, "dead_relu": None, "extra": 1},
        ]
    )
    header, first, second = recorder.table().splitlines()
    assert header.split(",") == list(COLUMNS)
    cells = dict(zip(COLUMNS, first.split(","), strict=True))
    assert (cells["step"], cells["layer"], cells["grad_norm"], cells["weight_norm"]) == (
        "3", "w", "inf", "-inf"
    )  # fmt: skip
    assert cells["loss"] == cells["update_norm"] == ""
    cells = dict(zip(COLUMNS, second.split(","), strict=True))
    assert (cells["loss"], cells["lr"], cells["dead_relu"]) == ("nan", "0.1", "")


def test_finish_without_probes_returns_the_level_and_no_artifacts():
    artifacts, tags, notes = Recorder("noise", cannot="no gradients").finish("a title")
    assert artifacts == [] and notes == []
    assert tags == {
        tag.DIAGNOSTICS: "noise",
        tag.DIAG_FLAGS: "",
        tag.DIAG_UNAVAILABLE: "no gradients",
    }


def test_finish_returns_the_table_the_heat_map_and_the_flags_raised():
    recorder = Recorder("basic")
    for step in range(3):  # the lowest layer at 1e-3 of the top one's, three probes in a row
        recorder.add(probe(step, low=1e-3, top=1.0, loss=1.0))
    recorder.add(probe(3, low=1e-3, top=1.0, loss=math.nan))
    artifacts, tags, notes = recorder.finish("mlp · sgd · digits")
    csv, png = artifacts
    assert (csv.path, csv.text) == ("diagnostics/diagnostics.csv", recorder.table())
    assert png.path == "diagnostics/diagnostics.png"
    assert png.draw == "optbench.report.diagnostics:heatmap"
    assert png.args == (recorder.rows, "mlp · sgd · digits")
    assert tags[tag.DIAG_FLAGS] == "vanishing,diverging"
    assert tags[tag.DIAG_FLAG_PREFIX + "vanishing"].startswith("step 2: lowest layer's gradient")
    assert tags[tag.DIAG_FLAG_PREFIX + "diverging"].startswith("step 3: a non-finite value")
    assert notes[0].startswith("diagnostics flagged vanishing at step 2 (")
    assert tag.DIAG_UNAVAILABLE not in tags


def test_a_trainer_keeps_only_the_flags_whose_rules_fit_its_steps():
    recorder = Recorder("basic", flags=("diverging",))
    for step in range(3):
        recorder.add(probe(step, low=1e-3, top=1.0))
    assert recorder.flags() == []
    assert recorder.finish("t")[1][tag.DIAG_FLAGS] == ""
