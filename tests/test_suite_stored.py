"""optbench/suite/stored.py, `optbench suite --score`'s reader: finished suites read back from
a real MLflow store (suite parent runs and their child runs, as optbench suite leaves them),
each child's workload told by its params, and the chosen suites scored in one pool with the
baselines; the suites refused where they answer another question; and the small readers on
single runs (seeds, steps, steps per epoch and target, row names)."""

from __future__ import annotations

import math

import pytest

from optbench import tags as tag
from optbench.errors import OptbenchError
from optbench.suite import stored
from optbench.tracking.store import experiment_id
from tests.conftest import client
from tests.stored_runs import add_run, experiment

inf = math.inf

DIGITS, MNIST = "logreg_digits", "mnist_mlp"  # budgets of 5 and 21 epochs here


@pytest.fixture(scope="module", autouse=True)
def known_targets(tmp_path_factory):
    """A targets table of these tests' own, so their budgets hold whatever a rebuild ships:
    logreg_digits val_loss <= 0.1 in 5 epochs, mnist_mlp val_accuracy >= 0.962 in 21."""
    import csv

    from optbench.schema.suite import targets_table
    from optbench.suite import baselines
    from optbench.suite.targets import write_table

    rows = dict(targets_table())
    rows[DIGITS] = {**rows[DIGITS], "target": "0.1", "budget": "5"}
    rows[MNIST] = {**rows[MNIST], "target": "0.962", "budget": "21"}
    table = write_table(rows, tmp_path_factory.mktemp("targets") / "targets.csv")
    shipped = table.parent / "baselines.csv"  # and the 4 baselines, 100 steps on every seed
    with shipped.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, baselines.FIELDS)
        writer.writeheader()
        for baseline in baselines.BASELINES:
            for workload in (DIGITS, MNIST):
                for seed in range(3):
                    writer.writerow({"workload": workload, "baseline": baseline, "seed": seed,
                                     "steps_to_target": 100.0})  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTBENCH_SUITE_TARGETS", str(table))
        patch.setattr(baselines, "table_path", lambda: shipped)
        yield table


def suite_in_store(uri: str, optimizer: str, suite_id: str, steps: dict[str, list[float]],
                   ruleset: str = "self_tuning", extra: tuple[str, ...] = ()) -> None:  # fmt: skip
    """A finished suite as optbench suite leaves it: a parent run (tag optbench.role=suite) and
    one child run per workload and seed, with the run's params (its config, flattened), its
    optbench.n_train tag and its steps to target (none logged: not reached)."""
    from mlflow.entities import Metric, Param, RunTag
    from omegaconf import OmegaConf

    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    mlflow = client(uri)
    experiment = mlflow.get_experiment_by_name("suite")
    exp = experiment.experiment_id if experiment else experiment_id(mlflow, "suite", uri)
    seeds = len(next(iter(steps.values())))
    note = f"optbench suite optimizer={optimizer} suite.seeds={seeds}"
    parent = mlflow.create_run(exp, tags={"optbench.role": "suite", "optbench.suite_id": suite_id,
                               "optbench.optimizer": optimizer, "optbench.ruleset": ruleset,
                               "mlflow.note.content": note})  # fmt: skip
    for workload, per_seed in steps.items():
        for seed, value in enumerate(per_seed):
            cfg = compose(workload, [f"optimizer={optimizer}", f"seed={seed}", *extra], None)
            params = flatten(OmegaConf.to_container(cfg, resolve=True))
            tags = {"mlflow.parentRunId": parent.info.run_id, "optbench.n_train": "9000"}
            child = mlflow.create_run(exp, tags=tags)
            key = "steps_to_target"
            metrics = [Metric(key, value, 0, 0)] if math.isfinite(value) else []
            mlflow.log_batch(
                child.info.run_id,
                metrics=metrics,
                params=[Param(k, v[:6000]) for k, v in params.items()],
                tags=[RunTag("optbench.optimizer", optimizer)],
            )
            mlflow.set_terminated(child.info.run_id)
    mlflow.set_terminated(parent.info.run_id)


@pytest.fixture(scope="module")
def two_suites(tmp_path_factory) -> str:
    """adam and lion on logreg_digits (5 epochs of ceil(9000 / 32) = 282 steps: 1,410) and
    mnist_mlp (21 epochs: 5,922), 3 seeds. lion ran with an older, longer budget of 30
    epochs: its mnist seeds at 6,000 steps are past today's. Then a second, later adam suite."""
    from optbench.schema import register_configs

    register_configs()
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    suite_in_store(
        uri, "adam", "s-adam", {DIGITS: [55.0, 60.0, 50.0], MNIST: [inf, 4230.0, 4512.0]}
    )
    lion = {DIGITS: [80.0, 80.0, 90.0], MNIST: [6000.0, 6000.0, 1410.0]}
    suite_in_store(uri, "lion", "s-lion", lion, extra=("trainer.max_iter=30",))
    suite_in_store(uri, "adam", "s-adam2", {DIGITS: [40.0, 40.0, 40.0], MNIST: [inf, inf, inf]})
    return uri


def test_from_store_scores_the_latest_suite_of_each_optimizer_in_one_pool(two_suites):
    together, suites = stored.from_store(two_suites)
    assert [s.suite_id for s in suites] == ["s-adam2", "s-lion"]  # the latest adam suite
    assert together.label == "2 suites (adam, lion) + 4 tuned baselines"
    assert together.budgets == {DIGITS: 5 * 282.0, MNIST: 21 * 282.0}
    assert together.times["adam"] == {DIGITS: [40.0] * 3, MNIST: [inf] * 3}
    assert together.times["lion"] == {DIGITS: [80.0, 80.0, 90.0], MNIST: [6000.0, 6000.0, 1410.0]}
    scored = together.scored()
    assert scored["lion"].times == {DIGITS: 80.0, MNIST: inf}  # 2 of 3 seeds past 5,922 steps
    assert set(scored) == {"adam", "lion", *(f"{b} (baseline)" for b in
                           ("adamw", "nadamw", "nesterov", "momentum"))}  # fmt: skip


def test_from_store_scores_the_named_suites(two_suites):
    together, _ = stored.from_store(two_suites, ["s-adam", "s-adam2"])
    assert list(together.times)[:2] == ["adam · s-adam", "adam · s-adam2"]
    assert together.times["adam · s-adam"][MNIST] == [inf, 4230.0, 4512.0]
    assert together.scored()["adam · s-adam"].times[MNIST] == 4512.0
    with pytest.raises(OptbenchError, match="no finished suite nope"):
        stored.from_store(two_suites, ["nope"])
    with pytest.raises(OptbenchError, match="no finished suite under the external_tuning"):
        stored.from_store(two_suites, None, "external_tuning")


@pytest.mark.slow
def test_suites_of_another_ruleset_or_target_are_refused(tmp_path):
    from optbench.schema import register_configs

    register_configs()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    suite_in_store(uri, "adam", "a", {DIGITS: [55.0]})
    suite_in_store(uri, "sgd", "b", {DIGITS: [55.0]}, ruleset="external_tuning")
    with pytest.raises(OptbenchError, match="rulesets external_tuning, self_tuning"):
        stored.from_store(uri, ["a", "b"])
    suite_in_store(uri, "lion", "c", {DIGITS: [30.0]}, extra=("dataset.target.value=0.05",))
    with pytest.raises(OptbenchError, match=r"targets \[0.05, 0.1\] \(the target now: 0.1\)"):
        stored.from_store(uri, ["a", "c"])
    suite_in_store(uri, "lion", "d", {MNIST: [100.0]})
    with pytest.raises(OptbenchError, match="no scored workload in common"):
        stored.from_store(uri, ["a", "d"])


def test_an_external_tuning_suite_counts_each_studys_fastest_trial(tmp_path):
    """Under external tuning a suite's children are the workloads' tuning sweeps and the trials
    (tag optbench.study) their children: study 0's trials 70 and 50 steps count 50, study 1's
    miss and 60 count 60."""
    from mlflow.entities import Metric, Param, RunTag
    from omegaconf import OmegaConf

    from optbench.schema import register_configs
    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    register_configs()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow = client(uri)
    exp = experiment_id(mlflow, "suite", uri)
    tags = {"optbench.role": "suite", "optbench.suite_id": "t", "optbench.optimizer": "adam",
            "optbench.ruleset": "external_tuning"}  # fmt: skip
    parent = mlflow.create_run(exp, tags=tags)
    sweep = mlflow.create_run(exp, tags={"mlflow.parentRunId": parent.info.run_id})
    mlflow.set_terminated(sweep.info.run_id)
    params = flatten(
        OmegaConf.to_container(compose(DIGITS, ["optimizer=adam"], None), resolve=True)
    )
    for study, trial, steps in [("0", 0, 70.0), ("0", 1, 50.0), ("1", 0, inf), ("1", 1, 60.0)]:
        run = mlflow.create_run(exp, tags={"mlflow.parentRunId": sweep.info.run_id})
        metrics = [Metric("steps_to_target", steps, 0, 0)] if math.isfinite(steps) else []
        mlflow.log_batch(
            run.info.run_id,
            metrics=metrics,
            params=[Param(k, v[:6000]) for k, v in params.items()],
            tags=[
                RunTag("optbench.study", study),
                RunTag("optbench.trial", str(trial)),
                RunTag("optbench.n_train", "9000"),
            ],
        )
        mlflow.set_terminated(run.info.run_id)
    mlflow.set_terminated(parent.info.run_id)
    together, (suite,) = stored.from_store(uri, None, "external_tuning")
    assert suite.steps == {DIGITS: [50.0, 60.0]} and together.budgets == {DIGITS: 5 * 282.0}
    assert together.scored()["adam"].times == {DIGITS: 55.0}
    with pytest.raises(OptbenchError, match="no finished suite under the self_tuning"):
        stored.from_store(uri)


def test_identify_picks_the_workload_whose_params_contradict_least():
    signatures = {"w1": {"dataset.name": "mnist", "model.hidden_sizes": "[128]"},
                  "w2": {"dataset.name": "mnist", "model.hidden_sizes": "[512, 256]"}}  # fmt: skip
    params = {"dataset.name": "mnist", "model.hidden_sizes": "[512, 256]", "optimizer.lr": "1"}
    assert stored.identify(params, signatures) == "w2"
    with pytest.raises(OptbenchError, match="equally"):
        stored.identify({"dataset.name": "mnist"}, signatures)


def test_every_shipped_workload_is_told_from_the_others_by_its_own_params():
    from omegaconf import OmegaConf

    from optbench.schema import register_configs
    from optbench.suite import workloads
    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    register_configs()
    names = workloads.names()
    signatures = stored.workload_signatures(names)
    for name in names:  # a run of it with another optimizer, seed and batch size
        cfg = compose(name, ["optimizer=sgd", "seed=4", "trainer.batch_size=48"], None)
        assert (
            stored.identify(flatten(OmegaConf.to_container(cfg, resolve=True)), signatures) == name
        )


def test_pick_takes_the_named_suites_or_the_latest_of_each_optimizer(two_suites):
    parents = stored.suite_parents(client(two_suites))
    assert [p.data.tags[tag.SUITE_ID] for p in parents] == ["s-adam2", "s-lion", "s-adam"]
    ids = lambda chosen: [p.data.tags[tag.SUITE_ID] for p in chosen]  # noqa: E731
    assert ids(stored.pick(parents, None, None)) == ["s-adam2", "s-lion"]  # by optimizer name
    assert ids(stored.pick(parents, None, "self_tuning")) == ["s-adam2", "s-lion"]
    assert stored.pick(parents, None, "external_tuning") == []
    lion = parents[1].info.run_id
    assert ids(stored.pick(parents, ["s-adam", lion, "s-adam"], None)) == ["s-adam", "s-lion"]
    with pytest.raises(OptbenchError) as missing:
        stored.pick(parents, ["nope", "s-adam", "gone"], None)
    assert str(missing.value) == (
        "no finished suite nope, gone in the store (the latest: s-adam2, s-lion, s-adam)"
    )


def test_a_store_without_the_suite_experiment_or_a_finished_suite_has_no_suites(store):
    mlflow = client(store)
    assert stored.suite_parents(mlflow) == []
    exp = experiment(mlflow, "suite")
    mlflow.create_run(exp, tags={tag.ROLE: tag.ROLE_SUITE})  # still RUNNING
    add_run(mlflow, exp, start=1, tags={tag.ROLE: tag.ROLE_SWEEP})  # a sweep, not a suite
    assert stored.suite_parents(mlflow) == []
    with pytest.raises(
        OptbenchError, match=r"no finished suite nope in the store \(the latest: -\)"
    ):
        stored.pick([], ["nope"], None)


@pytest.fixture
def runs(store):
    """Runs with the given tags, params, metrics and status, read back from a real store."""
    mlflow = client(store)
    exp = experiment(mlflow, "suite")

    def run(tags=None, params=None, final=None, status="FINISHED"):
        run_id = add_run(mlflow, exp, start=1, tags=tags, params=params, final=final, status=status)
        return mlflow.get_run(run_id)

    return run


def test_the_seeds_of_a_suite_come_from_its_tag_then_its_command_line(runs):
    assert stored._seeds_of(runs(tags={tag.SUITE_SEEDS: "3,4,5,6"})) == 4
    note = "optbench suite optimizer=adam suite.seeds=5 suite.first_seed=2"
    assert stored._seeds_of(runs(tags={tag.NOTE: note})) == 5  # a suite from before the tag
    assert stored._seeds_of(runs(tags={tag.NOTE: "optbench suite optimizer=adam"})) == 3
    assert stored._seeds_of(runs()) == 3


def test_a_runs_steps_to_target_are_inf_unless_it_finished_and_reached_it(runs):
    assert stored._steps_of(runs(final={"steps_to_target": 120.0})) == 120.0
    assert stored._steps_of(runs(final={"steps_to_target": 120.0}, status="FAILED")) == inf
    assert stored._steps_of(runs(final={"val_loss": 0.3})) == inf  # never reached


def test_a_runs_steps_per_epoch_follow_its_batch_size_and_its_target_its_dataset(runs):
    n_train = {tag.N_TRAIN: "1000"}
    target = {"dataset.target.value": "0.1"}
    assert stored._run_facts(runs(n_train, {**target, "trainer.batch_size": "64"}), "epochs") == (
        16.0,
        0.1,
    )
    assert stored._run_facts(runs(n_train, {**target, "trainer.batch_size": "auto"}), "epochs") == (
        32.0,
        0.1,
    )
    assert stored._run_facts(runs(n_train, {**target, "trainer.batch_size": "full"}), "epochs") == (
        1.0,
        0.1,
    )
    assert stored._run_facts(runs(n_train, target), "epochs") == (32.0, 0.1)  # auto: 32
    # a 2-D function counts steps; its target is the tolerance
    assert stored._run_facts(runs(params={"dataset.tolerance": "0.01"}), "steps") == (1.0, 0.01)
    steps, target = stored._run_facts(runs(), "steps")
    assert steps == 1.0 and math.isnan(target)


def test_rows_are_named_by_optimizer_with_the_suite_id_where_two_share_one():
    suites = [
        stored.Suite("s1", "adam", "self_tuning", {}, {}, {}),
        stored.Suite("s2", "lion", "self_tuning", {}, {}, {}),
        stored.Suite("s3", "adam", "self_tuning", {}, {}, {}),
    ]
    assert stored._labels(suites) == {"s1": "adam · s1", "s2": "lion", "s3": "adam · s3"}
