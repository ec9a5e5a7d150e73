"""optbench/trainers/landscape.py, model=landscape: optimizers on 2-D test functions, NumPy
reference vs Keras, artifacts; and its pieces on their own: one step's diagnostic rows (the
point as one layer) and Keras's float type set to float64 only for the duration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optbench.callbacks import CallbackList, DivergenceGuard
from optbench.data.surfaces import load
from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.schema import validate
from optbench.trainers.base import framework_of
from optbench.trainers.landscape import LandscapeTrainer, _float64_keras, diagnostic_rows
from tests.conftest import client, compose_cfg, run_cli, train

PNG = b"\x89PNG\r\n\x1a\n"


def f32(key: str, value: float) -> str:
    """Keras rounds momentum/rho/betas through float32 even for float64 variables (a 3e-9
    difference per step that a trajectory amplifies), so compare with values float32 holds."""
    return f"optimizer.{key}={float(np.float32(value))!r}"


EXACT_BETAS = [f32("beta_1", 0.9), f32("beta_2", 0.999)]


def walk(*overrides: str):
    settings = validate(compose_cfg(*overrides))
    trainer = LandscapeTrainer(settings)
    return trainer.fit(load(settings.dataset, settings.seed), CallbackList([DivergenceGuard()]))


def test_function_dataset_picks_landscape_and_the_functions_lr():
    cfg = compose_cfg("dataset=rosenbrock")
    assert (cfg.model.name, cfg.optimizer.name, cfg.optimizer.lr) == ("landscape", "adam", 0.05)
    assert cfg.trainer.max_iter == 3000 and not cfg.trainer.early_stop.enabled
    assert compose_cfg("dataset=rosenbrock", "optimizer=sgd").optimizer.lr == 0.002
    assert compose_cfg("dataset=rosenbrock", "optimizer.lr=0.01").optimizer.lr == 0.01
    assert compose_cfg("dataset=rosenbrock", "trainer.max_iter=10").trainer.max_iter == 10
    assert compose_cfg("model=mlp_sklearn", "optimizer=adam").optimizer.lr == 0.001  # no table


def test_adam_reaches_rosenbrock_minimum_out_of_the_box():
    """The README's numbers: Adam, lr 0.05, from (-1.5, 2): within 1e-2 of (1, 1) at step 1200."""
    result = walk("dataset=rosenbrock")
    assert result.final["steps_to_tolerance"] == 1200
    assert result.final["distance_to_min"] < 1e-6
    assert not result.diverged
    assert len(result.history) == 3000
    assert all(h["lr"] == 0.05 for h in result.history)


@pytest.mark.parametrize(
    ("function", "optimizer"),
    [("ill_conditioned_quadratic", "momentum"), ("beale", "adam"), ("himmelblau", "sgd")],
)
def test_default_lrs_reach_a_minimum(function, optimizer):
    result = walk(f"dataset={function}", f"optimizer={optimizer}")
    assert result.final["distance_to_min"] < 1e-2
    assert result.final["steps_to_tolerance"] <= len(result.history)


def test_sgd_with_a_huge_lr_is_reported_diverged_not_a_crash(store):
    result, run = train(store, "dataset=rosenbrock", "optimizer=sgd", "optimizer.lr=1.0")
    assert result.diverged and result.stop_reason.startswith("diverged")
    assert len(result.history) < 20  # stopped at once
    record = client(store).get_run(run.run_id)
    assert record.info.status == "FINISHED"
    assert record.data.tags["optbench.diverged"] == "true"
    assert "steps_to_tolerance" not in record.data.metrics


@pytest.mark.parametrize(
    ("optimizer", "extra"),
    [
        ("momentum", [f32("momentum", 0.9)]),
        ("nesterov", [f32("momentum", 0.9)]),
        ("adagrad", []),
        ("rmsprop", ["optimizer.momentum=0.5", f32("rho", 0.9)]),
        ("adam", ["schedule=cosine", *EXACT_BETAS]),
        ("adamw", ["optimizer.clipnorm=5", *EXACT_BETAS]),
        ("nadam", EXACT_BETAS),
        ("lion", [f32("beta_1", 0.9), f32("beta_2", 0.99)]),
        ("lamb", ["optimizer.global_clipnorm=50", *EXACT_BETAS]),
        # optbench's subclass of Keras's (optbench/optim/schedule_free.py)
        ("schedule_free_adamw", ["optimizer.warmup_steps=10", "optimizer.weight_decay=0.01"]),
    ],
)
def test_numpy_and_keras_walk_the_same_path(optimizer, extra):
    """The same loop drives the reference optimizer and keras.optimizers on a tf.Variable."""
    common = ["dataset=himmelblau", f"optimizer={optimizer}", "trainer.max_iter=100", *extra]
    ours = walk(*common)
    keras = walk(*common, "model.implementation=keras")
    lrs = np.array([[h["lr"] for h in r.history] for r in (ours, keras)])
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=0, atol=1e-7 * lrs[0, 0])  # Keras: float32
    losses = np.array([[h["train_loss"] for h in r.history] for r in (ours, keras)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5, atol=1e-6)
    end = np.array([ours.final["x_final"], ours.final["y_final"]])
    keras_end = np.array([keras.final["x_final"], keras.final["y_final"]])
    assert np.linalg.norm(end - keras_end) <= 1e-6 * np.linalg.norm(end)


def test_cosine_schedule_lr_per_step():
    result = walk("dataset=himmelblau", "optimizer=sgd", "schedule=cosine", "trainer.max_iter=100")
    lrs = [h["lr"] for h in result.history]
    assert lrs[0] == pytest.approx(0.01)
    assert lrs[50] == pytest.approx(0.01 * 0.5 * (1 + np.cos(np.pi * 50 / 100)))
    assert min(lrs) >= 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=landscape"], "model=landscape needs a 2-D test function"),
        (["dataset=rosenbrock", "model=logreg", "optimizer=saga"], "train it with model=landscape"),
        (["dataset=beale", "optimizer=adafactor"], "no NumPy reference implementation"),
        (["dataset=beale", "optimizer=rmsprop", "optimizer.centered=true"], "centered=True"),
        (["dataset=beale", "optimizer=sam", "model.implementation=keras"], "not available"),
        (["dataset=beale", "schedule=invscaling"], "schedule=invscaling is not in the NumPy"),
        (["trainer.animate=true"], "model=landscape runs only"),
        (["dataset=beale", "dataset.start=[1,2,3]"], "must be a point"),
        (["dataset=beale", "optimizer.clipnorm=1", "optimizer.clipvalue=1"], "only one of"),
        (["dataset=beale", "model.framework=keras"], "set model.implementation only"),
    ],
)
def test_bad_landscape_configs_are_refused(overrides, message):
    with pytest.raises(OptbenchError, match=message.replace("(", r"\(").replace("=", "=")):
        prepare(compose_cfg(*overrides))


@pytest.mark.parametrize("implementation", ["numpy", "keras"])
def test_the_run_is_tagged_with_the_framework_that_steps(implementation):
    """model.implementation=keras moves the point with Keras's optimizer: the run's framework
    (its optbench.framework tag) says keras, and the landscape trainer still runs it."""
    plan = prepare(compose_cfg("dataset=beale", f"model.implementation={implementation}"))
    assert framework_of(plan.settings) == plan.settings.model.framework == implementation
    assert isinstance(plan.trainer, LandscapeTrainer)


def test_run_logs_trajectory_plot_and_gif(store, tmp_path):
    result, run = train(
        store,
        "dataset=himmelblau",
        "optimizer=nesterov",
        "trainer.max_iter=60",
        "trainer.animate=true",
    )
    mlflow = client(store)
    record = mlflow.get_run(run.run_id)
    assert record.data.tags["optbench.model"] == "landscape"
    assert record.data.metrics["distance_to_min"] == pytest.approx(result.final["distance_to_min"])
    steps = mlflow.get_metric_history(run.run_id, "train_loss")
    assert [m.step for m in steps] == list(range(1, 61))
    files = {a.path for a in mlflow.list_artifacts(run.run_id)}
    assert {"trajectory.csv", "landscape.png", "landscape.gif", "loss_curve.png"} <= files
    local = tmp_path / "a"
    mlflow.download_artifacts(run.run_id, "", str(local))
    assert (local / "landscape.png").read_bytes().startswith(PNG)
    assert (local / "landscape.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    rows = (local / "trajectory.csv").read_text().splitlines()
    assert rows[0] == "step,x,y" and len(rows) == 62  # header, start, 60 steps
    assert rows[1] == "0,0.0,0.0"


@pytest.mark.slow
def test_sweep_overlays_trajectories_and_report_redraws_them(tmp_path, optbench_main):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_cli(
        "-m",
        "dataset=himmelblau,ill_conditioned_quadratic",
        "optimizer=sgd,adam",
        f"tracking.uri={store}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "steps to tolerance" in done.stdout
    mlflow = client(store)
    parent = mlflow.search_runs(
        [e.experiment_id for e in mlflow.search_experiments()],
        filter_string="tags.`optbench.role` = 'sweep'",
    )[0]
    files = {a.path for a in mlflow.list_artifacts(parent.info.run_id, "landscapes")}
    assert files == {"landscapes/himmelblau.png", "landscapes/ill_conditioned_quadratic.png"}
    table = Path(
        mlflow.download_artifacts(parent.info.run_id, "steps_to_tolerance.csv", str(tmp_path))
    )
    header, *rows = [line.split(",") for line in table.read_text().splitlines()]
    assert header == ["function", "sgd", "adam"]
    assert [r[0] for r in rows] == ["himmelblau", "ill_conditioned_quadratic"]
    assert all(cell.isdigit() for row in rows for cell in row[1:])

    out = tmp_path / "report"
    report = run_cli("report", "--uri", store, "--out", str(out), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (out / "landscape_himmelblau.png").read_bytes().startswith(PNG)
    assert (out / "steps_to_tolerance.csv").read_text() == table.read_text()
    # index.html shows them: the sweep's own report (on its parent run) and the redrawn one
    logged = Path(mlflow.download_artifacts(parent.info.run_id, "report", str(tmp_path / "l")))
    for page in (logged / "index.html", out / "index.html"):
        text = page.read_text()
        assert "steps to tolerance" in text and "<td>ill_conditioned_quadratic</td>" in text
        assert "<img src='landscape_himmelblau.png'" in text, page
    missing = optbench_main("report", "--uri", store, "--sweep", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "no sweep 'nope'" in missing.stdout


def test_schedule_free_is_evaluated_at_its_average():
    """Schedule-free's loss and end point are its average x (the paper's evaluation point),
    not the iterate y the gradients are taken at; the two differ here."""
    from optbench.optim.reference import from_config

    overrides = ("dataset=himmelblau", "optimizer=schedule_free_adamw", "trainer.max_iter=30")
    result = walk(*overrides)
    settings = validate(compose_cfg(*overrides))
    surface = load(settings.dataset, settings.seed)
    f, w = surface.function, surface.start.copy()
    reference = from_config(settings.optimizer, settings.schedule, 30)
    for _ in range(30):
        w = reference.apply([f.grad(w)], [w])[0]
    (x,) = reference.evaluation_weights([w])
    assert result.history[-1]["train_loss"] == pytest.approx(float(f(x)), rel=1e-12)
    assert [result.final["x_final"], result.final["y_final"]] == pytest.approx(list(x))
    assert np.linalg.norm(x - w) > 1e-3  # x and y are apart: evaluating at y would fail


# --- the trainer's pieces on their own -------------------------------------------------------


@pytest.mark.parametrize(("size", "layer"), [(2, "xy"), (5, "w")])
def test_one_steps_diagnostics_are_the_point_as_one_layer(size, layer):
    rng = np.random.default_rng(size)
    start, before, g = (rng.normal(size=size) for _ in range(3))
    after = before - 0.1 * g
    rows = diagnostic_rows(4, before, after, start, g, loss=1.25, lr=0.1)
    assert [r["layer"] for r in rows] == [layer, "all"]
    for row in rows:  # one layer: it and the whole model are the same numbers
        assert row["step"] == 4 and row["nonfinite"] == 0
        assert row["weight_norm"] == pytest.approx(np.linalg.norm(after), rel=1e-12)
        assert row["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-12)
        assert row["update_norm"] == pytest.approx(0.1 * np.linalg.norm(g), rel=1e-12)
        assert row["update_ratio"] == pytest.approx(
            0.1 * np.linalg.norm(g) / np.linalg.norm(before), rel=1e-12
        )
        assert row["dist_init"] == pytest.approx(np.linalg.norm(after - start), rel=1e-12)
    assert (rows[1]["loss"], rows[1]["lr"]) == (1.25, 0.1) and "loss" not in rows[0]


def test_keras_computes_in_float64_only_inside_the_block_even_when_it_fails():
    import keras

    before = keras.config.floatx()
    with pytest.raises(ZeroDivisionError), _float64_keras():
        assert keras.config.floatx() == "float64"
        assert keras.Variable(np.zeros(2)).dtype == "float64"
        1 / 0  # noqa: B018
    assert keras.config.floatx() == before == "float32"
