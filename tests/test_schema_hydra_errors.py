"""Mistakes Hydra catches while composing, as optbench's one line with the closest names and
exit 2 (Hydra printed 6-28 lines and exited 1) (optbench/schema/hydra_errors.py): through the
real CLI entry in this process, and ``explain`` on the exceptions composing raises, with the
keys it offers read from the schema."""

from __future__ import annotations

import pytest

from optbench.schema.hydra_errors import (
    GROUPS_NOTE,
    _known_keys,
    _missing_option,
    _unknown_key,
    closest,
    explain,
)
from tests.conftest import compose_cfg, run_cli


def _refused(optbench_main, folder, *argv: str) -> str:
    done = optbench_main(*argv, cwd=folder)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()  # one line, nothing on stdout
    assert done.stdout == "" and line.startswith("error: ")
    return line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["optimiser=adam"], "optimiser is not a known key; did you mean optimizer?"),
        (["optimizer=adma"], "optimizer=adma is not an option of optimizer; did you mean "),
        (["optimizer=Adam"], "did you mean optimizer=adam? optimizer takes: adafactor,"),
        (
            ["trainer.max_iter=ten"],
            "trainer.max_iter=ten is not allowed: Value 'ten' of type 'str' could not be "
            "converted to Integer.",
        ),
        (["optimizer=adam,sgd"], "a sweep needs -m (optbench -m optimizer=adam,sgd)"),
        (["trainer.max_itr=3"], "did you mean trainer.max_iter? (trainer accepts: max_iter,"),
        (["model=mlp", "optimizer.lrr=1"], "optimizer.lrr is not a known key; did you mean "),
        (["dataset=cifar100"], "dataset=cifar100 is not an option of dataset;"),
    ],
    ids=[
        "unknown-group",
        "typo-option",
        "case",
        "type",
        "list-without-m",
        "key",
        "group-key",
        "missing-dataset",
    ],
)
def test_composition_mistakes_are_one_line_with_a_suggestion(
    optbench_main, tmp_path, argv, expected
):
    line = _refused(optbench_main, tmp_path, *argv)
    assert expected in line
    assert "adma" not in line or "optimizer=adam" in line
    assert not (tmp_path / "runs").exists()  # nothing started, no store


@pytest.mark.slow
def test_a_sweep_with_a_typo_is_refused_before_its_parent_run(tmp_path):
    """A subprocess: Hydra's multirun sets up logging on the streams it finds, which in this
    process would be pytest's captured ones."""
    done = run_cli("-m", "optimizer=saga,lbfgz", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "optimizer=lbfgz is not an option of optimizer; did you mean optimizer=lbfgs?" in line
    assert not (tmp_path / "runs").exists()


def test_closest_prefers_a_case_insensitive_match():
    assert closest("Adam", ["adamax", "adam", "nadam"]) == ["adam"]
    assert closest("mnsit", ["mnist", "digits"]) == ["mnist"]
    assert closest("zzz", ["mnist", "digits"]) == []


def test_closest_keeps_the_options_spelling_and_at_most_n_names():
    assert closest("ADAMW", ["AdamW", "adamw"]) == ["AdamW"]  # the first case-insensitive match
    options = ["adamw", "adamax", "nadam", "adam_x"]
    assert closest("adam", options) == ["nadam", "adamw", "adamax"]  # best first, 3 by default
    assert closest("adam", options, n=2) == ["nadam", "adamw"]
    assert closest("sgdd", ["sgd", "sga"]) == ["sgd"]  # sga: a ratio of 4/7, under 0.6


def explained(*overrides: str) -> str:
    with pytest.raises(Exception) as composing:  # what Hydra raises, as the CLI catches it
        compose_cfg(*overrides)
    return explain(composing.value)


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (["+experiment=nothing"],
         "experiment=nothing is not an option of experiment; experiment takes: "
         "convergence_study, edge_of_stability, landscapes, mnist_98, mnist_optimizers, "
         "transfer_learning."),
        (["hardware=cpu", "hardware.fallback=cpu"],
         "hardware.fallback is not a known key (hardware accepts: name, backend, threads, "
         "device, precision, xla, deterministic)."),
        (["trainer.early_stop.monitr=x"],
         "trainer.early_stop.monitr is not a known key; did you mean "
         "trainer.early_stop.monitor? (trainer.early_stop accepts: enabled, monitor, tol, "
         "patience)."),
        (["dataset.test_fractoin=0.5"],
         "dataset.test_fractoin is not a known key; did you mean dataset.test_fraction or "
         "dataset.val_fraction? (dataset accepts: name, target, data_dir, val_fraction, subset, "
         "data_seed, test_fraction)."),
        (["seed=[1,2]"],
         "seed=[1,2] is not allowed: Value '[1, 2]' of type 'list' could not be converted to "
         "Integer."),
    ],
    ids=["no-close-option", "no-close-key", "nested-key", "group-option-key", "wrong-type"],
)  # fmt: skip
def test_explain_gives_one_line_for_what_composing_raised(overrides, line):
    assert explained(*overrides) == line


def test_the_keys_offered_are_the_schemas_where_the_schema_fixes_them():
    assert _known_keys("")[:3] == ["dataset", "model", "optimizer"]
    assert _known_keys("trainer.early_stop") == ["enabled", "monitor", "tol", "patience"]
    assert _known_keys("dataset") == []  # a group: its keys depend on the option chosen
    assert _known_keys("trainer.max_iter") == [] and _known_keys("nope.x") == []


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (("dataset=quadratic_deep", "dataset.batch_sise=1"),
         "dataset.batch_sise is not a known key; did you mean dataset.batch_size? "
         "(dataset accepts: name, target, data_seed, batch_size, lr)."),
        (("model=resnet50", "model.head.dropuot=0.1"),
         "model.head.dropuot is not a known key; did you mean model.head.dropout? "
         "(model.head accepts: hidden_sizes, dropout, activation)."),
        (("dataset.target.metrc=x",),
         "dataset.target.metrc is not a known key; did you mean dataset.target.metric? "),
    ],
    ids=["group-option-not-re-exported", "nested-head", "nested-target"],
)  # fmt: skip
def test_a_typo_under_any_option_or_nested_node_suggests_its_keys(overrides, line):
    """Group options' schemas come from config.SCHEMAS (NoisyQuadraticConfig is not
    re-exported by optbench.schema), nested nodes' from optbench.schema (HeadConfig)."""
    assert explained(*overrides).startswith(line)


def test_an_unknown_key_under_an_unknown_node_says_what_may_be_named():
    assert _unknown_key("x.y", None) == f"x.y is not a known key; name {GROUPS_NOTE}."


def test_a_missing_option_without_a_group_or_in_no_group_says_so():
    assert _missing_option("nothing", [], "In 'config': Could not find 'nothing'\n\nmore") == (
        "Could not find 'nothing'"
    )
    assert _missing_option("dataset/foo", [], "") == (
        "dataset=foo: there is no config group 'dataset'."
    )


def test_version_is_optbench_s(optbench_main, tmp_path):
    from importlib.metadata import version

    done = optbench_main("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"optbench {version('optbench')}"
