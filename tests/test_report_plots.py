"""optbench/report/plots.py, figure by figure, on small hand-made data: what each draws (its
lines, labels, bands, colours, scales and titles, read from the matplotlib objects), how a
trajectory is cut at its first non-finite point, where a performance profile can step, and
the landscape animation's frames in the GIF it saves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from PIL import Image

from optbench.report import plots


def labelled(ax) -> dict[str, object]:
    """label -> line, for the lines that have a legend entry."""
    return {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }


def test_colours_for_is_stable_and_independent_of_order():
    assert plots.colours_for(["sgd", "adam", "sgd"]) == plots.colours_for(["adam", "sgd"])
    assert plots.colours_for(["sgd", "adam"]) == {"adam": plots.PALETTE[0], "sgd": plots.PALETTE[1]}
    many = plots.colours_for(f"opt{i:02d}" for i in range(len(plots.PALETTE)))
    assert len(set(many.values())) == len(plots.PALETTE)  # no repeat before the palette ends


def test_colours_repeat_from_the_start_once_the_palette_is_used_up():
    names = [f"opt{i:02d}" for i in range(len(plots.PALETTE) + 2)]
    colours = plots.colours_for(names)
    assert colours["opt20"] == plots.PALETTE[0] and colours["opt21"] == plots.PALETTE[1]
    assert plots.colours_for([]) == {}


def test_a_trajectory_is_cut_before_its_first_non_finite_or_huge_point():
    path = [[0.0, 0.0], [1.0, 1.0], [math.nan, 2.0], [3.0, 3.0]]
    assert plots._finite(path).tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert plots._finite([[0.0, 0.0], [2e6, 0.0], [0.0, 0.0]]).tolist() == [[0.0, 0.0]]
    assert plots._finite([[0.0, 0.0], [999_999.0, -math.inf]]).tolist() == [[0.0, 0.0]]
    assert plots._finite([[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_taus_hold_every_finite_cost_ratio_and_a_log_grid_a_little_beyond_the_largest():
    # ratios to the best per problem: A = 1, 2, inf; B = 2, 1, 1
    costs = pd.DataFrame({"A": [1.0, 4.0, math.inf], "B": [2.0, 2.0, 3.0]})
    taus = plots.taus_for(costs)
    assert taus[0] == 1.0 and taus[-1] == pytest.approx(2.4)  # 1.2 x the largest ratio
    assert 2.0 in taus and np.all(np.diff(taus) > 0)
    assert len(taus) == 61  # the 60-point grid, and the ratio 2 between its points
    # a problem nobody solved has no best: it adds no ratio, the grid ends at 2
    unsolved = plots.taus_for(pd.DataFrame({"A": [math.inf], "B": [math.inf]}))
    assert unsolved.tolist() == pytest.approx(np.geomspace(1.0, 2.0, 60).tolist())


def test_loss_curve_draws_losses_on_a_log_axis_and_accuracies_on_a_second_one():
    history = [
        {"step": 1, "train_loss": 1.0, "val_loss": 1.2, "val_accuracy": 0.5},
        {"step": 2, "train_loss": 0.5, "val_loss": 0.7, "val_accuracy": 0.8},
        {"step": 3, "train_loss": 0.25},  # val_* not logged at this step
    ]
    fig = plots.loss_curve(history, "mlp · adam")
    ax, accuracy_ax = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["train_loss", "val_loss"]
    assert lines["train_loss"].get_xdata().tolist() == [1, 2, 3]
    assert lines["val_loss"].get_ydata().tolist() == [1.2, 0.7]
    assert lines["val_loss"].get_linestyle() == "--"
    assert ax.get_yscale() == "log" and ax.get_title() == "mlp · adam"
    (accuracy,) = accuracy_ax.get_lines()
    assert accuracy.get_label() == "val_accuracy" and accuracy.get_ydata().tolist() == [0.5, 0.8]
    assert accuracy_ax.get_ylabel() == "accuracy"
    # without any accuracy there is no second axis
    assert len(plots.loss_curve([{"step": 1, "train_loss": 0.3}], "t").axes) == 1


def test_landscape_draws_each_trajectory_to_its_last_finite_point_one_dash_per_shared_colour():
    paths = {
        "adam lr=0.01": [[-1.5, 2.0], [-1.0, 1.5], [0.0, 0.5]],
        "adam lr=0.1": [[-1.5, 2.0], [1.0, 1.0]],
        "sgd lr=0.01": [[-1.5, 2.0], [-1.4, 1.0], [math.inf, 0.0], [0.0, 0.0]],
    }
    colours = {"adam lr=0.01": "#1f77b4", "adam lr=0.1": "#1f77b4", "sgd lr=0.01": "#ff7f0e"}
    fig = plots.landscape("rosenbrock", paths, "rosenbrock · 3 runs", colours)
    (ax,) = [a for a in fig.axes if a.get_title()]
    lines = labelled(ax)
    assert list(lines) == [
        "adam lr=0.01 (2 steps)",
        "adam lr=0.1 (1 steps)",
        "sgd lr=0.01 (3 steps)",
    ]
    slow, fast, sgd = lines.values()
    assert (slow.get_linestyle(), fast.get_linestyle(), sgd.get_linestyle()) == ("-", "--", "-")
    assert {to_hex(slow.get_color()), to_hex(fast.get_color())} == {"#1f77b4"}
    assert sgd.get_xdata().tolist() == [-1.5, -1.4]  # cut before the inf
    # the end of each path is an x in its colour; the minimum (1, 1) a star; one shared start
    ends = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in ends] == [
        (0.0, 0.5),
        (1.0, 1.0),
        (-1.4, 1.0),
    ]
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in stars] == [(1.0, 1.0)]
    assert len([ln for ln in ax.get_lines() if ln.get_marker() == "o"]) == 1
    assert (ax.get_xlim(), ax.get_ylim()) == ((-2.0, 2.0), (-1.0, 3.0))  # the function's window


def test_landscape_animation_saves_one_gif_frame_per_distinct_cut(tmp_path):
    paths = {"adam": [[-1.5, 2.0], [-1.0, 1.5], [-0.5, 1.0], [0.0, 0.5], [0.5, 0.5]]}
    animation = plots.landscape_animation("rosenbrock", paths, "t", frames=4, fps=10)
    gif = tmp_path / "walk.gif"
    animation.save(str(gif))
    # cuts: geomspace(1, 5, 4) = 1, 1.7, 2.9, 5 -> whole steps 1, 2, 5
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 3
        assert image.info["duration"] == 100  # 10 frames a second


def test_confusion_matrix_counts_pairs_and_titles_the_accuracy():
    fig = plots.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3, "cnn")
    ax = fig.axes[0]
    counts = np.asarray(ax.images[0].get_array())
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert ax.get_title() == "cnn · test accuracy 0.6000"
    assert sorted(t.get_text() for t in ax.texts) == ["1"] * 5  # no text in empty cells
    no_labels = np.array([], dtype=int)
    empty = plots.confusion_matrix(no_labels, no_labels, 2, "none")
    assert empty.axes[0].get_title() == "none · test accuracy 0.0000"


def test_misclassified_shows_up_to_25_images_titled_true_to_predicted():
    images = np.zeros((3, 4, 4))
    fig = plots.misclassified(images, [1, 2, 3], [7, 5, 8], "mlp")
    assert len(fig.axes) == 25
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["1 -> 7", "2 -> 5", "3 -> 8"] and set(titles[3:]) == {""}
    assert sum(bool(ax.images) for ax in fig.axes) == 3
    assert fig.get_suptitle() == "mlp · misclassified (true -> predicted)"


def test_misclassified_stretches_each_scaled_rgb_image_to_0_1():
    rgb = np.stack([np.full((2, 2, 3), -1.0), np.full((2, 2, 3), 2.0)])
    rgb[0, 0, 0] = [3.0, 1.0, -1.0]
    fig = plots.misclassified(rgb, [0, 1], [1, 0], "cifar")
    first = np.asarray(fig.axes[0].images[0].get_array())
    assert first[0, 0].tolist() == [1.0, 0.5, 0.0] and first.min() == 0.0
    flat = np.asarray(fig.axes[1].images[0].get_array())
    assert np.all(flat == 0.0)  # one value everywhere: no division by zero


def test_sweep_curves_draw_each_run_per_step_and_per_second_where_timed():
    curves = {
        "run-a": {"step": [1, 2, 3], "train_loss": [0.9, 0.5, 0.4], "elapsed_s": [0.5, 1.0, 1.5]},
        "run-b": {"step": [1, 2], "train_loss": [0.8, 0.6], "elapsed_s": [None, 2.0]},
    }
    by_step, by_time = plots.sweep_curves(curves, "train_loss").axes
    assert [ln.get_label() for ln in by_step.get_lines()] == ["run-a", "run-b"]
    a, b = by_time.get_lines()
    assert b.get_xdata().tolist() == [2.0] and b.get_ydata().tolist() == [0.6]  # None skipped
    assert a.get_color() == by_step.get_lines()[0].get_color()
    assert by_time.get_xlabel() == "training time (s)" and by_step.get_yscale() == "log"


def long_curves(rows: list[tuple[str, int, float, float | None]]) -> pd.DataFrame:
    """run_id, step, value, elapsed_s of key train_loss, in curves_frame's long form."""
    return pd.DataFrame(
        [(run, "train_loss", step, value, t) for run, step, value, t in rows],
        columns=["run_id", "key", "step", "value", "elapsed_s"],
    )


CURVES = long_curves(
    [("r1", 1, 1.0, 1.0), ("r1", 2, 0.5, 2.0), ("r2", 1, 3.0, 1.5), ("r2", 2, 0.7, None),
     ("r3", 1, 2.0, 0.5), ("r3", 2, 1.0, 1.0)]
)  # fmt: skip
LABELS = {"r1": "adam", "r2": "adam", "r3": "sgd", "r9": "lion"}  # lion logged nothing


def test_grouped_curves_per_step_draw_the_mean_over_seeds_and_their_min_max_band():
    colours = {"adam": "#123456", "sgd": "#abcdef", "lion": "#000000"}
    fig = plots.grouped_curves(CURVES, LABELS, "train_loss", "step", "t", True, colours)
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["adam (n=2)", "sgd (n=1)"]  # lion has no points: no line
    assert lines["adam (n=2)"].get_ydata().tolist() == [2.0, 0.6]
    assert to_hex(lines["sgd (n=1)"].get_color()) == "#abcdef"
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]  # one seed: no band
    assert to_hex(band.get_facecolor()[0]) == "#123456"
    ys = band.get_paths()[0].vertices[:, 1]
    assert min(ys) == 0.5 and max(ys) == 3.0  # from the lowest to the highest seed
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step (iteration / epoch)"


def test_grouped_curves_against_time_draw_each_timed_run_with_one_legend_entry_per_label():
    fig = plots.grouped_curves(CURVES, LABELS, "train_loss", "elapsed_s", "t", False)
    (ax,) = fig.axes
    assert [ln.get_xdata().tolist() for ln in ax.get_lines()] == [[1.0, 2.0], [1.5], [0.5, 1.0]]
    assert list(labelled(ax)) == ["adam", "sgd"]
    colours = plots.colours_for(LABELS.values())  # the default map when none is given
    assert to_hex(ax.get_lines()[2].get_color()) == colours["sgd"]
    assert ax.get_yscale() == "linear" and ax.get_xlabel() == "training time (s)"


def test_grouped_curves_keep_a_linear_axis_where_a_value_is_not_positive():
    with_zero = long_curves([("r1", 1, 1.0, 1.0), ("r1", 2, 0.0, 2.0)])
    fig = plots.grouped_curves(with_zero, {"r1": "adam"}, "train_loss", "step", "t", True)
    assert fig.axes[0].get_yscale() == "linear"


def test_performance_profile_steps_each_label_in_its_colour_on_a_log_tau_axis():
    rho = pd.DataFrame({"adam": [0.5, 1.0], "sgd": [0.0, 0.5]}, index=[1.0, 2.0])
    fig = plots.performance_profile(rho, "profile")
    (ax,) = fig.axes
    lines = labelled(ax)
    assert {k: to_hex(v.get_color()) for k, v in lines.items()} == plots.colours_for(
        ["adam", "sgd"]
    )
    assert lines["sgd"].get_drawstyle() == "steps-post"
    assert ax.get_xscale() == "log" and ax.get_ylim() == pytest.approx((-0.02, 1.02))
