"""optbench/suite/cli.py, `optbench suite`'s command line: --list (the workloads, their targets
and budgets), --cfg job (the suite's settings as composed), --score (finished suites from a
store in one pool, its tables and JSON), and a refusal as one line with exit 2. The suite's
run itself: tests/test_suite.py and tests/test_suite_run.py. --score reads the store that
tests/test_suite_stored.py builds (its fixtures: the targets table of its own, autouse here
too, and two suites)."""

from __future__ import annotations

from optbench.suite import workloads
from optbench.suite.cli import _steps_cell, main
from tests import test_suite_stored
from tests.conftest import compose_cfg, run_cli
from tests.test_suite_stored import DIGITS, MNIST

# test_suite_stored.py's fixtures, built again for this module (the targets table is autouse)
known_targets = test_suite_stored.known_targets
two_suites = test_suite_stored.two_suites


def test_list_prints_each_workload_with_its_group_data_seed_target_budget_and_setter(tmp_path):
    done = run_cli("suite", "--list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for name in workloads.names():  # as the targets table says
        w = workloads.of_config(name, compose_cfg(f"+workload={name}"))
        seed = "moves with seed" if w.data_seed is None else str(w.data_seed)
        assert f"│ {name} │ {w.group} │" in text, name
        assert f"│ {seed} │ {w.target} │ {w.budget} {w.unit} │ {w.set_by} │" in text, name
    assert "PROVENANCE.md" in text and "suite.workloads=[rosenbrock]" in text


def test_suite_settings_are_a_hydra_group_that_cfg_job_prints(capsys):
    """conf/suite/default.yaml composed with suite.* overrides; --cfg job prints it and the
    workloads and seeds it picks; a bad value is one line and exit 2, as for any group."""
    from optbench.suite.cli import main

    assert main(["--cfg", "job", "suite.seeds=2", "suite.first_seed=3",
                 "suite.workloads=[mnist_mlp]"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "suite:\n  seeds: 2\n  first_seed: 3\n  workloads:\n  - mnist_mlp\n" in out
    assert "# workloads: mnist_mlp; seeds: [3, 4]" in out
    assert main(["--cfg", "job"]) == 0
    out = capsys.readouterr().out
    assert f"# workloads: {', '.join(workloads.scored())}; seeds: [0, 1, 2]" in out
    assert main(["--cfg", "job", "suite.ruleset=tuned"]) == 2
    err = capsys.readouterr().err
    assert "suite.ruleset='tuned' is not allowed" in err and len(err.strip().splitlines()) == 1


def test_score_command_prints_one_table_for_the_pool(two_suites, tmp_path, capsys):
    import json

    from optbench.suite.cli import main

    out = tmp_path / "scores.json"
    assert main(["--score", "--uri", two_suites, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    text = " ".join(printed.split())
    assert "pool: 2 suites (adam, lion) + 4 tuned baselines" in text
    assert "suites: adam s-adam2 (self_tuning), lion s-lion (self_tuning)" in text
    (budget_row,) = [line for line in printed.splitlines() if "budget (steps)" in line]
    assert [cell.strip() for cell in budget_row.split("│")[1:-1]] == [
        "budget (steps)",
        "1,410",
        "5,922",
    ]
    saved = json.loads(out.read_text())
    assert saved["pool"] == "2 suites (adam, lion) + 4 tuned baselines"
    assert saved["scores"]["lion"]["median_steps"] == {DIGITS: 80.0, MNIST: None}
    assert main(["--score", "--uri", two_suites, "--suites", "nope"]) == 2


def test_a_score_from_a_store_without_suites_is_one_line_and_exit_2(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["--score", "--uri", uri]) == 2
    err = capsys.readouterr().err
    assert " ".join(err.split()) == (
        f"error: no finished suite under the self_tuning ruleset in {uri} (experiment "
        "'suite'): run optbench suite first, or name suites with --suites"
    )
    assert main(["--score", "--uri", uri, "--ruleset", "external_tuning"]) == 2
    assert "under the external_tuning ruleset" in capsys.readouterr().err


def test_a_steps_cell_is_a_whole_count_or_a_dash():
    assert _steps_cell(5922.0) == "5,922"
    assert _steps_cell(1409.6) == "1,410"
    assert _steps_cell(float("inf")) == "-"
