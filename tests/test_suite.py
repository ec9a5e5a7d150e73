"""`optbench suite`: a smoke suite run through the real CLI as child runs of one parent with a
scorecard, and its settings refused with one line. The command line's own steps (--list,
--cfg job, --score): tests/test_suite_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from optbench.suite import workloads
from tests.conftest import client, compose_cfg, run_cli

QUADRATIC = "ill_conditioned_quadratic"


def test_a_workload_without_a_row_in_the_table_says_how_to_build_it(
    tmp_path, monkeypatch, optbench_main
):
    table = tmp_path / "targets.csv"
    table.write_text("workload,group,metric,target,budget\n")
    monkeypatch.setenv("OPTBENCH_SUITE_TARGETS", str(table))
    done = optbench_main("+workload=mnist_mlp", "optimizer=adam", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        f"the targets table {table} has no target for workload mnist_mlp; build it: optbench "
        "suite --rebuild-baselines suite.workloads=[mnist_mlp]"
    ) in " ".join(done.stderr.split())


@pytest.mark.slow
def test_a_smoke_suite_runs_each_workload_as_a_child_of_one_parent(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "suite", "optimizer=adam", "suite.seeds=2",
        "suite.workloads=[ill_conditioned_quadratic,rosenbrock]", f"tracking.uri={store}",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    mlflow = client(store)
    runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "suite"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 4 and all(c.info.status == "FINISHED" for c in children)
    assert {c.data.params["seed"] for c in children} == {"0", "1"}
    # self-tuning: adam's own default, not the functions' per-optimizer rates (0.05, 0.2)
    assert {c.data.params["optimizer.lr"] for c in children} == {"0.001"}
    assert parent.info.status == "FINISHED" and parent.data.tags["optbench.optimizer"] == "adam"
    card = mlflow.download_artifacts(parent.info.run_id, "report/scorecard.md", str(tmp_path))
    text = Path(card).read_text()
    budget = workloads.of_config(QUADRATIC, compose_cfg(f"+workload={QUADRATIC}")).budget
    # adam's own 0.001 moves each coordinate at most ~0.001 a step: 177 steps cannot cover
    # the 4 units from the start to the minimum (the dataset's 0.2 for adam would)
    assert f"| {QUADRATIC} | distance_to_min <= 0.01 | {budget} steps | 0/2 |" in text
    assert "the toy group" in text  # 2-D functions are never scored
    assert "optbench suite · adam" in " ".join(done.stdout.split())


@pytest.mark.slow
def test_a_workload_never_reached_says_so(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "suite", "optimizer=sgd", "optimizer.lr=1e-6", "suite.seeds=1",
        "suite.workloads=[ill_conditioned_quadratic]", f"tracking.uri={store}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "not reached" in done.stdout and "0/1" in done.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("suite.seeds=0", "suite.seeds=0 is not allowed: must be an integer in [1, inf)."),
        ("suite.workloads=[nope]", "suite.workloads: 'nope' is not a workload; known:"),
        (
            "suite.ruleset=tuned",
            "suite.ruleset='tuned' is not allowed: must be one of 'self_tuning', "
            "'external_tuning'.",
        ),
        (
            "suite.baselines=fresh",
            "suite.baselines='fresh' is not allowed: must be one of 'shipped', 'rerun'.",
        ),
        ("suite.trials=0", "suite.trials=0 is not allowed: must be an integer in [1, inf)."),
        ("suite.seeds=many", "suite.seeds=many is not allowed: Value 'many'"),
        ("suite.colour=red", "suite.colour is not a suite setting; it takes: seeds, first_seed,"),
        ("optimizer=nope", "optimizer=nope is not an option of optimizer; optimizer takes: "),
        (
            "suite.ruleset=external_tuning suite.search=nope",
            "suite.search='nope': hparams_search=nope is not an option of hparams_search; "
            "hparams_search takes: lr, lr_momentum.",
        ),
    ],
)
def test_a_wrong_suite_setting_is_one_line_and_exit_2(tmp_path, optbench_main, setting, message):
    done = optbench_main("suite", "optimizer=adam", *setting.split(), cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_score_table_scores_the_submission_with_every_baseline(tmp_path, monkeypatch):
    """Hand-made baselines on 2 workloads, scored with the submission in one pool: nadamw is
    the best everywhere (score 1.0); adamw takes twice nadamw's steps on one and never reaches
    the other: ((4 - 2) / 3 + 0) / 2. Speed-ups over nadamw count a miss as budget + 1."""
    import csv
    import math

    from optbench.suite import baselines, pool
    from optbench.suite.scorecard import score_rows

    table = tmp_path / "baselines.csv"
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, baselines.FIELDS)
        writer.writeheader()
        for baseline, workload, steps in [
            ("nadamw", "a", 100), ("nadamw", "b", 50), ("adamw", "a", 200), ("adamw", "b", math.inf),
        ]:  # fmt: skip
            writer.writerow({"workload": workload, "baseline": baseline, "seed": 0,
                             "steps_to_target": steps})  # fmt: skip
    monkeypatch.setattr(baselines, "table_path", lambda: table)
    shipped = baselines.steps_by_baseline(baselines.load())
    budgets = {"a": 1000.0, "b": 1000.0}

    def rows(label: str, steps: dict[str, float]) -> dict[str, list[str]]:
        mine = {label: {w: [t] for w, t in steps.items()}}
        return {
            r[0]: r for r in score_rows(pool.with_baselines(mine, shipped, budgets, label).scored())
        }

    got = rows("mine", {"a": 100.0, "b": math.inf})
    assert (
        got["nadamw (baseline)"][1:3] == ["2/2", "1.000"] and got["nadamw (baseline)"][4] == "1.00x"
    )
    assert got["adamw (baseline)"][1:3] == ["1/2", f"{(4 - 2) / 3 / 2:.3f}"]
    assert got["mine"][1:3] == ["1/2", f"{(4 - 1) / 3 / 2:.3f}"]
    assert got["mine"][4:] == [f"{math.sqrt(50 / 1001):.2f}x", "[0.22, 0.22]", "2/2"]
    assert pool.with_baselines({"mine": {"c": [1.0]}}, shipped, budgets, "mine") is None
    # adamw at its defaults is not the tuned adamw baseline: both rows stay
    got = rows("adamw", {"a": 100.0, "b": math.inf})
    assert got["adamw"][2] == f"{(4 - 1) / 3 / 2:.3f}" and got["adamw"][1] == "1/2"
    assert got["adamw (baseline)"][2] == f"{(4 - 2) / 3 / 2:.3f}"
    got = rows("nadamw", {"a": 50.0, "b": 50.0})
    assert got["nadamw"][4] == "1.41x" and got["nadamw (baseline)"][4] == "1.00x"


@pytest.mark.slow
def test_sam_is_scored_on_gradient_evaluations_too(tmp_path, tiny_targets):
    """SAM takes two gradients a step: the scorecard adds a table on gradient evaluations, and
    the shipped baselines' own column is what it is scored against."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "suite", "optimizer=sam", "suite.seeds=1", "suite.workloads=[logreg_digits]",
        f"tracking.uri={store}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = " ".join(done.stdout.split())
    assert "(median steps to target)" in text and "(median gradients to target)" in text
    mlflow = client(store)
    runs = mlflow.search_runs([e.experiment_id for e in mlflow.search_experiments()])
    (run,) = [r for r in runs if r.data.tags.get("optbench.role") != "suite"]
    metrics = run.data.metrics
    assert metrics["gradient_evaluations"] == 2 * metrics["optimizer_steps"]


def test_a_backbone_file_other_than_the_pinned_one_stops_the_suite_before_any_run(
    tmp_path, optbench_main
):
    other = tmp_path / "other.weights.h5"
    other.write_bytes(b"not the pinned backbone")
    store = tmp_path / "mlflow.db"
    done = optbench_main(
        "suite", "optimizer=adam", "suite.workloads=[mobilenet_head]", f"model.weights={other}",
        f"tracking.uri=sqlite:///{store}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"workload mobilenet_head: {other} is not the pinned backbone file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not store.exists()  # checked before the suite's parent run was created


def test_two_seeds_of_a_workload_give_the_same_data():
    """A workload fixes its data (dataset.data_seed): the seed moves only initialisation and
    batch order, so every target is measured on one validation set."""
    import numpy as np

    from optbench.data import load_dataset
    from optbench.suite.settings import compose

    for name in ("mnist_mlp", "ill_conditioned_logreg"):
        a, b = (load_dataset(compose(name, [f"seed={s}"], None).dataset, s) for s in (0, 1))
        for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            assert np.array_equal(getattr(a, part), getattr(b, part)), (name, part)
    # without a data seed (an ordinary run) the seed moves the split, as before
    plain = compose_cfg("dataset=digits").dataset
    assert plain.data_seed is None
    a, b = (load_dataset(plain, s) for s in (0, 1))
    assert not np.array_equal(a.y_val, b.y_val)
