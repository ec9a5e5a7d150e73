"""The suite's own settings and its targets table (optbench/schema/suite.py): the ranges of
``suite.*``, where the table is read from, and the ``suite`` resolver through which a workload
reads its target and budget, refusing in one line (with the command that builds the row) where
the table has none."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from optbench.constraints import check_dataclass
from optbench.errors import OptbenchError
from optbench.schema.suite import (
    TABLE_FIELDS,
    SuiteConfig,
    register_resolver,
    suite_value,
    table_path,
    targets_table,
)


def refusal(**values) -> str | None:
    node = OmegaConf.to_object(OmegaConf.structured(SuiteConfig(**values)))
    try:
        check_dataclass(node, prefix="suite.")
    except OptbenchError as refused:
        return str(refused)
    return None


def write_table(path: Path, *rows: dict[str, str]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, TABLE_FIELDS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def own_table(tmp_path, monkeypatch) -> Path:
    """$OPTBENCH_SUITE_TARGETS names a table of two rows: one complete, one without a budget."""
    path = write_table(
        tmp_path / "targets.csv",
        {"workload": "w1", "group": "scored", "target": "0.25", "budget": "12.0"},
        {"workload": "w2", "group": "scored", "target": "0.5", "budget": ""},
    )
    monkeypatch.setenv("OPTBENCH_SUITE_TARGETS", str(path))
    return path


def test_the_smallest_settings_pass():
    assert refusal(seeds=1, first_seed=0, trials=1) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seeds": 0}, "suite.seeds=0 is not allowed: must be an integer in [1, inf)."),
        ({"first_seed": -1}, "suite.first_seed=-1 is not allowed: must be a number in [0, inf)."),
        ({"trials": 0}, "suite.trials=0 is not allowed: must be an integer in [1, inf)."),
        ({"ruleset": "open"}, "suite.ruleset='open' is not allowed: must be one of "
                              "'self_tuning', 'external_tuning'."),
        ({"baselines": "none"}, "suite.baselines='none' is not allowed: must be one of "
                                "'shipped', 'rerun'."),
    ],
)  # fmt: skip
def test_a_setting_out_of_range_is_refused_naming_what_is_allowed(values, message):
    assert refusal(**values) == message


def test_the_shipped_table_is_read_unless_the_environment_names_another(tmp_path, monkeypatch):
    monkeypatch.delenv("OPTBENCH_SUITE_TARGETS", raising=False)
    shipped = table_path()
    assert shipped.name == "targets.csv" and shipped.parent.name == "suite" and shipped.is_file()
    monkeypatch.setenv("OPTBENCH_SUITE_TARGETS", str(tmp_path / "mine.csv"))
    assert table_path() == tmp_path / "mine.csv"


def test_no_table_yet_is_an_empty_table(tmp_path):
    assert targets_table(tmp_path / "absent.csv") == {}


def test_the_table_is_read_again_once_it_is_rewritten(own_table):
    assert list(targets_table()) == ["w1", "w2"]
    assert targets_table()["w1"]["target"] == "0.25"
    write_table(own_table, {"workload": "w3", "target": "1", "budget": "2"})
    stat = own_table.stat()
    os.utime(own_table, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later write
    assert list(targets_table()) == ["w3"]


def test_a_workload_reads_its_target_as_a_float_and_its_budget_as_an_int(own_table):
    assert suite_value("target", "w1") == 0.25
    budget = suite_value("budget", "w1")
    assert budget == 12 and isinstance(budget, int)


@pytest.mark.parametrize(
    ("what", "workload"), [("budget", "w2"), ("target", "absent"), ("schedule", "w1")]
)
def test_a_value_the_table_lacks_is_refused_with_the_command_that_builds_it(
    own_table, what, workload
):
    with pytest.raises(OptbenchError) as refused:
        suite_value(what, workload)
    assert str(refused.value) == (
        f"${{suite:{what},{workload}}}: the targets table {own_table} has no {what} for "
        f"workload {workload}; build it: optbench suite --rebuild-baselines "
        f"suite.workloads=[{workload}]"
    )


def test_the_resolver_fills_a_workloads_interpolations(own_table):
    register_resolver()
    cfg = OmegaConf.create({"max_iter": "${suite:budget,w1}", "value": "${suite:target,w1}"})
    assert (cfg.max_iter, cfg.value) == (12, 0.25)
