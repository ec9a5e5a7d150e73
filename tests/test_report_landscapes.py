"""optbench/report/landscapes.py on a real MLflow store of hand-made landscape runs: which runs
are drawn, how their trajectories are labelled (the optimizer, its lr, and whatever else
differs between its runs), the steps-to-tolerance table cell by cell, and the files
write_landscapes leaves."""

from __future__ import annotations

import csv

import pytest
from PIL import Image

from optbench import tags as tag
from optbench.report.landscapes import (
    landscape_children,
    tolerance_table,
    trajectories,
    write_landscapes,
)
from tests.conftest import client
from tests.stored_runs import add_run, experiment

PATH = [(-1.5, 2.0), (-1.0, 1.5), (0.5, 0.25)]


class Landscapes:
    """Landscape runs in one experiment of a real store, each with its trajectory.csv."""

    def __init__(self, store: str):
        self.mlflow = client(store)
        self.exp = experiment(self.mlflow, "landscapes")
        self.started = 0

    def add(self, function: str, optimizer: str, path=PATH, status="FINISHED", model="landscape",
            final=None, tags=None, **params: str) -> str:  # fmt: skip
        self.started += 1
        choices = {"model": model, "dataset": function, "optimizer": optimizer}
        run = add_run(self.mlflow, self.exp, start=self.started, choices=choices,
                      final=final, tags=tags, params=params, status=status)  # fmt: skip
        rows = [f"{i},{x},{y}" for i, (x, y) in enumerate(path)]
        self.mlflow.log_text(run, "\n".join(["step,x,y", *rows]) + "\n", "trajectory.csv")
        return run

    def runs(self) -> list:
        return sorted(self.mlflow.search_runs([self.exp]), key=lambda r: r.info.start_time)


@pytest.fixture
def landscapes(store) -> Landscapes:
    return Landscapes(store)


def test_only_finished_landscape_runs_on_a_2d_function_are_drawn(landscapes):
    landscapes.add("rosenbrock", "adam")
    landscapes.add("rosenbrock", "sgd", status="FAILED")
    landscapes.add("digits", "adam", model="mlp")
    landscapes.add("quadratic_deep", "adam")  # a landscape dataset, not a 2-D function
    landscapes.add("beale", "sgd")
    kept = landscape_children(landscapes.runs())
    assert [r.data.tags[tag.DATASET] for r in kept] == ["rosenbrock", "beale"]


def test_trajectories_are_labelled_by_optimizer_lr_and_whatever_else_varies(landscapes):
    add = landscapes.add
    add("rosenbrock", "adam", **{"optimizer.lr": "0.01", "seed": "0", "trainer.max_iter": "10"})
    add(
        "rosenbrock",
        "adam",
        PATH[:2],
        **{"optimizer.lr": "0.1", "seed": "0", "trainer.max_iter": "20"},
    )
    add("rosenbrock", "sgd", **{"optimizer.lr": "0.01", "seed": "0"})
    add("rosenbrock", "sgd", **{"optimizer.lr": "0.01", "seed": "1"})
    add("beale", "adam", **{"optimizer.lr": "0.05", "seed": "0"})
    paths = trajectories(landscapes.mlflow, landscape_children(landscapes.runs()))
    assert list(paths) == ["beale", "rosenbrock"]  # by function name
    assert paths["beale"] == {"adam lr=0.05": [[-1.5, 2.0], [-1.0, 1.5], [0.5, 0.25]]}
    # the lr always; the seed, which sgd's runs differ by, on every label of the function;
    # trainer.* never (not a setting of the walk), though adam's max_iter differs
    assert list(paths["rosenbrock"]) == [
        "adam lr=0.01 seed=0",
        "adam lr=0.1 seed=0",
        "sgd lr=0.01 seed=0",
        "sgd lr=0.01 seed=1",
    ]
    assert paths["rosenbrock"]["adam lr=0.1 seed=0"] == [[-1.5, 2.0], [-1.0, 1.5]]


def test_the_tolerance_table_has_a_cell_per_function_and_optimizer(landscapes):
    add = landscapes.add
    add("rosenbrock", "adam", final={"steps_to_tolerance": 40.0, "distance_to_min": 1e-4})
    add("rosenbrock", "adam", final={"steps_to_tolerance": 12.0, "distance_to_min": 1e-4})
    add("rosenbrock", "adam", final={"distance_to_min": 0.5})  # not reached
    add("rosenbrock", "sgd", tags={tag.DIVERGED: "true"}, final={"distance_to_min": 1e9})
    add("beale", "lion", final={"steps_to_tolerance": 7.0, "distance_to_min": 1e-4})
    add("saddle", "adam", final={"final_loss": -4.0})  # no minimum to be near
    add("saddle", "sgd", tags={tag.DIVERGED: "true"})
    add("saddle", "sgd", tags={tag.DIVERGED: "true"})
    header, rows = tolerance_table(landscape_children(landscapes.runs()))
    assert header == ["function", "adam", "sgd", "lion"]  # optimizers as first met
    assert rows == [
        ["beale", "-", "-", "7"],
        ["rosenbrock", "12-40 (2/3)", "diverged", "-"],  # several seeds: min-max (reached/n)
        ["saddle", "no minimum", "diverged", "-"],  # two seeds, neither reached: the first
    ]
    assert tolerance_table([]) == (["function"], [])


def test_write_landscapes_draws_one_overlay_per_function_and_writes_the_table(landscapes, tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    assert write_landscapes(landscapes.mlflow, landscapes.runs(), folder) is None  # none yet
    landscapes.add("rosenbrock", "adam", final={"steps_to_tolerance": 5.0, "distance_to_min": 0.0})
    landscapes.add("himmelblau", "sgd", final={"distance_to_min": 2.0})
    landscapes.add("digits", "adam", model="mlp")
    view = write_landscapes(landscapes.mlflow, landscapes.runs(), folder)
    assert view.overlays == {
        "himmelblau": folder / "landscape_himmelblau.png",
        "rosenbrock": folder / "landscape_rosenbrock.png",
    }
    for png in view.overlays.values():
        with Image.open(png) as image:
            assert image.format == "PNG" and image.size == (640, 520)
    assert view.tolerance == (
        ["function", "adam", "sgd"],
        [["himmelblau", "-", "not reached"], ["rosenbrock", "5", "-"]],
    )
    with (folder / "steps_to_tolerance.csv").open() as saved:
        assert list(csv.reader(saved)) == [view.tolerance.header, *view.tolerance.rows]
    assert sorted(p.name for p in folder.iterdir()) == [
        "landscape_himmelblau.png",
        "landscape_rosenbrock.png",
        "steps_to_tolerance.csv",
    ]
