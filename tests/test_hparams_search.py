"""hparams_search: equal-budget Optuna studies through the real CLI, the joblib launcher and
the MLflow store; the best config per optimizer re-runs to the same result."""

import csv
import math

import optuna.distributions as d
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from optbench.errors import OptbenchError
from optbench.hparams_search import distribution
from tests.conftest import client, run_cli, store_of


def parsed(text: str):
    return OverridesParser.create().parse_override(text)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("a=tag(log, interval(1e-5, 1.0))", d.FloatDistribution(1e-5, 1.0, log=True)),
        ("a=interval(0, 0.99)", d.FloatDistribution(0.0, 0.99)),
        ("a=range(1, 5)", d.IntDistribution(1, 4)),
        ("a=range(0, 1, 0.25)", d.FloatDistribution(0.0, 1.0, step=0.25)),
        ("a=choice(16, 32, 64)", d.CategoricalDistribution([16, 32, 64])),
    ],
)
def test_hydra_sweep_syntax_maps_to_optuna_distributions(override, expected):
    assert distribution(parsed(override)) == expected


def test_a_plain_value_is_not_a_search_space():
    with pytest.raises(OptbenchError, match=r"optimizer.lr=0.1 is not a search space"):
        distribution(parsed("optimizer.lr=0.1"))


@pytest.mark.slow
def test_equal_budget_studies_log_child_runs_and_write_rerunnable_best_configs(tmp_path):
    """2 optimizers x 3 trials on 2 joblib workers: each study gets exactly 3 trials, searches
    only the knobs its optimizer has, and its best YAML re-runs to the same val_loss."""
    done = run_cli(
        "-m",
        "hparams_search=lr_momentum",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.n_trials=3",
        "model=mlp_sklearn",
        "optimizer=sgd,adam",
        "trainer.max_iter=8",
        "trainer.progress=false",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sgd: optimizer.lr, optimizer.momentum (not in its config: optimizer.beta_1)" in (
        done.stdout
    )
    mlflow = client(store_of(tmp_path))
    runs = mlflow.search_runs(["1"])
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
    trials = [r for r in runs if r is not parent]
    assert parent.info.status == "FINISHED" and len(trials) == 6
    by_study = {
        name: {
            int(r.data.tags["optbench.trial"]): r
            for r in trials
            if r.data.params["optimizer.name"] == name
        }
        for name in ("sgd", "adam")
    }
    for name, study in by_study.items():
        assert sorted(study) == [0, 1, 2]  # the same budget for both
        for run in study.values():
            assert run.info.status == "FINISHED"
            assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
            assert run.data.tags["optbench.study"] == name
            assert 1e-5 <= float(run.data.params["optimizer.lr"]) <= 1.0
        assert len({r.data.params["optimizer.lr"] for r in study.values()}) == 3
    assert len({r.data.params["optimizer.momentum"] for r in by_study["sgd"].values()}) == 3
    assert {r.data.params["optimizer.beta_1"] for r in by_study["adam"].values()} != {"0.9"}

    (folder,) = (tmp_path / "runs" / "multirun").glob("*/*/tuning")
    with open(folder / "trials.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and {r["state"] for r in rows} == {"COMPLETE"}
    best_sgd = min(by_study["sgd"].values(), key=lambda r: r.data.metrics["val_loss"])
    config = yaml.safe_load((folder / "best" / "sgd.yaml").read_text())
    assert config["defaults"] == [
        {"override /model": "mlp_sklearn"},
        {"override /optimizer": "sgd"},
    ]
    assert config["optimizer"]["lr"] == float(best_sgd.data.params["optimizer.lr"])
    assert "hparams_search" not in str(config)
    logged = {a.path for a in mlflow.list_artifacts(parent.info.run_id, "tuning/best")}
    assert logged == {"tuning/best/sgd.yaml", "tuning/best/adam.yaml"}

    again = run_cli("--config-dir", str(folder), "+best=sgd", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    (rerun,) = mlflow.search_runs(["1"], max_results=1, order_by=["attributes.start_time DESC"])
    assert rerun.data.params["optimizer.lr"] == best_sgd.data.params["optimizer.lr"]
    # the trial ran on 1 BLAS thread in a joblib worker, the re-run on all: float noise only
    assert math.isclose(
        rerun.data.metrics["val_loss"], best_sgd.data.metrics["val_loss"], rel_tol=1e-5
    )


@pytest.mark.slow
def test_a_study_with_nothing_to_tune_exits_2_and_fails_the_sweep(tmp_path):
    done = run_cli("-m", "hparams_search=lr", "optimizer=saga", cwd=tmp_path)
    assert done.returncode == 2
    assert "nothing to tune for saga: its config has none of optimizer.lr" in done.stderr
    (parent,) = client(store_of(tmp_path)).search_runs(["1"])
    assert parent.info.status == "FAILED"
