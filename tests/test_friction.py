"""The first hour (issue 22): what a newcomer reads on the way to a first result. TensorFlow's
start-up lines are filtered (the filter itself: tests/test_hardware.py), piped tables keep every
cell whole, `optbench ui` prints only links that open on runs, the offline suggestion keeps the
user's own overrides, and `optbench report --help` reads as sentences."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli
from tests.test_preflight import OFFLINE

# the start-up lines, recognised independently of optbench's own pattern
NOISE = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|cuInit", re.MULTILINE)


@pytest.mark.slow
def test_offline_suggestion_keeps_the_typed_overrides_and_runs_quietly(
    tmp_path, monkeypatch, optbench_main
):
    """Offline with an empty data directory: the suggested command keeps optimizer=sgd
    optimizer.lr=0.05, drops what needs the missing files, and runs; the Keras run's stderr
    has none of TensorFlow's start-up lines."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    data, home = tmp_path / "data", tmp_path / "home"
    data.mkdir()
    home.mkdir()
    env = {**OFFLINE, "HOME": str(home), "OPTBENCH_DATA_DIR": str(data)}
    done = optbench_main(
        "model=resnet50", "optimizer=sgd", "optimizer.lr=0.05", cwd=tmp_path, env=env
    )
    assert done.returncode == 2, done.stderr[-3000:]
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error")]
    command = line.split("Runs offline now: ")[1].split(" (")[0]
    assert command == "optbench optimizer=sgd optimizer.lr=0.05 model=mlp dataset=digits"
    ran = run_cli(*command.split()[1:], "trainer.max_iter=2", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "val_accuracy" in ran.stdout
    assert NOISE.search(ran.stderr) is None, ran.stderr


def _link_experiments() -> list[dict]:
    return [
        {"experiment_id": "3", "name": "mnist_optimizers"},
        {"experiment_id": "1", "name": "optbench"},
    ]


def test_optbench_ui_prints_only_links_that_open_on_runs():
    """MLflow's bare root is its GenAI welcome page: no link to it."""
    from optbench.tracking.server import link_lines

    base = "http://127.0.0.1:5001"
    lines = link_lines(base, "sqlite:///x/runs/mlflow.db", _link_experiments())
    links = [w for line in lines for w in line.split() if w.startswith("http")]
    assert [link.split("?")[0] for link in links] == [
        f"{base}/#/experiments/3/runs",
        f"{base}/#/experiments/1/runs",
    ]
    assert "mnist_optimizers" in lines[1] and "optbench" in lines[2]


def test_optbench_ui_on_an_empty_store_prints_no_link():
    from optbench.tracking.server import link_lines

    (line,) = link_lines("http://127.0.0.1:5000", "sqlite:///x.db", [])
    assert "http" not in line and "no runs yet" in line


def test_the_console_is_wide_where_stdout_is_not_a_terminal(monkeypatch):
    from optbench.console import PIPED_WIDTH, make_console

    monkeypatch.delenv("COLUMNS", raising=False)
    assert not sys.stdout.isatty()  # pytest captures it
    assert make_console().width == PIPED_WIDTH
    monkeypatch.setenv("COLUMNS", "90")
    assert make_console().width == 90  # the user's width wins


@pytest.mark.slow
def test_a_piped_table_keeps_every_cell_whole(tmp_path):
    """`optbench suite --list | cat`: no cell cut at 80 columns, one row per line."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "optbench", "suite", "--list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,  # stdout is a pipe, as in `| cat` or `> run.log`
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "…" not in done.stdout
    from optbench.suite import workloads as wl
    from optbench.suite.settings import compose

    for name in wl.names():
        w = wl.of_config(name, compose(name, [], None))
        (row,) = [x for x in done.stdout.splitlines() if x.startswith(f"│ {name} ")]
        for cell in (w.description, w.target, f"{w.budget} {w.unit}"):
            assert str(cell) in row, done.stdout


def test_report_help_is_whole_sentences(capsys):
    from optbench.report.cli import parse

    with pytest.raises(SystemExit):
        parse(["--help"])
    shown = capsys.readouterr().out
    description = shown.split("\n\n")[1]
    assert description[0].isupper() and description.rstrip().endswith("."), description
    assert "latest sweep." in description
    for option in ("--sweep", "--experiment", "--filter", "--metric", "--target", "--tolerance"):
        assert option in shown
    assert "(default: 0.02, i.e. within 2%)" in " ".join(shown.split())
    assert "examples:" in shown and "optbench report --experiment" in shown


def test_report_help_describes_every_option():
    """Every option says what it does, not only its default."""
    from optbench.report.cli import build_parser

    options = [a for a in build_parser()._actions if a.dest != "help"]
    assert len(options) == 9
    for action in options:
        assert len(action.help.split()) >= 5, action.option_strings
        assert not action.help.startswith(("default", "(")), action.option_strings


def test_readme_set_up_leaves_a_working_optbench():
    """The set-up block activates the venv before the headline commands, and names the extras
    pyproject.toml defines."""
    import tomllib

    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    block = setup.split("```bash", 1)[1].split("```", 1)[0]
    assert block.index("make install") < block.index("source .venv/bin/activate")
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in extras:
        assert f"[{extra}]" in setup, extra
