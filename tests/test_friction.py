"""The first hour (issue 22): what a newcomer reads on the way to a first result. TensorFlow's
start-up lines are filtered, piped tables keep every cell whole, `optbench ui` prints only links
that open on runs, the offline suggestion keeps the user's own overrides, and `optbench report
--help` reads as sentences."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from optbench.hardware import _filtered_stderr, startup_lines_kept
from tests.conftest import REPO, run_cli
from tests.test_preflight import OFFLINE

# What `optbench model=mlp` printed on a machine without a GPU (TensorFlow 2.21), and one line
# of TensorFlow's C++ output at import time where TF_CPP_MIN_LOG_LEVEL was already read.
NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = (
    "I0000 00:00:1796576721.438363    3047 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.\n"
)
CUDART = (
    "I0000 00:00:1796576721.441464    3047 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n"
)
CUINIT = (
    "E0000 00:00:1796576728.116834    3047 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
)
CPU_FEATURES = (  # TensorFlow hides it itself at level 1 and up: it has read the level by then
    "I0000 00:00:1796576886.682371    5544 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.\n"
)
STARTUP = NOTICE + ONEDNN + CUDART + NOTICE + ONEDNN + CUDART + CUINIT  # the 7 lines
# lines that are not start-up noise and must come through
REAL_ERROR = (
    "E0000 00:00:1796576730.000000    3047 cuda_dnn.cc:8310] could not create cudnn handle: "
    "CUDNN_STATUS_INTERNAL_ERROR\n"
)
FATAL = "F0000 00:00:1796576730.000000    3047 cpu_feature_guard.cc:1] The TensorFlow library was compiled to use AVX\n"
PYTHON_LINE = "/x/y.py:3: UserWarning: something of the user's own\n"


def test_tensorflow_startup_lines_go_at_optbenchs_level():
    assert startup_lines_kept(STARTUP + CPU_FEATURES, level=2, cpu=True) == ""
    assert startup_lines_kept(STARTUP, level=1, cpu=True) == ""


def test_other_lines_printed_during_startup_stay_in_order():
    text = NOTICE + ONEDNN + PYTHON_LINE + CUINIT + REAL_ERROR + CPU_FEATURES + FATAL
    assert startup_lines_kept(text, level=2, cpu=True) == PYTHON_LINE + REAL_ERROR + FATAL
    assert startup_lines_kept(FATAL, level=9, cpu=True) == FATAL  # no level hides a fatal line


def test_the_cuda_probe_stays_where_a_gpu_was_asked_for():
    """hardware=gpu on a machine without one: the probe's failure explains optbench's error."""
    assert startup_lines_kept(STARTUP, level=2, cpu=False) == CUINIT


def test_a_user_who_asks_for_every_line_gets_them(monkeypatch, capfd):
    """TF_CPP_MIN_LOG_LEVEL=0 set by the user: importing optbench keeps it, and nothing
    TensorFlow writes to file descriptor 2 is taken away."""
    import importlib

    import optbench
    from optbench.hardware import tf_log_level

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    importlib.reload(optbench)  # what a fresh process does first
    assert tf_log_level() == 0
    with _filtered_stderr(lambda text: startup_lines_kept(text, tf_log_level(), cpu=True)):
        os.write(2, STARTUP.encode())
    assert capfd.readouterr().err == STARTUP


def test_the_filter_applies_to_what_is_written_to_the_file_descriptor(capfd):
    """TensorFlow's C++ code writes to file descriptor 2, past sys.stderr."""
    with _filtered_stderr(lambda text: startup_lines_kept(text, 2, cpu=True)):
        os.write(2, (STARTUP + REAL_ERROR).encode())
        os.write(2, PYTHON_LINE.encode())
    assert capfd.readouterr().err == REAL_ERROR + PYTHON_LINE


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
