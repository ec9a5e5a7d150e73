"""What a report shows beyond its numbers: one colour per optimizer in every figure, whole-number
ticks on step (epoch) axes, counts printed in full (101,770) and the one-seed verdict. The
report is built by build_report on an in-memory store (the MLflow client's calls it makes, on
hand-made runs), and the figures are the matplotlib Figure objects it drew."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from optbench.report import plots
from optbench.report.build import ReportOptions, build_report
from optbench.report.stats import ONE_SEED

PARAMS = 101770.0  # MLflow gives every metric back as a float, counts included


class Store:
    """The MLflow client calls build_report makes, on hand-made runs and histories."""

    def __init__(self) -> None:
        self.runs: list[SimpleNamespace] = []
        self.histories: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self.trajectories: dict[str, list[tuple[float, float]]] = {}

    def add(self, tags: dict[str, str], metrics: dict[str, float], **params: str) -> str:
        run_id = f"run{len(self.runs)}"
        info = SimpleNamespace(
            run_id=run_id,
            run_name=run_id,
            status="FINISHED",
            experiment_id="0",
            start_time=len(self.runs),  # in the order added
        )
        tags = {f"optbench.{k}": v for k, v in tags.items()}
        self.runs.append(
            SimpleNamespace(
                info=info, data=SimpleNamespace(tags=tags, metrics=metrics, params=params)
            )
        )
        return run_id

    def search_experiments(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(experiment_id="0", name="mnist_optimizers")]

    def get_metric_history(self, run_id: str, key: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(step=s, value=v) for s, v in self.histories.get((run_id, key), [])]

    def download_artifacts(self, run_id: str, path: str, dst: str) -> str:
        local = Path(dst) / run_id / path
        local.parent.mkdir(parents=True, exist_ok=True)
        rows = [f"{i},{x},{y}" for i, (x, y) in enumerate(self.trajectories[run_id])]
        local.write_text("\n".join(["step,x,y", *rows]) + "\n")
        return str(local)


def training_run(store: Store, model: str, optimizer: str, seed: int, final: float) -> None:
    """Three epochs (steps 1-3) of a Keras run on MNIST ending at val_accuracy ``final``."""
    tags = {
        "framework": "keras",
        "dataset": "mnist",
        "model": model,
        "optimizer": optimizer,
        "schedule": "constant",
        "seed": str(seed),
    }
    metrics = {"val_accuracy": final, "params_total": PARAMS, "fit_time_s": 12.5}
    run_id = store.add(tags, metrics)
    points = {
        "val_accuracy": [0.8, final - 0.01, final],
        "train_loss": [0.9, 0.3, 0.2 - final / 10],
        "elapsed_s": [4.0 + seed, 8.0 + seed, 12.0],
    }
    for key, values in points.items():
        store.histories[run_id, key] = list(zip([1, 2, 3], values, strict=True))


def landscape_run(store: Store, optimizer: str, lr: str) -> None:
    tags = {"dataset": "rosenbrock", "model": "landscape", "optimizer": optimizer, "seed": "0"}
    run_id = store.add(
        {**tags, "framework": "keras", "schedule": "constant"}, {}, **{"optimizer.lr": lr}
    )
    store.trajectories[run_id] = [(-1.5, 2.0), (-1.0, 1.5), (0.0, 0.5)]


@pytest.fixture
def report(tmp_path, monkeypatch):
    """A report on: mnist/cnn, sgd (started first), adam and rmsprop, 2 seeds each; mnist/mlp,
    sgd against rmsprop with one seed each (the issue's 0.935 against 0.973); rosenbrock
    landscape runs of adam (two lr) and sgd. Returns the report and the figures it drew, by
    the plots function that drew them."""
    store = Store()
    for seed in (0, 1):
        training_run(store, "cnn", "sgd", seed, 0.930 + seed / 200)
        training_run(store, "cnn", "adam", seed, 0.970 + seed / 200)
        training_run(store, "cnn", "rmsprop", seed, 0.960 + seed / 200)
    training_run(store, "mlp", "sgd", 0, 0.935)
    training_run(store, "mlp", "rmsprop", 0, 0.973)
    landscape_run(store, "adam", "0.01")
    landscape_run(store, "adam", "0.1")
    landscape_run(store, "sgd", "0.01")

    figures: dict[str, list] = defaultdict(list)

    def spy(name: str, draw):
        def drawn(*args, **kwargs):
            figure = draw(*args, **kwargs)
            figures[name].append((args, figure))
            return figure

        return drawn

    for name in ("grouped_curves", "performance_profile", "landscape"):
        monkeypatch.setattr(plots, name, spy(name, getattr(plots, name)))
    built = build_report(store, store.runs, tmp_path / "report", ReportOptions())
    return built, figures


def line_colours(figure, name=lambda label: label) -> dict[str, str]:
    """name(label) -> colour of each line that has a legend entry."""
    colours: dict[str, set[str]] = defaultdict(set)
    for ax in figure.axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):
                colours[name(line.get_label())].add(to_hex(line.get_color()))
    assert all(len(c) == 1 for c in colours.values()), colours  # one colour per name
    return {label: c.pop() for label, c in colours.items()}


def test_each_optimizer_has_one_colour_in_every_figure_of_a_report(report):
    built, figures = report
    (profile,) = [figure for _, figure in figures["performance_profile"]]
    in_profile = line_colours(profile)
    assert sorted(in_profile) == ["adam", "rmsprop", "sgd"]
    assert len(set(in_profile.values())) == 3  # and different optimizers differ
    # the curves list sgd first (it started first); the profile's columns are sorted
    curves = [figure for _, figure in figures["grouped_curves"]]
    assert len(curves) == 4  # train_loss vs step and val_accuracy vs time, on 2 problems
    for figure in curves:
        for label, colour in line_colours(figure, lambda s: s.split(" (")[0]).items():
            assert colour == in_profile[label], (figure.axes[0].get_title(), label)
    (landscape,) = [figure for _, figure in figures["landscape"]]
    overlay = line_colours(landscape, lambda s: s.split(" ")[0])
    assert overlay == {"adam": in_profile["adam"], "sgd": in_profile["sgd"]}
    adam = [line for line in landscape.axes[0].get_lines() if line.get_label().startswith("adam")]
    assert len({line.get_linestyle() for line in adam}) == 2  # two lr: one colour, two dashes
    assert (built.folder / "performance_profile.png").is_file()


def tick_labels(ax) -> list[str]:
    FigureCanvasAgg(ax.figure).draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def whole(labels: list[str]) -> bool:
    return len(labels) >= 2 and all(re.fullmatch(r"[\N{MINUS SIGN}-]?\d+", s) for s in labels)


def test_step_axes_have_whole_number_ticks(report):
    _, figures = report
    by_step = [fig for args, fig in figures["grouped_curves"] if args[3] == "step"]
    assert by_step
    for figure in by_step:  # three epochs: 1, 2, 3, never 1.25 or 2.5
        (ax,) = figure.axes
        assert whole(tick_labels(ax)), tick_labels(ax)
        assert all(float(t).is_integer() for t in ax.get_xticks())
    history = [{"step": s, "train_loss": 1.0 / s, "val_accuracy": 0.3 * s} for s in (1, 2, 3)]
    assert whole(tick_labels(plots.loss_curve(history, "one run").axes[0]))
    curve = {"step": [1, 2, 3], "train_loss": [0.9, 0.5, 0.4], "elapsed_s": [1.0, 2.0, 3.0]}
    by_step, by_time = plots.sweep_curves({"run": curve}, "train_loss").axes
    assert whole(tick_labels(by_step))
    assert not whole(tick_labels(by_time))  # seconds keep their fractions (1.00, 1.25, ...)


def test_counts_print_in_full_in_the_tables_and_the_page(report):
    built, _ = report
    summary_md = (built.folder / "summary.md").read_text()
    page = (built.folder / "index.html").read_text()
    for text in (summary_md, page):
        assert "101,770" in text and "1.018e+05" not in text
        assert "12.5" in text  # fit_time_s: a float, printed as before
    # the CSV stays machine-readable: the number itself
    assert pd.read_csv(built.folder / "summary.csv")["params_total"].tolist() == [PARAMS] * 5


def test_one_seed_verdict_in_the_report(report):
    built, _ = report
    summary = built.tables["summary"].set_index(["model", "label"])["vs_best"]
    assert summary[("mlp", "sgd")] == ONE_SEED == "1 seed: no noise estimate"
    assert summary[("mlp", "rmsprop")] == "best"
    assert summary[("cnn", "adam")] == "best"
    page = (built.folder / "index.html").read_text()
    assert f"<td>{ONE_SEED}</td>" in page
    assert ONE_SEED in (built.folder / "summary.md").read_text()
